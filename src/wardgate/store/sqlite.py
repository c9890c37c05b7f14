"""SQLite backend: the stdlib driver on one dedicated worker thread.

One connection, one thread, so statements never race inside the process and the
event loop never blocks on disk. WAL mode lets `wardgate audit …` read while the
gateway writes. A transaction holds the store's lock, so other callers queue
behind it rather than interleaving statements into it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
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
