"""The upstream side: one h11 client connection over an asyncio stream, TLS verified.

A client connection keeps one upstream connection and reuses it for its
keep-alive requests (no pool shared between agents, so nothing crosses from one
agent's exchange into another's). A reused connection the upstream has closed
meanwhile is detected on the first read and reopened once for a request whose
body was not streamed yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import h11

from wardgate_http.settings import HttpUpstream

READ_SIZE = 64 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached or broke the exchange; `status` is what to answer."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class UpstreamConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h11.Connection(h11.CLIENT)
        self.used = False  # carried a complete exchange already

    async def send(self, event: Any, seconds: float) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            try:
                async with asyncio.timeout(seconds):
                    await self.writer.drain()
            except TimeoutError:
                raise UpstreamError("the upstream stopped reading the request", 504) from None
            except OSError as exc:
                raise UpstreamError(f"the upstream connection failed: {exc}") from None

    async def next_event(self, seconds: float) -> Any:
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise UpstreamError(f"the upstream sent invalid HTTP: {exc}") from None
            if event is not h11.NEED_DATA:
                return event
            await self._receive(seconds)

    async def next_body(self, seconds: float) -> tuple[bytes, bool]:
        """Body bytes ready now (at least one event's, waiting if need be) and whether
        the body ended: buffered chunks are batched into one write to the agent."""
        parts: list[bytes] = []
        while True:
            event = await self.next_event(seconds) if not parts else self._ready()
            if event is None:
                return b"".join(parts), False
            if isinstance(event, h11.EndOfMessage):
                return b"".join(parts), True
            if not isinstance(event, h11.Data):
                raise UpstreamError("the upstream closed the connection mid-response")
            parts.append(bytes(event.data))

    def _ready(self) -> Any:
        """The next event if it needs no I/O, else None."""
        try:
            event = self.conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise UpstreamError(f"the upstream sent invalid HTTP: {exc}") from None
        return None if event is h11.NEED_DATA else event

    async def _receive(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                data = await self.reader.read(READ_SIZE)
        except TimeoutError:
            raise UpstreamError("the upstream did not answer in time", 504) from None
        except OSError as exc:
            raise UpstreamError(f"the upstream connection failed: {exc}") from None
        self.conn.receive_data(data)

    def reusable(self) -> bool:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            self.used = True
            return True
        return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    def abort(self) -> None:
        """Close now: a pending read sees the end of the stream (an UpstreamError)."""
        self.writer.transport.abort()


async def connect(
    settings: HttpUpstream, context: ssl.SSLContext | None, seconds: float
) -> UpstreamConnection:
    server_name = (settings.server_name or settings.host) if context is not None else None
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(
                settings.host,
                settings.port,
                ssl=context,
                server_hostname=server_name,
                limit=READ_SIZE * 2,
            )
    except TimeoutError:
        raise UpstreamError(f"connecting to {settings.host_header} timed out", 504) from None
    except ssl.SSLError as exc:
        raise UpstreamError(f"TLS to {settings.host_header} failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise UpstreamError(
            f"cannot connect to {settings.host_header}: {exc.strerror or exc}"
        ) from None
    return UpstreamConnection(reader, writer)
