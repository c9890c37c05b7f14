"""One client and one upstream after the handshake: reads in, one command at a time.

The handshake is written with streams (`PacketStream` over `StreamReader` /
`StreamWriter`); relaying is cheaper without them. An `Exchange` takes both
transports over (`Endpoint`): every read arrives in a `data_received` callback and
is fed to that side's `PacketStream` (TLS, framing, sequence ids), and what is
written is framed there and written to the transport once per read.

The client's packets are handed to the relay one at a time (`on_command`, run
inline with `eager` unless it really waits: a review hold). A command the relay
forwards gets a `ResponseRelay`, which the upstream's reads feed packet by packet;
in the rows of a result set with no masking and no row limit, a run of plain rows is
passed through as the upstream framed it and only counted (`_pass_rows`).
Until the command is done, whatever the client sends stays in its decoder, in
order; the client is still read (a disconnect during a hold cancels the handler,
and with it the review), up to `HELD_INPUT_LIMIT`. A full write buffer on one side
pauses reading on the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from wardgate.eager import eager
from wardgate.endpoint import Endpoint, take_over
from wardgate.expiry import schedule_expiry
from wardgate.seam import Direction, MaskingPlan, Session
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.response_state import ResponseTracker
from wardgate_mysql.codec.resultset import ColumnDefinition41
from wardgate_mysql.masking import RowMasker
from wardgate_mysql.results import (
    ClientGone,
    ResponseRelay,
    ResponseSummary,
    UpstreamLost,
    err_payload,
)
from wardgate_mysql.stream import PacketStream, StreamClosed

#: What a client may send while its command is held for review or its response is in
#: flight (MySQL clients wait for the answer, so normally nothing); past it the gateway
#: stops reading until the command is done.
HELD_INPUT_LIMIT = 1024 * 1024

OnCommand = Callable[[bytes], Coroutine[Any, Any, None]]


class Exchange:
    """Drives one relay's transports; see the module docstring."""

    def __init__(
        self, client: PacketStream, upstream: PacketStream, session: Session, on_command: OnCommand
    ) -> None:
        self.client, self.up, self.session = client, upstream, session
        self._on_command = on_command
        self._client = Endpoint(
            client.reader,
            client.writer,
            self._client_data,
            self._client_lost,
        )
        self._upstream = Endpoint(
            upstream.reader,
            upstream.writer,
            self._server_data,
            self._upstream_lost,
        )
        self._client.pair(self._upstream)  # back-pressure both ways
        self.draining = False
        self.pass_rows = True  # the bulk row lane (`_pass_rows`); off, rows go one by one
        self.deciding = False  # the relay waits for a decision (maybe a review hold)
        self._response: ResponseRelay | None = None  # the command's response in flight
        # A handler or a response end that had to wait (a review hold, a slow report):
        # its side is not read on (the client's packets wait in its decoder) until done.
        self._client_busy: asyncio.Task[None] | None = None
        self._server_busy: asyncio.Task[None] | None = None
        self._upstream_gone = False
        self._closing = asyncio.Event()
        self._ended_by: BaseException | None = None  # why it ended, for the listener
        self.end_reason = ""

    # -- lifecycle -------------------------------------------------------------------

    async def run(self) -> str:
        """Serve commands until the client quits; returns why it ended.

        What ended it abnormally is raised (as the streams' relay raised it): the
        listener turns it into the client's last ERR and the session's end reason.
        """
        expiry = schedule_expiry(self.session.ends_at, self._expired)
        try:
            # The client's decoder may hold packets from the handshake already.
            take_over(self._upstream, self._client, feed_client_always=True)
            await self._closing.wait()
        finally:
            if expiry is not None:
                expiry.cancel()
            self._flush_client()
            busy = [t for t in (self._client_busy, self._server_busy) if t is not None]
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)
            self._client.detach()
            self._upstream.detach()
        if self._ended_by is not None:
            raise self._ended_by
        return self.end_reason

    def drain(self) -> None:
        """Graceful shutdown: end now if idle, else once the current command is done."""
        self.draining = True
        self._serve_client()

    def _expired(self) -> None:
        """The identity's token expired (`identity.end_sessions_at_expiry`): end now.
        Idle, the client gets an ERR first (sequence 0, as a server that is shutting
        down sends it); in the middle of a command the connection is cut, as a killed
        server connection is."""
        if self._closing.is_set():
            return
        if self._client_busy is None and self._response is None:
            self.client.seq = 0
            self.error(
                "ER_CONNECTION_KILLED",
                "the identity token that opened this session expired; "
                "connect again with a fresh token",
            )
        self.finish("token expired")

    def finish(self, reason: str) -> None:
        self.end_reason = self.end_reason or reason
        self._closing.set()

    def _fail(self, exc: BaseException | None) -> None:
        """End the relay; the listener answers the client according to `exc`."""
        if exc is None or isinstance(exc, asyncio.CancelledError) or self._closing.is_set():
            return
        self._ended_by = exc
        self.finish(f"{type(exc).__name__}: {exc}")

    def _settled(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    # -- client → server -------------------------------------------------------------

    def _client_data(self, data: bytes) -> None:
        if self._closing.is_set():
            return
        try:
            if data:
                self._client.write(self.client.receive(data))
        except StreamClosed as exc:
            return self._fail(exc)
        self._serve_client()

    def _serve_client(self) -> None:
        """Handle the client's next commands, one at a time, while none is in flight."""
        client = self.client
        while not self._closing.is_set():
            if self._client_busy is not None or self._response is not None:
                if client.decoder.buffered > HELD_INPUT_LIMIT:
                    self._client.pause("backlog")  # read again once the command is done
                return
            self._client.resume("backlog")
            client.seq = 0
            try:
                packet = client.poll()
                if packet is None:
                    if self.draining:
                        self.finish("gateway shutdown")
                    return
                handling = eager(self._on_command(packet.payload))
            except Exception as exc:  # MySQLProtocolError, UpstreamLost, a bug
                return self._fail(exc)
            if handling is not None:  # it waits (a review hold): later packets wait too
                self._client_busy = handling
                handling.add_done_callback(self._client_handled)

    def _client_handled(self, task: asyncio.Future[None]) -> None:
        self._client_busy = None
        self._settled(task)
        self._serve_client()

    def _client_lost(self, exc: Exception | None) -> None:
        if self._closing.is_set():
            return
        if self._client_busy is not None and self.deciding:
            self._fail(StreamClosed("client disconnected while its command was held"))
            self._client_busy.cancel()  # cancels the review
        elif self._response is not None:
            self._fail(ClientGone("connection closed by peer"))
        else:
            self._fail(StreamClosed("connection closed by peer"))

    # -- server → client -------------------------------------------------------------

    def _server_data(self, data: bytes) -> None:
        if self._closing.is_set():
            return
        try:
            self._upstream.write(self.up.receive(data))
        except StreamClosed as exc:
            return self._fail(UpstreamLost(f"upstream connection lost: {exc}"))
        self._serve_server()

    def _serve_server(self) -> None:
        """Feed the upstream's packets to the response in flight (left buffered if none)."""
        if self._closing.is_set() or self._response is None:
            return
        if self._server_busy is not None:  # a report is pending: keep the order
            self._upstream.pause("busy")
            return
        try:
            handling = eager(self._from_server())
        except Exception as exc:
            return self._fail(exc)
        if handling is not None:
            self._server_busy = handling
            self._upstream.pause("busy")
            handling.add_done_callback(self._server_handled)

    def _server_handled(self, task: asyncio.Future[None]) -> None:
        self._server_busy = None
        self._settled(task)
        self._upstream.resume("busy")
        self._serve_server()
        if self._upstream_gone and self._server_busy is None:
            self._upstream_lost(None)

    def _upstream_lost(self, exc: Exception | None) -> None:
        if self._server_busy is not None:  # deliver what came before the end first
            self._upstream_gone = True
            return
        self._fail(UpstreamLost("upstream connection lost: connection closed by peer"))

    async def _from_server(self) -> None:
        while (response := self._response) is not None and not self._closing.is_set():
            if self.pass_rows and response.passes_rows and self._pass_rows(response):
                continue
            try:
                packet = self.up.poll()
            except MySQLProtocolError as exc:
                raise UpstreamLost(f"upstream protocol error: {exc.message}") from exc
            if packet is None:
                break
            out = response.feed(packet.payload)
            if response.done:
                await self._complete(response, out)
            elif out:
                self._to_client(out)
        self._flush_client()

    def _pass_rows(self, response: ResponseRelay) -> bool:
        """Forward the run of plain rows at the head of the upstream's buffer as it was
        framed, with no object per packet; False if there is none (what is not plainly
        a row is left to `feed`). Only while both sides' sequence ids agree (they do
        unless the gateway added or dropped a packet), so the frames are the bytes
        `_to_client` would have framed; each payload is still tapped."""
        if self.client.seq != self.up.seq:
            return False
        rows, starts = self.up.take_rows()
        if not starts:
            return False
        self.client.write_framed(rows, len(starts))
        response.count_rows(len(starts))
        record, out = self.session.record, Direction.SERVER_TO_CLIENT
        ends = starts[1:]
        ends.append(len(rows))
        for start, end in zip(starts, ends, strict=True):
            record(out, rows[start + 4 : end])
        return True

    async def _complete(self, response: ResponseRelay, final: bytes) -> None:
        """The outcome is reported before the client sees the response's last packet
        (what precedes it stays framed in `client` meanwhile: one write for both)."""
        await response.report(response.summary)
        self._to_client(final)
        self._flush_client()
        self._response = None
        if response.then is not None:
            response.then(response.summary)
        self._serve_client()

    # -- writing -------------------------------------------------------------------------

    def _to_client(self, payload: bytes) -> None:
        self.session.record(Direction.SERVER_TO_CLIENT, payload)
        self.client.write(payload)

    def _flush_client(self) -> None:
        data = self.client.take_output()
        if data:
            self._client.write(data)

    def error(self, name: str, message: str) -> None:
        self._to_client(err_payload(name, message))
        self._flush_client()

    def forward(self, raw: bytes) -> None:
        """Send a command upstream (sequence ids restart at 0)."""
        self.up.seq = 0
        self._upload(raw)

    def _upload(self, payload: bytes) -> None:
        if not self._upstream.writable:
            raise UpstreamLost("upstream connection lost: connection closed by peer")
        self.up.write(payload)
        self._upstream.write(self.up.take_output())

    def respond(
        self,
        tracker: ResponseTracker,
        plan_for: Callable[[list[ColumnDefinition41]], MaskingPlan],
        binary: bool,
        *,
        max_rows: int | None = None,
        masker: RowMasker | None = None,
        limit_rule: str = "",
        report: Callable[[ResponseSummary], Awaitable[None]] | None = None,
        then: Callable[[ResponseSummary], None] | None = None,
    ) -> ResponseRelay:
        """Expect the forwarded command's response; the upstream's reads feed it."""
        response = self._response = ResponseRelay(
            self.session,
            tracker,
            plan_for,
            binary,
            self._upload,
            max_rows,
            masker,
            limit_rule,
            report,
            then,
        )
        return response
