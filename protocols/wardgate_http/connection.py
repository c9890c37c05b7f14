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
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import h11

from wardgate.seam import ClientInfo, GateError, Identity, PresentedCredential, Session
from wardgate_http.client import ClientGone, ClientSide
from wardgate_http.errors import HttpRefusal, gate_reply, refusal
from wardgate_http.exchange import Exchange
from wardgate_http.headers import presented_secret
from wardgate_http.upstream import UpstreamConnection

if TYPE_CHECKING:
    from wardgate_http.listener import HttpListener

log = logging.getLogger("wardgate.http")


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
            await self._close_session("identity changed" if self.session else "")
            self.session = await self.gate.open_session(identity, info, "")
        except GateError as exc:
            raise HttpRefusal(gate_reply(exc), "gate") from None
        self._identity, self._opened_at, self.renew = identity, time.monotonic(), False
        return self.session

    def _reusable(self, identity: Identity) -> bool:
        if self.session is None or self.renew or self._identity != identity:
            return False
        return time.monotonic() - self._opened_at < self.settings.session_max_age

    async def _close_session(self, reason: str) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.close(reason or "credential renewed")

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
