"""The state store behind `state.url`: SQLite by default, PostgreSQL for several instances.

`open_store(url, migrations)` returns a `Store` with a deliberately small interface —
`execute`, `executemany`, `fetchall`, `fetchone`, `transaction` — over SQL written
once with ``:name`` parameters. Each subsystem owns its tables and hands its own
`Migration` list to `open_store`; see `migrations.py`.
"""

from wardgate.store.base import Store, StoreError, Transaction
from wardgate.store.migrations import Migration, applied_versions
from wardgate.store.url import LazyStore, open_store, store_dialect

__all__ = [
    "LazyStore",
    "Migration",
    "Store",
    "StoreError",
    "Transaction",
    "applied_versions",
    "open_store",
    "store_dialect",
]
