"""The server role toward the client: greeting, TLS, and taking the token.

Flow: send HandshakeV10 (a gateway connection id and nonce; the upstream's version,
charset and status as last seen; capabilities limited to what the relay can pass
through); accept an optional SSLRequest and upgrade; read HandshakeResponse41; then
switch the client to `mysql_clear_password` (unless it already used it) and read the
token. Cleartext is refused unless the connection is TLS or comes from loopback.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass

from wardgate_mysql.codec.auth import CLEAR, NATIVE
from wardgate_mysql.codec.constants import REQUIRED_FROM_CLIENT, Capability
from wardgate_mysql.codec.errors import MalformedPacket, MySQLProtocolError
from wardgate_mysql.codec.handshake import (
    AuthSwitchRequest,
    HandshakeResponse41,
    HandshakeV10,
    is_ssl_request,
)
from wardgate_mysql.stream import PacketStream


class HandshakeRefused(MySQLProtocolError):
    """A client we will not serve; the message is sent to it as an ERR packet."""


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The client's login, with the token it presented as its password."""

    response: HandshakeResponse41
    token: str
    capabilities: int  # negotiated: what the client asked for, within the offer
    tls: bool
    greeting: HandshakeV10 | None = None  # what the client was sent (recorded, replayed)


def make_nonce() -> bytes:
    """20 random bytes, none NUL (older clients read the nonce as a C string)."""
    return bytes(1 + b % 127 for b in os.urandom(20))


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address in ("local", "localhost")  # unix sockets


def greeting(template: HandshakeV10, connection_id: int, offer: int) -> HandshakeV10:
    return HandshakeV10(
        server_version=template.server_version,
        connection_id=connection_id,
        nonce=make_nonce(),
        capabilities=offer,
        charset=template.charset,
        status=template.status,
        auth_plugin=NATIVE,
    )


async def accept(
    client: PacketStream,
    hello: HandshakeV10,
    server_tls: ssl.SSLContext | None,
    tls_required: bool,
) -> ClientHello:
    client.write(hello.encode())
    await client.flush()
    packet = await client.read()
    if is_ssl_request(packet.payload):
        if server_tls is None:
            raise HandshakeRefused("TLS is not configured for this resource", "ER_HANDSHAKE_ERROR")
        await client.start_tls(server_tls, server_side=True)
        packet = await client.read()
    response = HandshakeResponse41.decode(packet.payload)
    tls = client.tls
    _check_client(response, tls, tls_required, client.peer()[0])
    token = await _take_token(client, response)
    return ClientHello(response, token, response.capabilities & hello.capabilities, tls, hello)


def _check_client(response: HandshakeResponse41, tls: bool, required: bool, address: str) -> None:
    if response.capabilities & REQUIRED_FROM_CLIENT != REQUIRED_FROM_CLIENT:
        raise HandshakeRefused(
            "client does not speak protocol 4.1 with secure connection",
            "ER_NOT_SUPPORTED_AUTH_MODE",
        )
    if required and not tls:
        raise HandshakeRefused(
            "this resource requires TLS: connect with SSL enabled", "ER_ACCESS_DENIED_ERROR"
        )
    if not tls and not is_loopback(address):
        raise HandshakeRefused(
            "wardgate takes the token as a cleartext password (mysql_clear_password) and "
            "refuses it without TLS from a non-loopback address: connect with SSL",
            "ER_ACCESS_DENIED_ERROR",
        )


async def _take_token(client: PacketStream, response: HandshakeResponse41) -> str:
    if response.auth_plugin == CLEAR:
        return _token(response.auth_response)
    if not response.capabilities & Capability.PLUGIN_AUTH:
        raise HandshakeRefused(
            "client cannot switch to mysql_clear_password", "ER_NOT_SUPPORTED_AUTH_MODE"
        )
    await client.send(AuthSwitchRequest(CLEAR).encode())
    reply = await client.read()
    return _token(reply.payload)


def _token(data: bytes) -> str:
    raw = data[:-1] if data.endswith(b"\0") else data
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPacket("the password (token) is not UTF-8") from exc
