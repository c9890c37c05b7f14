"""PostgreSQL backend on asyncpg, for several gateway instances sharing state.

``:name`` parameters are rewritten to asyncpg's ``$n`` once per statement text (a
``::`` cast is left alone). asyncpg is imported lazily so SQLite-only installs do
not need it (`pip install 'wardgate[postgres-state]'`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from wardgate.store.base import Params, Row, StoreError, Transaction

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` placeholders → `$n`, and the parameter names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def _args(names: tuple[str, ...], params: Params | None) -> list[Any]:
    values = params or {}
    return [values[name] for name in names]


def _rowcount(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgQueries:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        text, names = translate(sql)
        try:
            return _rowcount(await self._conn.execute(text, *_args(names, params)))
        except Exception as exc:
            raise StoreError(f"postgres: {exc}") from exc

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        text, names = translate(sql)
        try:
            await self._conn.executemany(text, [_args(names, row) for row in rows])
        except Exception as exc:
            raise StoreError(f"postgres: {exc}") from exc

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        text, names = translate(sql)
        try:
            records = await self._conn.fetch(text, *_args(names, params))
        except Exception as exc:
            raise StoreError(f"postgres: {exc}") from exc
        return [dict(record) for record in records]

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class PostgresStore(_PgQueries):
    dialect = "postgres"

    def __init__(self, dsn: str, min_size: int = 1, max_size: int = 5) -> None:
        self._dsn = dsn
        self._sizes = (min_size, max_size)
        self._pool: Any = None
        super().__init__(None)

    async def open(self) -> PostgresStore:
        try:
            asyncpg = importlib.import_module("asyncpg")
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StoreError("state.url is postgresql:// but asyncpg is not installed") from exc
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=self._sizes[0], max_size=self._sizes[1]
            )
        except Exception as exc:
            raise StoreError(f"postgres: cannot connect to the state store: {exc}") from exc
        self._conn = self._pool
        return self

    async def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        unique: Sequence[str],
    ) -> None:
        slots = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({slots})"
            f" ON CONFLICT ({', '.join(unique)}) DO NOTHING"
        )
        try:
            await self._conn.executemany(sql, rows)  # one transaction (asyncpg ≥ 0.22)
        except Exception as exc:
            raise StoreError(f"postgres: {exc}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PgQueries(conn)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
