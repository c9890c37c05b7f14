"""`state.url` → an open, migrated `Store`."""

from __future__ import annotations

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
