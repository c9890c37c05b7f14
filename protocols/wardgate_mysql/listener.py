"""One resource's listener: a client connection from greeting to quit.

    greeting ─▶ accept (TLS, token) ─▶ gate.authenticate ─▶ gate.open_session
        ─▶ upstream.connect (leased credential) ─▶ upstream OK to client ─▶ Relay.run

A bad token ends at authenticate with ERR 1045, before anything upstream is opened.
The greeting carries the upstream's version, charset and capabilities as last seen
(probed once, then refreshed by every upstream login), so clients see the server
as if they were connected directly.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from wardgate.seam import (
    AccessDenied,
    AuthenticationFailed,
    CatalogSnapshot,
    ClientInfo,
    Direction,
    GateError,
    ListenerContext,
    PresentedCredential,
    Session,
    UpstreamCredential,
    UpstreamUnavailable,
)
from wardgate_mysql.catalog import read_catalog
from wardgate_mysql.codec.constants import RELAYABLE, SHAPING, Capability
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.handshake import HandshakeV10
from wardgate_mysql.codec.responses import OkPacket
from wardgate_mysql.frontend import ClientHello, HandshakeRefused, accept, greeting
from wardgate_mysql.relay import Relay
from wardgate_mysql.replay import login_frames
from wardgate_mysql.results import ClientGone, UpstreamLost, err_payload
from wardgate_mysql.settings import MySQLUpstream
from wardgate_mysql.sqlmode import ansi_quotes
from wardgate_mysql.stream import PacketStream, StreamClosed
from wardgate_mysql.upstream import Login, Upstream, UpstreamError, connect, probe

log = logging.getLogger("wardgate.mysql")

DEFAULT_GREETING = HandshakeV10(
    server_version="8.0.0-wardgate",
    connection_id=0,
    nonce=bytes(20),
    capabilities=RELAYABLE,
    charset=45,
)
#: Collation ids of client character sets in which an ASCII byte (0x5c "\\", 0x27 "'")
#: can be the second byte of a character (big5, sjis, gbk, cp932, gb18030): the text
#: the classifier reads would not be the text the server parses. Refused.
UNSAFE_CHARSETS = frozenset({1, 84, 13, 88, 28, 87, 95, 96, 248, 249, 250})
GATE_ERRORS = {
    AuthenticationFailed: "ER_ACCESS_DENIED_ERROR",
    AccessDenied: "ER_DBACCESS_DENIED_ERROR",
    UpstreamUnavailable: "CR_CONN_HOST_ERROR",
}


class Refusal(Exception):
    """End the connection with this ERR (name from errcodes) after counting it."""

    def __init__(self, name: str, message: str, category: str = "protocol") -> None:
        super().__init__(message)
        self.name, self.message, self.category = name, message, category


class MySQLListener:
    def __init__(self, context: ListenerContext) -> None:
        self.context = context
        self.settings: MySQLUpstream = context.upstream
        self.ids = itertools.count(1)
        self.template: HandshakeV10 | None = None
        self.relays: set[Relay] = set()
        self.draining = False

    async def handle(self, reader: Any, writer: Any) -> None:
        client = PacketStream(reader, writer, self.context.limits.max_message_bytes)
        try:
            await self._serve(client)
        except Exception:  # must not raise: log and drop this connection only
            log.exception("mysql connection failed", extra={"resource": self.context.resource})
        finally:
            await client.close()

    async def read_catalog(self, credential: UpstreamCredential, database: str) -> CatalogSnapshot:
        """`CatalogReader`: a short-lived upstream login (masking and lineage)."""
        limits = self.context.limits
        return await read_catalog(
            self.settings, credential, database, limits.connect_timeout, limits.max_message_bytes
        )

    async def drain(self) -> None:
        """Each relay ends once its command in flight is done (at once if idle)."""
        self.draining = True
        for relay in list(self.relays):
            relay.drain()

    # -- phases -------------------------------------------------------------------------

    async def _serve(self, client: PacketStream) -> None:
        info = ClientInfo(*client.peer())
        try:
            hello, info = await self._accept(client, info)
            session = await self._open_session(hello, info)
        except Refusal as refusal:
            self.context.gate.refuse(info, refusal.message, refusal.category)
            await _send_error(client, refusal.name, refusal.message)
            return
        except (StreamClosed, TimeoutError) as exc:
            self.context.gate.refuse(info, f"client left during the handshake: {exc}")
            return
        await self._run_session(client, hello, session)

    async def _accept(
        self, client: PacketStream, info: ClientInfo
    ) -> tuple[ClientHello, ClientInfo]:
        if self.draining:
            raise Refusal("ER_SERVER_SHUTDOWN", "wardgate is shutting down")
        template = await self._template()
        hello = greeting(template, next(self.ids), self._offer(template))
        context = self.context
        try:
            accepted = await asyncio.wait_for(
                accept(client, hello, context.server_tls, context.tls_required),
                context.limits.handshake_timeout,
            )
        except HandshakeRefused as exc:
            raise Refusal(_name(exc), exc.message, "tls") from exc
        except MySQLProtocolError as exc:
            raise Refusal(_name(exc), f"bad handshake: {exc.message}") from exc
        if accepted.response.charset in UNSAFE_CHARSETS:
            raise Refusal(
                "ER_HANDSHAKE_ERROR",
                f"wardgate: client character set {accepted.response.charset} is refused "
                "(multi-byte sets that hide quotes and backslashes); use utf8mb4",
            )
        return accepted, _client_info(info, accepted)

    async def _open_session(self, hello: ClientHello, info: ClientInfo) -> Session:
        gate = self.context.gate
        requested = hello.response.database
        if (
            requested
            and requested != self.settings.database
            and not gate.allows_database(requested)
        ):
            raise Refusal(
                "ER_DBACCESS_DENIED_ERROR",
                f"wardgate: database '{requested}' is not served by this resource",
                "authorization",
            )
        try:
            identity = await gate.authenticate(
                PresentedCredential(secret=hello.token, user=hello.response.username), info
            )
            return await gate.open_session(identity, info, requested or self.settings.database)
        except GateError as exc:
            name = GATE_ERRORS.get(type(exc), "ER_ACCESS_DENIED_ERROR")
            raise Refusal(name, _gate_message(exc, hello), exc.category) from exc

    async def _run_session(
        self, client: PacketStream, hello: ClientHello, session: Session
    ) -> None:
        try:
            upstream = await self._connect(hello, session)
        except Refusal as refusal:
            session.event("upstream_refused", reason=refusal.message)
            await _send_error(client, refusal.name, refusal.message)
            await session.close(refusal.message)
            return
        reason = await self._relay(client, upstream, hello, session)
        await upstream.stream.close()
        await session.close(reason)

    async def _connect(self, hello: ClientHello, session: Session) -> Upstream:
        limits = self.context.limits
        try:
            upstream = await connect(
                self.settings,
                self._login(hello, session),
                limits.connect_timeout,
                limits.max_message_bytes,
            )
        except UpstreamError as exc:
            if exc.err is not None:
                raise Refusal(
                    "ER_ACCESS_DENIED_ERROR", f"upstream: {exc.err.message}", "upstream"
                ) from exc
            raise Refusal("CR_CONN_HOST_ERROR", f"wardgate: {exc.message}", "upstream") from exc
        self.template = upstream.handshake
        if (hello.capabilities ^ upstream.capabilities) & SHAPING:
            await upstream.stream.close()
            raise Refusal(
                "ER_HANDSHAKE_ERROR",
                "wardgate: the upstream does not support the capabilities this client negotiated",
                "upstream",
            )
        return upstream

    async def _relay(
        self, client: PacketStream, upstream: Upstream, hello: ClientHello, session: Session
    ) -> str:
        database = hello.response.database or self.settings.database
        try:
            relay = await self._new_relay(client, upstream, session, database)
        except (StreamClosed, MySQLProtocolError) as exc:
            await _send_error(client, "CR_SERVER_LOST", "wardgate: upstream lost at start-up")
            return f"upstream lost while reading sql_mode: {exc}"
        self.relays.add(relay)
        try:
            for direction, frame in login_frames(hello, upstream.ok):
                session.record(direction, frame)
            await client.send(upstream.ok)
            return await relay.run()
        except GateError as exc:  # the outcome could not be audited: withhold the result
            await _withhold(client, session, exc)
            return f"result withheld: {exc.message}"
        except StreamClosed:
            return "client disconnected"
        except ClientGone:
            return "client disconnected mid-result"
        except UpstreamLost as exc:
            await _send_error(client, "CR_SERVER_LOST", f"wardgate: {exc}")
            return str(exc)
        except MySQLProtocolError as exc:
            await _send_error(client, _name(exc), f"wardgate: {exc.message}")
            return f"protocol error: {exc.message}"
        finally:
            self.relays.discard(relay)

    # -- helpers -------------------------------------------------------------------------

    async def _new_relay(
        self, client: PacketStream, upstream: Upstream, session: Session, database: str
    ) -> Relay:
        """A relay that knows how the upstream session lexes (asked before the client
        can send anything) and which databases the resource serves."""
        quotes = await ansi_quotes(upstream.stream, upstream.capabilities)
        return Relay(
            client,
            upstream.stream,
            session,
            upstream.capabilities,
            database,
            status=_status(upstream),
            allows_database=self._allows_database,
            ansi_quotes=quotes,
        )

    def _allows_database(self, name: str) -> bool:
        return name == self.settings.database or self.context.gate.allows_database(name)

    def _login(self, hello: ClientHello, session: Session) -> Login:
        attributes = (
            *hello.response.attributes,
            ("wardgate_identity", session.identity.name),
            ("wardgate_session", session.id),
        )
        return Login(
            username=session.credential.username,
            password=session.credential.password,
            database=hello.response.database or self.settings.database,
            capabilities=hello.capabilities,
            charset=hello.response.charset,
            attributes=attributes,
        )

    def _offer(self, template: HandshakeV10) -> int:
        offer = RELAYABLE & template.capabilities | Capability.LONG_PASSWORD
        if self.context.server_tls is not None:
            offer |= Capability.SSL
        return offer

    async def _template(self) -> HandshakeV10:
        if self.template is None:
            limits = self.context.limits
            try:
                self.template = await probe(
                    self.settings, limits.connect_timeout, limits.max_message_bytes
                )
            except (UpstreamError, StreamClosed, MySQLProtocolError, TimeoutError):
                return DEFAULT_GREETING
        return self.template


def _status(upstream: Upstream) -> int:
    """The server status flags of the login OK (NO_BACKSLASH_ESCAPES …)."""
    try:
        return OkPacket.decode(upstream.ok, upstream.capabilities).status
    except MySQLProtocolError:
        return upstream.handshake.status


def _client_info(info: ClientInfo, hello: ClientHello) -> ClientInfo:
    attrs = dict(hello.response.attributes)
    return ClientInfo(
        address=info.address,
        port=info.port,
        user=hello.response.username,
        database=hello.response.database,
        application=attrs.get("program_name", ""),
        tls=hello.tls,
    )


def _name(exc: MySQLProtocolError) -> str:
    from wardgate_mysql.errcodes import ERRORS

    for name, (code, _, _) in ERRORS.items():
        if code == exc.code:
            return name
    return "ER_MALFORMED_PACKET"


def _gate_message(exc: GateError, hello: ClientHello) -> str:
    if isinstance(exc, AuthenticationFailed):
        return (
            f"Access denied for user '{hello.response.username}' (using token: "
            f"{'YES' if hello.token else 'NO'})"
        )
    return f"wardgate: {exc.message}"


async def _withhold(client: PacketStream, session: Session, exc: GateError) -> None:
    """`session.report` refused (audit unavailable): end the result with an ERR, close."""
    session.event("result_withheld", level="error", reason=exc.message)
    message = (
        "wardgate: the audit log is unavailable, so the result of this command was "
        f"withheld; the connection is closed ({exc.message})"
    )
    payload = err_payload("ER_UNKNOWN_ERROR", message)
    session.record(Direction.SERVER_TO_CLIENT, payload)
    await _send_error(client, "ER_UNKNOWN_ERROR", message)


async def _send_error(client: PacketStream, name: str, message: str) -> None:
    try:
        await client.send(err_payload(name, message))
    except StreamClosed:
        pass
