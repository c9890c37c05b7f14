"""`MaskingServices`: what one resource's sessions share for masking.

Built by the runtime when the `masking` section has rules; the session asks it
for a `MaskingSession` with its credential and database. Catalog reads use the
session's own credential (the catalog a session sees is one it may read).
"""

from __future__ import annotations

from collections.abc import Callable

from wardgate.catalog.cache import CatalogCache
from wardgate.catalog.index import CatalogIndex
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.session import MaskingSession
from wardgate.seam import UpstreamCredential

Count = Callable[[str, int], None]


class MaskingServices:
    def __init__(self, engine: MaskingEngine, catalog: CatalogCache, count: Count) -> None:
        self.engine = engine
        self.catalog = catalog
        self._count = count

    def session(self, credential: UpstreamCredential, database: str) -> MaskingSession:
        async def index_for(name: str) -> CatalogIndex:
            return await self.catalog.get(credential, name)

        return MaskingSession(
            self.engine, index_for, database, self._count, self.catalog.invalidate
        )
