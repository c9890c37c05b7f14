"""Connection-phase packets ("Connection Phase Packets", MySQL internals manual).

HandshakeV10 (server greeting), HandshakeResponse41 and SSLRequest (client),
AuthSwitchRequest, AuthMoreData (server) and the client's raw auth replies.
Each dataclass keeps the payload it was decoded from in `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardgate_mysql.codec.constants import (
    AUTH_MORE_DATA_HEADER,
    AUTH_SWITCH_HEADER,
    Capability,
)
from wardgate_mysql.codec.errors import MalformedPacket
from wardgate_mysql.codec.wire import (
    Reader,
    put_int,
    put_lenenc_bytes,
    put_lenenc_int,
    put_nul_str,
)

PROTOCOL_VERSION = 10
SSL_REQUEST_SIZE = 32


@dataclass(frozen=True, slots=True)
class HandshakeV10:
    server_version: str
    connection_id: int
    nonce: bytes
    capabilities: int
    charset: int = 45
    status: int = 0x0002
    auth_plugin: str = "mysql_native_password"
    mariadb_capabilities: int = 0
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> HandshakeV10:
        r = Reader(payload, "HandshakeV10")
        if r.uint(1) != PROTOCOL_VERSION:
            raise MalformedPacket("HandshakeV10: unsupported protocol version")
        version, conn_id, part1 = r.nul_str(), r.uint(4), r.take(8)
        r.take(1)
        caps = r.uint(2)
        charset, status = r.uint(1), r.uint(2)
        caps |= r.uint(2) << 16
        data_len = r.uint(1)
        r.take(6)
        mariadb_caps = r.uint(4)
        part2 = b""
        if caps & Capability.SECURE_CONNECTION:
            part2 = r.take(max(13, data_len - 8))[:-1]
        plugin = r.nul_str() if caps & Capability.PLUGIN_AUTH and not r.at_end() else ""
        return cls(
            version, conn_id, part1 + part2, caps, charset, status, plugin, mariadb_caps, payload
        )

    def encode(self) -> bytes:
        caps = self.capabilities
        part1, part2 = self.nonce[:8], self.nonce[8:]
        return b"".join(
            (
                bytes((PROTOCOL_VERSION,)),
                put_nul_str(self.server_version),
                put_int(self.connection_id, 4),
                part1,
                b"\0",
                put_int(caps & 0xFFFF, 2),
                put_int(self.charset, 1),
                put_int(self.status, 2),
                put_int(caps >> 16, 2),
                put_int(len(self.nonce) + 1 if caps & Capability.PLUGIN_AUTH else 0, 1),
                bytes(6),
                put_int(self.mariadb_capabilities, 4),
                part2 + b"\0" if caps & Capability.SECURE_CONNECTION else b"",
                put_nul_str(self.auth_plugin) if caps & Capability.PLUGIN_AUTH else b"",
            )
        )


@dataclass(frozen=True, slots=True)
class SSLRequest:
    capabilities: int
    max_packet: int = 1 << 24
    charset: int = 45
    mariadb_capabilities: int = 0
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> SSLRequest:
        r = Reader(payload, "SSLRequest")
        caps, max_packet, charset = r.uint(4), r.uint(4), r.uint(1)
        r.take(19)
        return cls(caps, max_packet, charset, r.uint(4), payload)

    def encode(self) -> bytes:
        return b"".join(
            (
                put_int(self.capabilities, 4),
                put_int(self.max_packet, 4),
                put_int(self.charset, 1),
                bytes(19),
                put_int(self.mariadb_capabilities, 4),
            )
        )


@dataclass(frozen=True, slots=True)
class HandshakeResponse41:
    capabilities: int
    username: str
    auth_response: bytes = b""
    database: str = ""
    auth_plugin: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    max_packet: int = 1 << 24
    charset: int = 45
    mariadb_capabilities: int = 0
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> HandshakeResponse41:
        r = Reader(payload, "HandshakeResponse41")
        caps, max_packet, charset = r.uint(4), r.uint(4), r.uint(1)
        if not caps & Capability.PROTOCOL_41:
            raise MalformedPacket("HandshakeResponse: pre-4.1 clients are not supported")
        r.take(19)
        mariadb_caps = r.uint(4)
        username = r.nul_str()
        auth = _decode_auth_response(r, caps)
        database = r.nul_str() if caps & Capability.CONNECT_WITH_DB and not r.at_end() else ""
        plugin = r.nul_str() if caps & Capability.PLUGIN_AUTH and not r.at_end() else ""
        attrs = _decode_attributes(r) if caps & Capability.CONNECT_ATTRS and not r.at_end() else ()
        return cls(
            caps,
            username,
            auth,
            database,
            plugin,
            attrs,
            max_packet,
            charset,
            mariadb_caps,
            payload,
        )

    def encode(self) -> bytes:
        caps = self.capabilities
        head = SSLRequest(caps, self.max_packet, self.charset, self.mariadb_capabilities)
        parts = [head.encode(), put_nul_str(self.username), _encode_auth_response(self, caps)]
        if caps & Capability.CONNECT_WITH_DB:
            parts.append(put_nul_str(self.database))
        if caps & Capability.PLUGIN_AUTH:
            parts.append(put_nul_str(self.auth_plugin))
        if caps & Capability.CONNECT_ATTRS:
            body = b"".join(
                put_lenenc_bytes(k.encode()) + put_lenenc_bytes(v.encode())
                for k, v in self.attributes
            )
            parts.append(put_lenenc_int(len(body)) + body)
        return b"".join(parts)


def _decode_auth_response(r: Reader, caps: int) -> bytes:
    if caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA:
        return r.lenenc_bytes()
    if caps & Capability.SECURE_CONNECTION:
        return r.take(r.uint(1))
    return r.nul_bytes()


def _encode_auth_response(response: HandshakeResponse41, caps: int) -> bytes:
    data = response.auth_response
    if caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA:
        return put_lenenc_bytes(data)
    if caps & Capability.SECURE_CONNECTION:
        if len(data) > 255:
            raise ValueError("auth response longer than 255 bytes needs LENENC_CLIENT_DATA")
        return bytes((len(data),)) + data
    return put_nul_str(data)


def _decode_attributes(r: Reader) -> tuple[tuple[str, str], ...]:
    body = Reader(r.lenenc_bytes(), "connection attributes")
    attrs: list[tuple[str, str]] = []
    while not body.at_end():
        attrs.append((body.lenenc_str(), body.lenenc_str()))
    return tuple(attrs)


def is_ssl_request(payload: bytes) -> bool:
    """A client's first packet is an SSLRequest when it is exactly 32 bytes with CLIENT_SSL."""
    return len(payload) == SSL_REQUEST_SIZE and bool(
        int.from_bytes(payload[:4], "little") & Capability.SSL
    )


@dataclass(frozen=True, slots=True)
class AuthSwitchRequest:
    plugin: str
    data: bytes = b""
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> AuthSwitchRequest:
        r = Reader(payload, "AuthSwitchRequest")
        if r.uint(1) != AUTH_SWITCH_HEADER:
            raise MalformedPacket("AuthSwitchRequest: bad header")
        if r.at_end():
            raise MalformedPacket("AuthSwitchRequest: old password protocol is not supported")
        plugin = r.nul_str()
        data = r.rest()
        return cls(plugin, data[:-1] if data.endswith(b"\0") else data, payload)

    def encode(self) -> bytes:
        return bytes((AUTH_SWITCH_HEADER,)) + put_nul_str(self.plugin) + self.data + b"\0"


@dataclass(frozen=True, slots=True)
class AuthMoreData:
    data: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> AuthMoreData:
        if not payload or payload[0] != AUTH_MORE_DATA_HEADER:
            raise MalformedPacket("AuthMoreData: bad header")
        return cls(payload[1:], payload)

    def encode(self) -> bytes:
        return bytes((AUTH_MORE_DATA_HEADER,)) + self.data
