"""Authentication methods as pure functions, and the client side of the auth exchange.

Implements, from the MySQL internals manual ("Authentication Methods") and MariaDB's
documentation: mysql_native_password, caching_sha2_password (fast path; full path by
cleartext over a secure transport or RSA-OAEP with the server's public key),
client_ed25519 and mysql_clear_password.

`client_exchange` is a generator that plays the client role for one connection: its
first value is the auth response for HandshakeResponse41; then each server packet is
sent into it and it yields the payload to send back (or None to just read on),
following auth switches, until it returns the server's OK payload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wardgate_mysql.codec import ed25519
from wardgate_mysql.codec.constants import AUTH_MORE_DATA_HEADER, AUTH_SWITCH_HEADER
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.handshake import AuthMoreData, AuthSwitchRequest
from wardgate_mysql.codec.responses import ErrPacket, is_err, is_ok

NATIVE = "mysql_native_password"
CACHING_SHA2 = "caching_sha2_password"
ED25519 = "client_ed25519"
CLEAR = "mysql_clear_password"
SUPPORTED = (NATIVE, CACHING_SHA2, ED25519, CLEAR)

REQUEST_PUBLIC_KEY = b"\x02"
FAST_AUTH_OK = b"\x03"
FULL_AUTH = b"\x04"


class UpstreamAuthError(MySQLProtocolError):
    """The upstream refused or could not complete authentication; `err` is relayable."""

    def __init__(self, message: str, err: ErrPacket | None = None) -> None:
        super().__init__(message, "ER_ACCESS_DENIED_ERROR")
        self.err = err


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(data))


def native_scramble(password: bytes, nonce: bytes) -> bytes:
    """SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password)))."""
    if not password:
        return b""
    stage1 = hashlib.sha1(password).digest()
    stage2 = hashlib.sha1(stage1).digest()
    return _xor(stage1, hashlib.sha1(nonce[:20] + stage2).digest())


def sha2_scramble(password: bytes, nonce: bytes) -> bytes:
    """XOR(SHA256(password), SHA256(SHA256(SHA256(password)), nonce))."""
    if not password:
        return b""
    stage1 = hashlib.sha256(password).digest()
    stage2 = hashlib.sha256(stage1).digest()
    return _xor(stage1, hashlib.sha256(stage2 + nonce[:20]).digest())


def rsa_encrypt_password(password: bytes, nonce: bytes, pem: bytes) -> bytes:
    """caching_sha2 full path without TLS: RSA-OAEP(SHA-1) of (password\\0 XOR nonce)."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise UpstreamAuthError("server public key is not an RSA key")
    oaep = padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
    return key.encrypt(_xor(password + b"\0", nonce[:20]), oaep)


def initial_response(plugin: str, password: bytes, nonce: bytes, secure: bool) -> bytes:
    """The first auth payload for `plugin` given the server's nonce."""
    if plugin == NATIVE:
        return native_scramble(password, nonce)
    if plugin == CACHING_SHA2:
        return sha2_scramble(password, nonce)
    if plugin == ED25519:
        return ed25519.sign(password, nonce[:32])
    if plugin == CLEAR:
        if not secure:
            raise UpstreamAuthError("upstream asks for a cleartext password without TLS")
        return password + b"\0"
    raise UpstreamAuthError(f"upstream authentication plugin {plugin!r} is not supported")


Exchange = Generator[bytes | None, bytes, bytes]


def client_exchange(plugin: str, password: bytes, nonce: bytes, secure: bool) -> Exchange:
    reply = yield initial_response(plugin, password, nonce, secure)
    while not is_ok(reply):
        if is_err(reply):
            err = ErrPacket.decode(reply)
            raise UpstreamAuthError(f"upstream refused authentication: {err.message}", err)
        if reply[:1] == bytes((AUTH_SWITCH_HEADER,)):
            switch = AuthSwitchRequest.decode(reply)
            plugin, nonce = switch.plugin, switch.data
            reply = yield initial_response(plugin, password, nonce, secure)
        elif reply[:1] == bytes((AUTH_MORE_DATA_HEADER,)) and plugin == CACHING_SHA2:
            reply = yield from _sha2_more(AuthMoreData.decode(reply).data, password, nonce, secure)
        else:
            raise UpstreamAuthError(f"unexpected packet during {plugin} authentication")
    return reply


def _sha2_more(data: bytes, password: bytes, nonce: bytes, secure: bool) -> Exchange:
    """caching_sha2_password after the scramble: fast-auth success or the full path."""
    if data == FAST_AUTH_OK:
        return (yield None)
    if data != FULL_AUTH:
        raise UpstreamAuthError("unexpected caching_sha2_password server data")
    if secure:
        return (yield password + b"\0")
    key = yield REQUEST_PUBLIC_KEY
    if is_err(key):
        return key
    pem = AuthMoreData.decode(key).data
    return (yield rsa_encrypt_password(password, nonce, pem))
