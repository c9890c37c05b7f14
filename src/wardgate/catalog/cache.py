"""Per-resource, per-database catalog cache (DESIGN.md, "Masking").

The plugin's `CatalogReader` reads a snapshot over a short-lived upstream
connection with the session's credential; the cache keeps one `CatalogIndex` per
database for `ttl` seconds, refreshes it after a `ddl` command completes
(`invalidate`), and lets concurrent sessions share one read in flight. A failed
read yields an index with `known=False` — callers then take the safe outcome — and
is retried after `retry` seconds, so a flapping upstream is not hammered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from wardgate.catalog.index import CatalogIndex
from wardgate.eventlog import EventLog
from wardgate.seam import CatalogReader, UpstreamCredential

DEFAULT_TTL = 300.0
RETRY_AFTER = 10.0
READ_TIMEOUT = 15.0


@dataclass(slots=True)
class _Entry:
    index: CatalogIndex
    expires: float


class CatalogCache:
    def __init__(
        self,
        reader: CatalogReader | None,
        resource: str,
        default_schema: Callable[[str], str],
        log: EventLog | None = None,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._resource = resource
        self._default_schema = default_schema
        self._log = log
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Task[CatalogIndex]] = {}

    def cached(self, database: str) -> CatalogIndex | None:
        entry = self._entries.get(database)
        return entry.index if entry is not None and entry.expires > self._clock() else None

    async def get(self, credential: UpstreamCredential, database: str) -> CatalogIndex:
        index = self.cached(database)
        if index is not None:
            return index
        pending = self._inflight.get(database)
        if pending is None or pending.done():
            # Its own task: one read serves every waiter, a cancelled waiter does not
            # cancel it, and its timeout has a task even when the caller runs inline
            # (`wardgate.eager`).
            pending = asyncio.get_running_loop().create_task(self._load(credential, database))
            self._inflight[database] = pending
        return await asyncio.shield(pending)

    async def _load(self, credential: UpstreamCredential, database: str) -> CatalogIndex:
        try:
            return await self._read(credential, database)
        finally:
            del self._inflight[database]

    async def _read(self, credential: UpstreamCredential, database: str) -> CatalogIndex:
        schema = self._default_schema(database)
        if self._reader is None:
            return self._store(database, CatalogIndex(default_schema=schema), self._ttl)
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                snapshot = await self._reader.read_catalog(credential, database)
        except Exception as exc:  # fail closed: an unknown catalog masks conservatively
            self._emit(
                "catalog_unavailable", "warning", database, reason=f"{type(exc).__name__}: {exc}"
            )
            return self._store(database, CatalogIndex(default_schema=schema), RETRY_AFTER)
        index = CatalogIndex.from_snapshot(snapshot, schema)
        self._emit("catalog_loaded", "info", database, tables=len(index.tables))
        return self._store(database, index, self._ttl)

    def _store(self, database: str, index: CatalogIndex, ttl: float) -> CatalogIndex:
        self._entries[database] = _Entry(index, self._clock() + ttl)
        return index

    def invalidate(self, database: str | None = None) -> None:
        """Forget one database's snapshot (all when None): the next command re-reads it."""
        if database is None:
            self._entries.clear()
        else:
            self._entries.pop(database, None)

    def _emit(self, event: str, level: str, database: str, **fields: object) -> None:
        if self._log is not None:
            self._log.emit(event, level=level, resource=self._resource, database=database, **fields)
