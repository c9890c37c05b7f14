"""One agent connection: requests in turn, each authenticated, decided and relayed.

    request head ─▶ identity header ─▶ gate.authenticate (every request)
        ─▶ session (one per connection and identity, renewed after
           `session_max_age` or an upstream 401 so a rotated credential is picked up)
        ─▶ Exchange.run (policy, upstream, streamed response) ─▶ keep-alive or close

Identity is checked on every request because HTTP carries it on every request: an
expired or revoked token stops at the next request, and one connection can never
mix two identities under one session. A refusal is answered as JSON, counted by
the gate (and recorded on the session when there is one); the connection stays
usable unless the request could not be read to its end.

With `identity.end_sessions_at_expiry` a session has an end (`Session.ends_at`, the
`exp` of the token that opened it). A request presenting another token of the same
identity opens a new session (so a session never outlives the token in use), and
at the end the connection ends with reason `token expired`: idle, it is closed; an
exchange in flight is cut by its relay (`Relay.expire`: a response stops where it
is, a WebSocket gets a Close frame); anything else still holding the connection a
moment later (a stalled agent, a request body being read) is cut then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import h11

from wardgate.expiry import schedule_expiry
from wardgate.seam import ClientInfo, GateError, Identity, PresentedCredential, Session
from wardgate_http.client import ClientGone, ClientSide
from wardgate_http.errors import HttpRefusal, gate_reply, refusal
from wardgate_http.exchange import Exchange
from wardgate_http.headers import presented_secret
from wardgate_http.upstream import UpstreamConnection

if TYPE_CHECKING:
    from wardgate_http.listener import HttpListener

log = logging.getLogger("wardgate.http")

EXPIRED = "token expired"
CUT_GRACE = 1.0  # seconds an exchange gets after expiry to end by itself before the cut


class HttpConnection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: HttpListener
    ) -> None:
        self.listener = listener
        self.settings = listener.settings
        self.gate = listener.context.gate
        self.client = ClientSide(reader, writer, self.settings)
        peer = writer.get_extra_info("peername")
        address, port = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("", 0)
        tls = writer.get_extra_info("sslcontext") is not None
        self.info = ClientInfo(address=address, port=port, tls=tls)
        self.session: Session | None = None
        self._identity: Identity | None = None
        self._opened_at = 0.0
        self.renew = False  # re-lease the upstream credential before the next request
        self.upstream: UpstreamConnection | None = None
        self.expired = False  # the current session's token expired
        self.on_expiry: Callable[[], None] | None = None  # the relay in flight ends itself
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def idle(self) -> bool:
        return self.client.idle

    async def serve(self) -> None:
        reason = "client closed"
        try:
            reason = await self._loop()
        except ClientGone as exc:
            reason = str(exc)
        finally:
            self._disarm()
            reason = EXPIRED if self.expired else reason
            if self.upstream is not None:
                self.upstream.close()
            if self.session is not None:
                await self.session.close(reason)
            await self.client.close()

    async def _loop(self) -> str:
        while True:
            try:
                request = await self.client.read_request()
            except HttpRefusal as exc:
                await self.refuse(exc)
                return exc.reply.message
            if request is None:
                return "client closed"
            keep = await self._one(request)
            if not keep or self.listener.draining:
                return "draining" if self.listener.draining else "connection close"
            if not self.client.next_cycle():
                return "connection close"

    async def _one(self, request: h11.Request) -> bool:
        try:
            session = await self._session_for(request)
            return await Exchange(self, session, request).run()
        except HttpRefusal as exc:
            await self.refuse(exc)
            return not exc.reply.close

    # -- identity and session ------------------------------------------------------------

    async def _session_for(self, request: h11.Request) -> Session:
        presented = presented_secret(request.headers, self.settings.identity_headers)
        if presented is None or not presented[0]:
            raise refusal(
                401,
                "authentication_required",
                "wardgate: a bearer token is required",
                "authentication",
            )
        secret, user = presented
        info = ClientInfo(self.info.address, self.info.port, user=user, tls=self.info.tls)
        try:
            identity = await self.gate.authenticate(PresentedCredential(secret, user), info)
            if self._reusable(identity):
                assert self.session is not None
                return self.session
            await self._close_session(self._replaced_because(identity))
            self.session = await self.gate.open_session(identity, info, "")
        except GateError as exc:
            raise HttpRefusal(gate_reply(exc), "gate") from None
        self._identity, self._opened_at, self.renew = identity, time.monotonic(), False
        self._arm(self.session)
        return self.session

    def _reusable(self, identity: Identity) -> bool:
        if self.session is None or self.renew or self._identity != identity:
            return False
        ends_at = self.session.ends_at
        if ends_at is not None and ends_at != identity.expires_at:
            return False  # another token: the session ends with the token in use
        return time.monotonic() - self._opened_at < self.settings.session_max_age

    def _replaced_because(self, identity: Identity) -> str:
        if self.session is None:
            return ""
        if self._identity != identity:
            return "identity changed"
        return EXPIRED if self.expired else "credential renewed"

    async def _close_session(self, reason: str) -> None:
        self._disarm()
        if self.session is not None:
            session, self.session = self.session, None
            await session.close(reason or "credential renewed")

    # -- token expiry (`identity.end_sessions_at_expiry`) --------------------------------

    def _arm(self, session: Session) -> None:
        self.expired = False
        timer = schedule_expiry(session.ends_at, self._expire)
        if timer is not None:
            self._timers.append(timer)

    def _disarm(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _expire(self) -> None:
        """The session's token expired: end the connection with reason `token expired`."""
        self.expired = True
        if self.client.idle:
            self.client.abort()  # waiting for a request head: nothing to say, just close
            return
        if self.on_expiry is not None:
            self.on_expiry()
        elif self.upstream is not None:
            self.upstream.abort()
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(CUT_GRACE, self.client.abort))

    def ended(self, session: Session) -> bool:
        """Whether `session` is past its end (the timer may not have run yet)."""
        ends_at = session.ends_at
        if ends_at is not None and ends_at <= time.time():
            self.expired = True
        return self.expired

    # -- refusals ------------------------------------------------------------------------

    async def refuse(self, exc: HttpRefusal) -> None:
        """Count, record and answer a refusal (if the agent can still get an answer)."""
        reply = exc.reply
        if exc.category != "gate":  # the gate counted its own refusals already
            self.gate.refuse(self.info, reply.message, exc.category)
        if self.session is not None:
            self.session.event(
                "refused",
                level="warning",
                status=reply.status,
                reason=reply.message,
                rule=reply.rule,
            )
        if self.client.can_reply():
            try:
                await self.client.reply(reply)
            except ClientGone:
                pass
