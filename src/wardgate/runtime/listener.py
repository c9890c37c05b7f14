"""One accepting socket per resource, and the lifecycle of every connection on it.

The core owns sockets, counting and shutdown; the plugin's `ProtocolListener`
owns everything that happens on a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.seam import ProtocolListener


class ResourceListener:
    def __init__(
        self,
        resource: str,
        protocol: str,
        handler: ProtocolListener,
        host: str,
        port: int,
        metrics: Metrics,
        log: EventLog,
        reuse_port: bool = False,
    ) -> None:
        self.resource = resource
        self._labels = (resource, protocol)
        self._handler = handler
        self._host, self._port = host, port
        self._metrics = metrics
        self._log = log
        self._reuse_port = reuse_port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        start_hook = getattr(self._handler, "start", None)
        if start_hook is not None:
            await start_hook()
        self._server = await asyncio.start_server(
            self._serve_connection,
            self._host,
            self._port,
            reuse_port=self._reuse_port or None,
            limit=256 * 1024,
            backlog=1024,
        )

    @property
    def address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._metrics.connections.labels(*self._labels).inc()
        active = self._metrics.connections_active.labels(*self._labels)
        active.inc()
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self._handler.handle(reader, writer)
        except asyncio.CancelledError:
            pass  # cut at the shutdown deadline; the plugin has told its client why
        except Exception as exc:  # the plugin must not raise; if it does, contain it
            self._log.emit(
                "connection_error", level="error", resource=self.resource, error=repr(exc)
            )
        finally:
            active.dec()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._connections.discard(task)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    async def drain(self, deadline: float) -> None:
        """Let the plugin finish in-flight commands, then cut what is left at the deadline."""
        await self._handler.drain()
        remaining = deadline - asyncio.get_running_loop().time()
        if self._connections and remaining > 0:
            await asyncio.wait(set(self._connections), timeout=remaining)
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
