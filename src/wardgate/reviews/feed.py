"""How an instance learns that a review it holds was decided elsewhere.

With a PostgreSQL state store every instance LISTENs on one channel and the one
that decides NOTIFYs it, so an approval given on any instance releases a command
held on another at once. Polling the store for the reviews an instance waits on
is the safety net (and the whole mechanism with SQLite).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from typing import Any, Protocol

CHANNEL = "wardgate_reviews"


class ChangeFeed(Protocol):
    async def start(self, on_change: Callable[[str], None]) -> None: ...

    async def publish(self, review_id: str) -> None: ...

    async def stop(self) -> None: ...


class LocalFeed:
    """One process: decisions are already seen locally; nothing to do."""

    async def start(self, on_change: Callable[[str], None]) -> None:
        return None

    async def publish(self, review_id: str) -> None:
        return None

    async def stop(self) -> None:
        return None


class PostgresFeed:
    """LISTEN/NOTIFY on the PostgreSQL state store."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._listener: Any = None
        self._publisher: Any = None

    async def start(self, on_change: Callable[[str], None]) -> None:
        asyncpg = importlib.import_module("asyncpg")  # only with a PostgreSQL store
        self._listener = await asyncpg.connect(self._dsn)
        self._publisher = await asyncpg.connect(self._dsn)

        def callback(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            on_change(payload)

        await self._listener.add_listener(CHANNEL, callback)

    async def publish(self, review_id: str) -> None:
        if self._publisher is not None:
            await self._publisher.execute("SELECT pg_notify($1, $2)", CHANNEL, review_id)

    async def stop(self) -> None:
        for connection in (self._listener, self._publisher):
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
