"""SQLite backend: the stdlib driver on one dedicated worker thread.

One connection, one thread, so statements never race inside the process and the
event loop never blocks on disk. WAL mode lets `wardgate audit …` read while the
gateway writes. A transaction holds the store's lock, so other callers queue
behind it rather than interleaving statements into it.

``synchronous = NORMAL`` in WAL mode: a commit is not fsynced (the WAL is, at each
checkpoint), so a killed process loses nothing and only a power loss can take back
the last transactions. That fits what the store holds: the audit table is a
queryable copy whose source of truth is the fsynced journal (`wardgate audit verify`
reads both), and the other tables are state a restart rebuilds or re-asks for.

`insert` (the audit sink's bulk append) binds many rows to one multi-row ``INSERT``
statement: the driver releases the GIL around each statement it steps, so one
statement per row would hand the GIL back and forth with the event loop hundreds
of times a batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from wardgate.store.base import Params, Row, StoreError, Transaction

T = TypeVar("T")


class _Connection:
    """The blocking half; every method runs on the worker thread."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 5000")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")

    def execute(self, sql: str, params: Params | None) -> int:
        return self.conn.execute(sql, dict(params or {})).rowcount

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.conn.execute("BEGIN")
        try:
            self.conn.executemany(sql, [dict(row) for row in rows])
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def executemany_plain(self, sql: str, rows: Sequence[Params]) -> None:
        self.conn.executemany(sql, [dict(row) for row in rows])

    def fetchall(self, sql: str, params: Params | None) -> list[Row]:
        return [dict(row) for row in self.conn.execute(sql, dict(params or {})).fetchall()]

    def insert(self, sql: Callable[[int], str], width: int, rows: Sequence[Sequence[Any]]) -> None:
        """`rows` through statements of `sql(n)` rows each (n a power of two, so few
        distinct texts stay in the statement cache), in one transaction."""
        most = _rows_per_statement(self.conn, width)
        self.conn.execute("BEGIN")
        try:
            start = 0
            while start < len(rows):
                count = min(most, 1 << ((len(rows) - start).bit_length() - 1))
                chunk = rows[start : start + count]
                self.conn.execute(sql(count), [value for row in chunk for value in row])
                start += count
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


MAX_ROWS_PER_STATEMENT = 256


def _rows_per_statement(conn: sqlite3.Connection, width: int) -> int:
    """The largest power of two ≤ `MAX_ROWS_PER_STATEMENT` whose parameters the
    library accepts (999 before SQLite 3.32, 32766 since)."""
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // max(width, 1)
    most = 1
    while most * 2 <= min(limit, MAX_ROWS_PER_STATEMENT):
        most *= 2
    return most


@lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...], unique: tuple[str, ...], count: int) -> str:
    row = "(" + ", ".join("?" * len(columns)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * count)}"
        f" ON CONFLICT ({', '.join(unique)}) DO NOTHING"
    )


class _SqliteQueries:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return await self._store.call(lambda c: c.execute(sql, params))

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        await self._store.call(lambda c: c.executemany(sql, rows))

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._store.call(lambda c: c.fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class SqliteStore:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="wardgate-sqlite")
        self._conn: _Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> SqliteStore:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = await self.call_unlocked(lambda _: _Connection(self._path))
        return self

    async def call_unlocked(self, fn: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, self._conn)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    async def call(self, fn: Callable[[_Connection], T]) -> T:
        async with self._lock:
            return await self.call_unlocked(fn)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return await self.call(lambda c: c.execute(sql, params))

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        await self.call(lambda c: c.executemany(sql, rows))

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self.call(lambda c: c.fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        unique: Sequence[str],
    ) -> None:
        names, key = tuple(columns), tuple(unique)

        def sql(count: int) -> str:
            return _insert_sql(table, names, key, count)

        await self.call(lambda c: c.insert(sql, len(names), rows))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self.call_unlocked(lambda c: c.execute("BEGIN IMMEDIATE", None))
            try:
                yield _LockedQueries(self)
            except BaseException:
                await self.call_unlocked(lambda c: c.execute("ROLLBACK", None))
                raise
            await self.call_unlocked(lambda c: c.execute("COMMIT", None))

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.conn.close)
        self._executor.shutdown(wait=False)


class _LockedQueries(_SqliteQueries):
    """Queries inside a transaction: the lock is already held."""

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return await self._store.call_unlocked(lambda c: c.execute(sql, params))

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        await self._store.call_unlocked(lambda c: c.executemany_plain(sql, rows))

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._store.call_unlocked(lambda c: c.fetchall(sql, params))
