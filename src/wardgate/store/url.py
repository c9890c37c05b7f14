"""`state.url` → an open, migrated `Store`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from wardgate.store.base import Store
from wardgate.store.migrations import Migration, migrate


def store_dialect(url: str) -> str:
    if url.startswith("sqlite://"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgres"
    raise ValueError(f"unsupported state.url {url!r}")


def sqlite_path(url: str, base_dir: Path) -> str:
    """`sqlite:///rel.db` is relative to `base_dir`; `sqlite:////abs.db` is absolute."""
    rest = url.removeprefix("sqlite://").removeprefix("/")
    if rest in ("", ":memory:"):
        return ":memory:"
    path = Path(rest)
    return str(path if path.is_absolute() else base_dir / path)


async def open_store(
    url: str, base_dir: Path = Path("."), migrations: Iterable[Migration] = ()
) -> Store:
    """Open the store at `url` and apply `migrations` that are not applied yet."""
    store: Store
    if store_dialect(url) == "sqlite":
        from wardgate.store.sqlite import SqliteStore

        store = await SqliteStore(sqlite_path(url, base_dir)).open()
    else:
        from wardgate.store.postgres import PostgresStore

        store = await PostgresStore(url).open()
    try:
        await migrate(store, migrations)
    except BaseException:
        await store.close()
        raise
    return store


class LazyStore:
    """The gateway's one store, opened (and migrated) on first use, retried after failures.

    Sinks and other subsystems call `get()`; a store that is down at start-up does
    not stop the gateway (the audit journal is the durability point) — the next
    `get()` tries again.
    """

    def __init__(self, url: str, base_dir: Path, migrations: Iterable[Migration] = ()) -> None:
        self.url = url
        self._base_dir = base_dir
        self._migrations = list(migrations)
        self._store: Store | None = None
        self._lock: asyncio.Lock | None = None

    def add_migrations(self, migrations: Iterable[Migration]) -> None:
        """Register a subsystem's migrations; only before the first `get()`."""
        if self._store is not None:
            raise RuntimeError("the store is already open")
        self._migrations += list(migrations)

    async def get(self) -> Store:
        if self._store is not None:
            return self._store
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._store is None:
                self._store = await open_store(self.url, self._base_dir, self._migrations)
        return self._store

    async def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await store.close()
