"""Per-resource state of the PostgreSQL plugin: cancel keys and live relays."""

from __future__ import annotations

import asyncio

from wardgate.seam import CatalogSnapshot, ListenerContext, UpstreamCredential
from wardgate_postgres.cancel import CancelRegistry
from wardgate_postgres.catalog import read_catalog
from wardgate_postgres.connection import ClientConnection
from wardgate_postgres.relay import Relay


class PostgresListener:
    def __init__(self, context: ListenerContext) -> None:
        self._context = context
        self._cancels = CancelRegistry()
        self._relays: set[Relay] = set()
        self._draining = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._draining:
            return
        await ClientConnection(reader, writer, self._context, self._cancels, self._relays).serve()

    async def read_catalog(self, credential: UpstreamCredential, database: str) -> CatalogSnapshot:
        """`CatalogReader`: a short-lived upstream connection (masking and lineage)."""
        timeout = self._context.limits.connect_timeout
        return await read_catalog(self._context.upstream, credential, database, timeout)

    async def drain(self) -> None:
        self._draining = True
        for relay in list(self._relays):
            relay.drain()
