"""Per-resource state of the HTTP plugin: the upstream TLS context and live connections."""

from __future__ import annotations

import asyncio
import logging
import ssl

from wardgate.seam import ListenerContext
from wardgate_http.connection import HttpConnection
from wardgate_http.settings import HttpUpstream

log = logging.getLogger("wardgate.http")


class HttpListener:
    def __init__(self, context: ListenerContext) -> None:
        self.context = context
        self.settings: HttpUpstream = context.upstream
        self.upstream_tls: ssl.SSLContext | None = self.settings.ssl_context()
        self.connections: set[HttpConnection] = set()
        self.draining = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.draining:
            writer.close()
            return
        connection = HttpConnection(reader, writer, self)
        self.connections.add(connection)
        try:
            await connection.serve()
        except Exception:  # must not raise: log and drop this connection only
            log.exception("http connection failed", extra={"resource": self.context.resource})
        finally:
            self.connections.discard(connection)

    async def drain(self) -> None:
        """Finish in-flight exchanges (each then closes); close idle keep-alive connections."""
        self.draining = True
        for connection in list(self.connections):
            if connection.idle:
                connection.client.writer.close()
