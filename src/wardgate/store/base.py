"""The `Store` interface every backend implements.

SQL is written once with ``:name`` parameters; each backend translates them to its
driver's style. Rows come back as plain dicts. `insert` is the one statement each
backend writes itself: a bulk append of positional rows. A `Transaction` has the same four
query methods and commits when its ``async with`` block ends without an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Params = Mapping[str, Any]
Row = dict[str, Any]


class StoreError(Exception):
    """The store could not run a statement (connection lost, disk full, bad SQL)."""


class Queries(Protocol):
    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None: ...


class Transaction(Queries, Protocol):
    pass


class Store(Queries, Protocol):
    #: "sqlite" or "postgres", for the rare statement that must differ.
    dialect: str

    async def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        unique: Sequence[str],
    ) -> None:
        """Insert `rows` (values in `columns` order) in one transaction, skipping any
        row whose `unique` columns match a stored one: the bulk path for appends
        (audit records), cheaper per row than `executemany` with named parameters."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def close(self) -> None: ...
