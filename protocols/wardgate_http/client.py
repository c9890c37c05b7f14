"""The agent's side of a connection: h11 as a server over an asyncio stream.

Every wait on the agent is bounded: an idle keep-alive connection by
`idle_timeout`, a request head by `header_timeout` from its first byte (a
slow-loris client gets 408 and is cut), each read inside a body by
`body_timeout`. A head larger than `max_header_bytes` is h11's "receive buffer too
long", answered 431; any other malformed request is 400. Everything sent to the
agent goes through `send`, which taps it for the recording.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import h11

from wardgate_http.errors import ErrorReply, HttpRefusal, refusal
from wardgate_http.settings import HttpUpstream

READ_SIZE = 64 * 1024
Tap = Callable[[bytes], None]


class ClientGone(Exception):
    """The agent closed the connection or stopped reading."""


class ClientSide:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: HttpUpstream
    ) -> None:
        self.reader, self.writer = reader, writer
        self.settings = settings
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=settings.max_header_bytes)
        self.tap: Tap | None = None
        self.idle = True  # waiting for a request head with nothing received

    # -- receiving -----------------------------------------------------------------------

    async def read_request(self) -> h11.Request | None:
        """The next request head, or None when the agent closed an idle connection."""
        loop = asyncio.get_running_loop()
        self.idle = True
        try:
            async with asyncio.timeout(self.settings.idle_timeout) as scope:
                while True:
                    event = self._next()
                    if isinstance(event, h11.Request):
                        return self._checked(event)
                    if isinstance(event, h11.ConnectionClosed):
                        return None
                    if not await self._receive():
                        continue
                    if self.idle:
                        self.idle = False
                        scope.reschedule(loop.time() + self.settings.header_timeout)
        except TimeoutError:
            if self.idle:
                return None
            raise refusal(
                408, "request_timeout", "the request head did not arrive in time", close=True
            ) from None
        finally:
            self.idle = False

    def _checked(self, request: h11.Request) -> h11.Request:
        """h11 caps only a head still incomplete in its buffer; cap a complete one too."""
        size = len(request.method) + len(request.target)
        size += sum(len(name) + len(value) + 4 for name, value in request.headers)
        if size > self.settings.max_header_bytes:
            message = f"the request head is over {self.settings.max_header_bytes} bytes"
            raise HttpRefusal(ErrorReply(431, "headers_too_large", message, close=True))
        return request

    async def next_body_event(self) -> Any:
        """Data or EndOfMessage of the current request body."""
        while True:
            event = self._next()
            if isinstance(event, h11.Data | h11.EndOfMessage):
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise ClientGone("the agent closed the connection inside a request body")
            try:
                async with asyncio.timeout(self.settings.body_timeout):
                    await self._receive()
            except TimeoutError:
                raise refusal(
                    408, "request_timeout", "the request body stalled", close=True
                ) from None

    def _next(self) -> Any:
        try:
            return self.conn.next_event()
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint
            kind = "headers_too_large" if status == 431 else "bad_request"
            raise HttpRefusal(
                ErrorReply(status, kind, f"malformed request: {exc}", close=True)
            ) from None

    async def _receive(self) -> bool:
        """Feed h11 what the agent sent; False if it was the end of the stream."""
        try:
            data = await self.reader.read(READ_SIZE)
        except OSError:
            data = b""
        self.conn.receive_data(data)
        return bool(data)

    # -- sending -------------------------------------------------------------------------

    async def send(self, event: Any) -> int:
        try:
            data = self.conn.send(event)
        except h11.LocalProtocolError as exc:
            raise ClientGone(f"cannot send to the agent: {exc}") from None
        if not data:
            return 0
        if self.tap is not None:
            self.tap(data)
        self.writer.write(data)
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                await self.writer.drain()
        except (OSError, TimeoutError):
            raise ClientGone("the agent stopped reading") from None
        return len(data)

    async def reply(self, reply: ErrorReply, extra: tuple[tuple[str, str], ...] = ()) -> None:
        """A complete JSON error response; closes the connection if the reply says so."""
        body = reply.body()
        headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
        headers += [*reply.headers, *extra]
        if reply.close or self.conn.their_state is h11.SEND_BODY:
            headers.append(("connection", "close"))
        await self.send(h11.Response(status_code=reply.status, headers=headers))
        await self.send(h11.Data(data=body))
        await self.send(h11.EndOfMessage())

    def can_reply(self) -> bool:
        return self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE)

    def next_cycle(self) -> bool:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    def abort(self) -> None:
        """Close the connection now, dropping what is still queued for the agent (what
        the kernel holds already is delivered): a pending read ends, a pending send
        returns and the next one fails."""
        self.writer.transport.abort()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
