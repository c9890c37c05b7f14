"""MD5 password authentication ("AuthenticationMD5Password", protocol 3.0).

The client answers ``AuthenticationMD5Password(salt)`` with a PasswordMessage
holding ``"md5" + md5_hex(md5_hex(password + user) + salt)`` — see "Password
Authentication" in the PostgreSQL documentation. Weak; kept for old upstreams.
"""

from __future__ import annotations

import hashlib


def md5_password(user: str, password: str, salt: bytes) -> bytes:
    """The md5-hashed password text to send (without the NUL terminator)."""
    if len(salt) != 4:
        raise ValueError("MD5 salt must be 4 bytes")
    inner = hashlib.md5((password + user).encode("utf-8"), usedforsecurity=False).hexdigest()
    outer = hashlib.md5(inner.encode("ascii") + salt, usedforsecurity=False).hexdigest()
    return b"md5" + outer.encode("ascii")
