"""An allowed request relayed: upstream request, streamed response, evidence, outcome.

The agent's identity headers never leave; the resource's credential header is
added; the response's headers and bodies are filtered so the credential never
comes back. The response body goes through its filter chunk by chunk and each
chunk is released as soon as the filter lets it go. The outcome (and the LLM
evidence) is reported before the last chunk is released. A reused upstream
connection that turns out closed is retried once on a new one, when the request
body was not streamed yet.

When the session's token expires (`identity.end_sessions_at_expiry`) the connection
aborts the upstream connection, which ends whatever the relay waits for upstream;
the relay then sends nothing more: a response not begun is answered 401
`token_expired`, a streaming one stops where it is (no terminating chunk, short of
its Content-Length) and its outcome carries the error `token expired`; a WebSocket
tunnel gets Close frames (1008) both ways instead (`_expire_tunnel`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import h11

from wardgate.seam import Decision, Direction, Outcome
from wardgate_http.body import BodyFilter, Passthrough, response_filter, rewrites
from wardgate_http.client import ClientGone
from wardgate_http.errors import ErrorReply, refusal
from wardgate_http.headers import client_headers, header, is_json, upstream_headers
from wardgate_http.jsonstream import JsonStreamMasker, MaskingError, TextStreamMasker
from wardgate_http.target import Target
from wardgate_http.upstream import UpstreamConnection, UpstreamError, connect
from wardgate_http.wsframe import POLICY_VIOLATION, FrameTracker, close_frame

if TYPE_CHECKING:
    from wardgate_http.exchange import Exchange

PIPE_SIZE = 64 * 1024
EXPIRED = "token expired"
EXPIRED_MESSAGE = "wardgate: the token that authorised this request expired"
CLOSE_WAIT = 0.5  # seconds the agent has to answer a Close frame before the cut


class Relay:
    def __init__(
        self, exchange: Exchange, decision: Decision, target: Target, upgrade: str
    ) -> None:
        self.x = exchange
        self.conn = exchange.conn
        self.client = exchange.conn.client
        self.settings = exchange.settings
        self.session = exchange.session
        self.decision, self.target, self.upgrade = decision, target, upgrade
        self.bytes_out = 0
        self.masker = exchange.body_masker(response=True)
        self.request_masker = exchange.body_masker(response=False)
        self._request_body: BodyFilter | None = self._request_filter()
        self._frames: dict[Direction, FrameTracker] = {}  # an upgraded connection's

    async def run(self) -> bool:
        self.client.tap = lambda data: self.session.record(Direction.SERVER_TO_CLIENT, data)
        if self.conn.ended(self.session):  # expired while the request was read or decided
            await self._fail(401, "token_expired", EXPIRED_MESSAGE, EXPIRED)
            return False
        try:
            upstream, response = await self._request()
        except UpstreamError as exc:
            if self.conn.expired:
                await self._fail(401, "token_expired", EXPIRED_MESSAGE, EXPIRED)
            else:
                await self._fail(exc.status, "upstream_error", f"wardgate: {exc.message}")
            return False
        try:
            return await self._respond(upstream, response)
        finally:
            if not upstream.reusable():
                upstream.close()
                self.conn.upstream = None

    # -- request -------------------------------------------------------------------------

    async def _request(self) -> tuple[UpstreamConnection, h11.Response | h11.InformationalResponse]:
        for attempt in (1, 2):
            upstream = await self._upstream(fresh=attempt == 2)
            try:
                await self._send_request(upstream)
                return upstream, await self._response_head(upstream)
            except UpstreamError:
                upstream.close()
                self.conn.upstream = None
                if attempt == 2 or not upstream.used or not self._replayable():
                    raise
        raise AssertionError("unreachable")

    def _replayable(self) -> bool:
        return self.x.body is not None or self.client.conn.their_state is not h11.SEND_BODY

    async def _upstream(self, fresh: bool) -> UpstreamConnection:
        if self.conn.upstream is not None and not fresh:
            return self.conn.upstream
        listener = self.conn.listener
        self.conn.upstream = await connect(
            self.settings, listener.upstream_tls, listener.context.limits.connect_timeout
        )
        return self.conn.upstream

    def _headers(self) -> list[tuple[bytes, bytes]]:
        headers = self.x.request.headers
        keep = (b"upgrade", b"connection") if self.upgrade else ()
        out = upstream_headers(
            headers,
            strip=self.settings.identity_headers,
            host=self.settings.host_header,
            inject=self.session.credential.headers,
            forwarded_for=self.conn.info.address,
            keep=keep,
            accept_identity=self.masker.active,
        )
        if self.x.body is not None:
            out.append((b"content-length", str(len(self.x.body)).encode()))
        elif self._streams_body():
            length = header(headers, b"content-length")
            framing = (
                (b"content-length", length)
                if length and not self._body_filtered()
                else (b"transfer-encoding", b"chunked")
            )
            out.append(framing)
        return out

    def _streams_body(self) -> bool:
        return self.client.conn.their_state is h11.SEND_BODY

    def _body_filtered(self) -> bool:
        return self._request_body is not None

    def _request_filter(self) -> BodyFilter | None:
        masker = self.request_masker
        if not masker.detectors or self.settings.request_secrets == "log":
            return None
        kind = (header(self.x.request.headers, b"content-type") or b"").decode("latin-1").lower()
        if is_json(self.x.request.headers):
            return JsonStreamMasker(masker, window=self.settings.lookbehind)
        return (
            TextStreamMasker(masker, self.settings.lookbehind) if kind.startswith("text/") else None
        )

    async def _send_request(self, upstream: UpstreamConnection) -> None:
        path = self.settings.prefix + self.target.forwarded
        request = h11.Request(
            method=self.x.request.method, target=path.encode(), headers=self._headers()
        )
        timeout = self.settings.response_timeout
        await upstream.send(request, timeout)
        self._record_request()
        if self.x.body is not None:
            await upstream.send(h11.Data(data=self.x.body), timeout)
            self.session.record(Direction.CLIENT_TO_SERVER, self.x.body)
        elif self._streams_body():
            await self._stream_body(upstream)
        await upstream.send(h11.EndOfMessage(), timeout)

    async def _stream_body(self, upstream: UpstreamConnection) -> None:
        if self.client.conn.they_are_waiting_for_100_continue:
            await self.client.send(h11.InformationalResponse(status_code=100, headers=[]))
        body = self._request_body or Passthrough()
        timeout = self.settings.response_timeout
        while True:
            event = await self.client.next_body_event()
            end = isinstance(event, h11.EndOfMessage)
            data = body.close() if end else body.feed(bytes(event.data))
            self._check_secrets(upstream)
            if data:
                await upstream.send(h11.Data(data=data), timeout)
                self.session.record(Direction.CLIENT_TO_SERVER, data)
            if end:
                return

    def _check_secrets(self, upstream: UpstreamConnection) -> None:
        if self.settings.request_secrets != "deny":
            return
        found = list(self.request_masker.found)
        if found:
            upstream.close()
            raise refusal(
                403,
                "secret_in_request",
                f"wardgate: the request body contains a secret ({found[0]})",
                close=True,
            )

    def _record_request(self) -> None:
        request = self.x.request
        hidden = {name.lower().encode() for name in self.settings.identity_headers}
        lines = [request.method + b" " + self.target.forwarded.encode() + b" HTTP/1.1"]
        lines += [
            k + b": " + (b"[wardgate: credential removed]" if k in hidden else v)
            for k, v in request.headers
        ]
        self.session.record(Direction.CLIENT_TO_SERVER, b"\r\n".join(lines) + b"\r\n\r\n")

    # -- response ------------------------------------------------------------------------

    async def _response_head(
        self, upstream: UpstreamConnection
    ) -> h11.Response | h11.InformationalResponse:
        while True:
            event = await upstream.next_event(self.settings.response_timeout)
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.InformationalResponse):
                if event.status_code == 101:
                    return event
                continue  # 100/103 from the upstream: wardgate answered the agent itself
            raise UpstreamError("the upstream closed the connection without answering")

    async def _respond(
        self, upstream: UpstreamConnection, response: h11.Response | h11.InformationalResponse
    ) -> bool:
        if response.status_code == 401:
            self.conn.renew = True  # maybe a rotated credential: re-lease before the next request
        if isinstance(response, h11.InformationalResponse):
            return await self._tunnel(upstream, response)
        try:
            body = response_filter(
                response.headers, self.masker, self.x.evidence, self.settings.lookbehind
            )
        except MaskingError as exc:
            await self._fail(502, "uninspectable_response", f"wardgate: {exc}")
            return False
        headers = client_headers(response.headers, self._literals(), drop_length=rewrites(body))
        await self.client.send(
            h11.Response(status_code=response.status_code, headers=headers, reason=response.reason)
        )
        return await self._stream_response(upstream, body, response.status_code)

    async def _stream_response(
        self, upstream: UpstreamConnection, body: BodyFilter, status: int
    ) -> bool:
        try:
            while True:
                data, ended = await upstream.next_body(self.settings.response_timeout)
                if self.conn.expired:
                    break  # what came after the token's end is not relayed
                await self._send(body.feed(data))
                if ended:
                    await self._send(body.close())
                    await self._finish(status, "")
                    await self.client.send(h11.EndOfMessage())
                    return True
        except (UpstreamError, MaskingError) as exc:
            if not self.conn.expired:
                await self._finish(status, str(exc))
                upstream.close()
                self.conn.upstream = None
                return False  # the agent sees a truncated body and a closed connection
        except ClientGone:
            if self.conn.expired:  # cut while waiting on a slow agent
                await self._cut(upstream, status)
            raise
        await self._cut(upstream, status)
        return False

    async def _cut(self, upstream: UpstreamConnection, status: int) -> None:
        """The token expired mid-response: evidence, then the connection ends unfinished."""
        upstream.close()
        self.conn.upstream = None
        self.session.event(
            "token_expired", level="warning", command_id=self.decision.command_id, cut=True
        )
        await self._finish(status, EXPIRED)

    async def _send(self, data: bytes) -> None:
        if data:
            self.bytes_out += len(data)
            await self.client.send(h11.Data(data=data))

    async def _finish(self, status: int, error: str) -> None:
        fields: dict[str, Any] = {}
        found = {k: v for k, v in self.masker.found.items()}
        if found:
            fields["masked"] = found
        if self.x.evidence is not None:
            self.session.event(
                "llm_call",
                command_id=self.decision.command_id,
                **self.x.evidence.fields(),
                **fields,
            )
        elif found:
            self.session.event("response_masked", command_id=self.decision.command_id, **fields)
        await self.session.report(
            Outcome(
                self.decision.command_id, bytes_out=self.bytes_out, error=error, status=str(status)
            )
        )

    def _literals(self) -> tuple[str, ...]:
        return self.x.literals.values

    async def _fail(self, status: int, kind: str, message: str, error: str = "") -> None:
        await self.session.report(
            Outcome(self.decision.command_id, error=error or message, status=str(status))
        )
        if error == EXPIRED:
            self.session.event(
                "token_expired", level="warning", command_id=self.decision.command_id, cut=False
            )
        else:
            self.conn.gate.refuse(self.conn.info, message, "upstream")
            self.session.event(
                "upstream_failed",
                level="error",
                command_id=self.decision.command_id,
                reason=message,
            )
        if self.client.can_reply():
            headers = (("www-authenticate", 'Bearer realm="wardgate"'),) if status == 401 else ()
            await self.client.reply(ErrorReply(status, kind, message, close=True, headers=headers))

    # -- upgrades ------------------------------------------------------------------------

    async def _tunnel(
        self, upstream: UpstreamConnection, response: h11.InformationalResponse
    ) -> bool:
        if not self.upgrade:
            await self._fail(
                502, "upstream_error", "wardgate: the upstream switched protocols unasked"
            )
            return False
        headers = client_headers(
            response.headers, self._literals(), drop_length=False, keep=(b"upgrade", b"connection")
        )
        await self.client.send(
            h11.InformationalResponse(status_code=101, headers=headers, reason=response.reason)
        )
        await self._finish(101, "")
        client_rest, _ = self.client.conn.trailing_data
        upstream_rest, _ = upstream.conn.trailing_data
        self._frames = {d: FrameTracker() for d in Direction}
        self.conn.on_expiry = lambda: self._expire_tunnel(upstream)
        try:
            await asyncio.gather(
                self._pipe(
                    self.client.reader, upstream.writer, client_rest, Direction.CLIENT_TO_SERVER
                ),
                self._pipe(
                    upstream.reader, self.client.writer, upstream_rest, Direction.SERVER_TO_CLIENT
                ),
            )
        finally:
            self.conn.on_expiry = None
        return False

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        first: bytes,
        direction: Direction,
    ) -> None:
        data, frames = first, self._frames[direction]
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
            while not self.conn.expired:
                if data:
                    frames.feed(data)  # no await between feeding and writing
                    self.session.record(direction, data)
                    writer.write(data)
                    await writer.drain()
                data = await asyncio.wait_for(reader.read(PIPE_SIZE), self.settings.idle_timeout)
                if not data:
                    break
            if self.conn.expired and direction is Direction.CLIENT_TO_SERVER:
                await self._closing_handshake(reader, frames, data)
        if not self.conn.expired:  # expired: the handshake above ends the agent's side
            with contextlib.suppress(Exception):
                writer.close()

    def _expire_tunnel(self, upstream: UpstreamConnection) -> None:
        """Close both sides with 1008 (each between two frames; a side in the middle of
        a frame is only cut) and stop relaying; the agent's Close is awaited briefly."""
        reason = "wardgate: the token that authorised this connection expired"
        if self._frames[Direction.SERVER_TO_CLIENT].at_boundary:
            frame = close_frame(POLICY_VIOLATION, reason, masked=False)
            self.session.record(Direction.SERVER_TO_CLIENT, frame)
            with contextlib.suppress(Exception):
                self.client.writer.write(frame)
        if self._frames[Direction.CLIENT_TO_SERVER].at_boundary:
            with contextlib.suppress(Exception):
                upstream.writer.write(close_frame(POLICY_VIOLATION, reason, masked=True))
        upstream.close()
        self.session.event(
            "token_expired", level="warning", command_id=self.decision.command_id, cut=True
        )

    async def _closing_handshake(
        self, reader: asyncio.StreamReader, frames: FrameTracker, data: bytes
    ) -> None:
        """Read (and drop) what the agent sends until its Close frame, for a short while:
        closing first with its Close unread could reset the connection before it has
        read ours. `data` was read already, not relayed."""
        async with asyncio.timeout(CLOSE_WAIT):
            while True:
                frames.feed(data)
                if frames.saw_close:
                    return
                data = await reader.read(PIPE_SIZE)
                if not data:
                    return
