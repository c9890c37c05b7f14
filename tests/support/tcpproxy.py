"""A fault-injecting TCP proxy for "the network misbehaves" tests.

`TcpProxy` listens on 127.0.0.1 (port 0) and forwards every accepted connection
to a target. While it runs a test can make the line misbehave:

- `cut_all()` resets every open connection at once (SO_LINGER 0, so both ends
  see a reset rather than a clean close) — "the upstream died mid-result";
- `delay` adds a pause before each forwarded chunk;
- `drop_after(n, direction)` cuts each connection once `n` bytes have passed in
  that direction ("s2c" target→client, "c2s" client→target);
- `refuse = True` accepts and immediately closes new connections.

The proxy runs its own asyncio loop in a daemon thread, so it works the same from
sync tests, async tests and subprocess-driven tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    sent: dict[str, int] = field(default_factory=lambda: {"c2s": 0, "s2c": 0})

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    """Forward 127.0.0.1:`port` to (`target_host`, `target_port`) with injectable faults."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.delay = 0.0
        self.refuse = False
        self.connections_opened = 0
        self._limits: dict[str, int] = {}
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self.errors: list[str] = []
        self._loop.set_exception_handler(
            lambda loop, context: self.errors.append(str(context.get("message")))
        )
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    # -- control (call from any thread) ----------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def cut_all(self) -> None:
        """Reset every open connection now; new connections still go through."""
        self._call(self._cut_all())

    def drop_after(self, nbytes: int | None, direction: str = "s2c") -> None:
        """Cut each connection once `nbytes` went `direction`; None removes the limit."""
        if direction not in ("s2c", "c2s"):
            raise ValueError("direction is 's2c' or 'c2s'")
        if nbytes is None:
            self._limits.pop(direction, None)
        else:
            self._limits[direction] = nbytes

    @property
    def active(self) -> int:
        return len(self._links)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: object) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        future.result(10)

    # -- the loop side -------------------------------------------------------

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._cut_all()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _cut_all(self) -> None:
        for link in list(self._links):
            link.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_opened += 1
        if self.refuse:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, link, "c2s"),
                self._pump(up_reader, writer, link, "s2c"),
            )
        finally:
            self._links.discard(link)
            link.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, way: str
    ) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                chunk = self._clip(chunk, link, way)
                writer.write(chunk)
                await writer.drain()
                if way in self._limits and link.sent[way] >= self._limits[way]:
                    link.abort()
                    return
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            link.abort()

    def _clip(self, chunk: bytes, link: _Link, way: str) -> bytes:
        limit = self._limits.get(way)
        if limit is not None:
            chunk = chunk[: max(0, limit - link.sent[way])]
        link.sent[way] += len(chunk)
        return chunk
