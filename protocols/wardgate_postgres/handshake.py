"""The client side of start-up: TLS negotiation, StartupMessage vetting, token.

"Start-up" (protocol 3.0): a client may first send SSLRequest or GSSENCRequest
(answered 'S' with TLS when the resource has it, otherwise 'N'; GSSAPI is always
'N'), or a CancelRequest on a fresh connection. The StartupMessage is then vetted
(startup_params) and the bearer token is taken with AuthenticationCleartextPassword —
only over TLS or from loopback, so a token never crosses a network in clear.
Nothing upstream is touched here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from dataclasses import dataclass

from wardgate.seam import ListenerContext
from wardgate_postgres import sqlstate
from wardgate_postgres.codec import (
    AuthenticationCleartextPassword,
    CancelRequest,
    FrameSplitter,
    GSSENCRequest,
    NegotiateProtocolVersion,
    PasswordMessage,
    ProtocolViolation,
    SSLRequest,
    StartupMessage,
    StartupSplitter,
    decode_frontend,
    decode_startup,
)
from wardgate_postgres.frames import fatal
from wardgate_postgres.startup_params import StartupRefused, VettedStartup, vet_startup

PROTOCOL_MAJOR = 3


class HandshakeRefused(Exception):
    """Start-up refused; `frame` is the FATAL ErrorResponse to send (may be empty)."""

    def __init__(self, reason: str, frame: bytes = b"", category: str = "protocol") -> None:
        super().__init__(reason)
        self.reason = reason
        self.frame = frame
        self.category = category


@dataclass(frozen=True, slots=True)
class ClientStartup:
    vetted: VettedStartup
    token: str
    tls: bool


def is_loopback(address: str) -> bool:
    if not address:
        return True  # a Unix socket peer
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(
    code: str, message: str, category: str = "protocol", hint: str | None = None
) -> HandshakeRefused:
    return HandshakeRefused(message, fatal(code, message, hint=hint), category)


async def _read_packet(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    splitter = StartupSplitter()
    while True:
        data = await reader.read(16384)
        if not data:
            raise HandshakeRefused("client closed the connection during start-up")
        packet = splitter.feed(data)
        if packet is not None:
            return packet, splitter.remainder()


async def _read_password(reader: asyncio.StreamReader, leftover: bytes) -> str:
    splitter = FrameSplitter(16384 + 64)
    frames = splitter.feed(leftover) if leftover else []
    while not frames:
        data = await reader.read(16384)
        if not data:
            raise HandshakeRefused("client closed the connection before sending its token")
        frames = splitter.feed(data)
    message = decode_frontend(frames[0])
    if not isinstance(message, PasswordMessage):
        raise _refuse(sqlstate.PROTOCOL_VIOLATION, "expected a password message")
    return message.password_text()


async def _upgrade(writer: asyncio.StreamWriter, context: ssl.SSLContext) -> None:
    writer.write(b"S")
    await writer.drain()
    try:
        await writer.start_tls(context)
    except (ssl.SSLError, OSError) as exc:
        raise HandshakeRefused(f"TLS handshake failed: {exc}") from None


def _check_transport(context: ListenerContext, tls: bool, peer: str) -> None:
    if context.tls_required and not tls:
        raise _refuse(
            sqlstate.INVALID_AUTHORIZATION_SPECIFICATION,
            "this wardgate resource requires TLS",
            "authentication",
            hint="connect with sslmode=require",
        )
    if not tls and not is_loopback(peer):
        raise _refuse(
            sqlstate.INVALID_AUTHORIZATION_SPECIFICATION,
            "wardgate takes tokens only over TLS or from loopback",
            "authentication",
            hint="configure tls on the resource and connect with sslmode=require",
        )


async def _startup_message(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: ListenerContext
) -> tuple[StartupMessage | CancelRequest, bytes, bool]:
    tls = False
    while True:
        packet, leftover = await _read_packet(reader)
        message = decode_startup(packet)
        if isinstance(message, SSLRequest | GSSENCRequest):
            if leftover:  # bytes pipelined before the handshake could be injected (CVE-2021-23214)
                raise _refuse(sqlstate.PROTOCOL_VIOLATION, "data received before TLS handshake")
            if isinstance(message, SSLRequest) and context.server_tls is not None and not tls:
                await _upgrade(writer, context.server_tls)
                tls = True
            else:
                writer.write(b"N")
                await writer.drain()
            continue
        return message, leftover, tls


async def client_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ListenerContext,
    peer: str,
) -> ClientStartup | CancelRequest:
    """Run start-up up to the token; raises HandshakeRefused or ProtocolViolation."""
    message, leftover, tls = await _startup_message(reader, writer, context)
    if isinstance(message, CancelRequest):
        return message
    if message.protocol >> 16 != PROTOCOL_MAJOR:
        raise _refuse(sqlstate.FEATURE_NOT_SUPPORTED, "unsupported frontend protocol")
    try:
        vetted = vet_startup(dict(message.parameters))
    except StartupRefused as exc:
        raise _refuse(exc.sqlstate, exc.message, "startup") from None
    if message.protocol & 0xFFFF or vetted.protocol_extensions:
        writer.write(NegotiateProtocolVersion(0, vetted.protocol_extensions).raw)
    _check_transport(context, tls, peer)
    writer.write(AuthenticationCleartextPassword().raw)
    await writer.drain()
    token = await _read_password(reader, leftover)
    return ClientStartup(vetted=vetted, token=token, tls=tls)


__all__ = ["ClientStartup", "HandshakeRefused", "ProtocolViolation", "client_handshake"]
