"""The client role toward the database: connect, TLS, authenticate.

Flow ("Connection Phase", MySQL internals manual): read HandshakeV10; if TLS is
wanted send SSLRequest and upgrade; send HandshakeResponse41 carrying the first
auth payload; then drive `client_exchange` (auth switches, caching_sha2 fast/full
path, ed25519) until the server's OK, which is returned for relaying to the client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from wardgate_mysql.codec.auth import (
    NATIVE,
    SUPPORTED,
    Exchange,
    UpstreamAuthError,
    client_exchange,
)
from wardgate_mysql.codec.constants import Capability
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.handshake import HandshakeResponse41, HandshakeV10, SSLRequest
from wardgate_mysql.codec.responses import ErrPacket, is_err
from wardgate_mysql.settings import MySQLUpstream
from wardgate_mysql.stream import PacketStream, StreamClosed


class UpstreamError(Exception):
    """The upstream could not be reached or refused us; `err` is relayable when set."""

    def __init__(self, message: str, err: ErrPacket | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.err = err


@dataclass(frozen=True, slots=True)
class Login:
    """What to present upstream for one client session."""

    username: str
    password: str
    database: str
    capabilities: int  # what the client negotiated with the gateway
    charset: int
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Upstream:
    stream: PacketStream
    handshake: HandshakeV10
    capabilities: int
    ok: bytes  # the server's final OK payload


async def open_stream(settings: MySQLUpstream, seconds: float, max_payload: int) -> PacketStream:
    try:
        if settings.unix_socket:
            connect = asyncio.open_unix_connection(settings.unix_socket)
        else:
            connect = asyncio.open_connection(settings.host, settings.port)
        reader, writer = await asyncio.wait_for(connect, seconds)
    except (OSError, TimeoutError) as exc:
        raise UpstreamError(f"cannot connect to upstream {settings.address}: {exc}") from exc
    return PacketStream(reader, writer, max_payload)


async def read_greeting(stream: PacketStream, seconds: float) -> HandshakeV10:
    packet = await asyncio.wait_for(stream.read(), seconds)
    if is_err(packet.payload):
        err = ErrPacket.decode(packet.payload)
        raise UpstreamError(f"upstream refused the connection: {err.message}", err)
    return HandshakeV10.decode(packet.payload)


def upstream_capabilities(login: Login, server: int, tls: bool) -> int:
    caps = login.capabilities & server
    caps |= Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH
    caps |= server & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA
    caps &= ~(Capability.SSL | Capability.CONNECT_WITH_DB | Capability.CONNECT_ATTRS)
    if tls:
        caps |= Capability.SSL
    if login.database:
        caps |= Capability.CONNECT_WITH_DB
    if login.attributes:
        caps |= server & Capability.CONNECT_ATTRS
    return caps


async def _maybe_tls(
    stream: PacketStream, settings: MySQLUpstream, greeting: HandshakeV10, login: Login
) -> bool:
    context = settings.ssl_context()
    offered = bool(greeting.capabilities & Capability.SSL)
    if context is None or (not offered and settings.tls == "prefer"):
        return False
    if not offered:
        raise UpstreamError(f"upstream {settings.address} does not offer TLS (tls: {settings.tls})")
    caps = upstream_capabilities(login, greeting.capabilities, True)
    stream.write(SSLRequest(caps, charset=login.charset).encode())
    hostname = settings.server_name or settings.host if settings.tls == "verify-full" else None
    try:
        await stream.start_tls(context, server_side=False, server_hostname=hostname)
    except (OSError, ConnectionError, StreamClosed) as exc:
        raise UpstreamError(f"TLS with upstream {settings.address} failed: {exc}") from exc
    return True


async def authenticate(
    stream: PacketStream, settings: MySQLUpstream, greeting: HandshakeV10, login: Login
) -> Upstream:
    tls = await _maybe_tls(stream, settings, greeting, login)
    caps = upstream_capabilities(login, greeting.capabilities, tls)
    plugin = greeting.auth_plugin if greeting.auth_plugin in SUPPORTED else NATIVE
    secure = tls or bool(settings.unix_socket)
    exchange = client_exchange(plugin, login.password.encode(), greeting.nonce, secure)
    try:
        first = next(exchange)
        response = HandshakeResponse41(
            caps,
            login.username,
            first or b"",
            login.database,
            plugin,
            login.attributes,
            charset=login.charset,
        )
        stream.write(response.encode())
        ok = await _drive(stream, exchange)
    except UpstreamAuthError as exc:
        raise UpstreamError(exc.message, exc.err) from exc
    return Upstream(stream, greeting, caps, ok)


async def _drive(stream: PacketStream, exchange: Exchange) -> bytes:
    await stream.flush()
    while True:
        reply = (await stream.read()).payload
        try:
            answer = exchange.send(reply)
        except StopIteration as stop:
            return bytes(stop.value)
        if answer is not None:
            await stream.send(answer)


async def connect(
    settings: MySQLUpstream, login: Login, seconds: float, max_payload: int
) -> Upstream:
    """Open, secure and authenticate one upstream connection (closed on failure)."""
    stream = await open_stream(settings, seconds, max_payload)
    try:
        greeting = await read_greeting(stream, seconds)
        return await asyncio.wait_for(authenticate(stream, settings, greeting, login), seconds)
    except (StreamClosed, MySQLProtocolError, TimeoutError) as exc:
        await stream.close()
        raise UpstreamError(f"upstream {settings.address}: {exc or 'timed out'}") from exc
    except BaseException:
        await stream.close()
        raise


async def probe(settings: MySQLUpstream, seconds: float, max_payload: int) -> HandshakeV10:
    """Read the upstream's greeting without logging in (server version and capabilities)."""
    stream = await open_stream(settings, seconds, max_payload)
    try:
        return await read_greeting(stream, seconds)
    finally:
        await stream.close()
