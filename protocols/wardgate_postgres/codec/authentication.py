"""The backend's Authentication* family: every 'R' message, told apart by an Int32 code.

"Message Formats" (protocol 3.0): 0 Ok, 3 CleartextPassword, 5 MD5Password (Byte4
salt), 10 SASL (list of mechanism names, ended by an empty string), 11 SASLContinue
and 12 SASLFinal (mechanism data). Kerberos, GSS and SSPI codes (2, 7, 8, 9) are
kept as `AuthenticationOther(code, data)` so the relay can refuse them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .message import Message
from .wire import INT32, Reader, cstr

AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12

SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS"


class _Auth(Message):
    __slots__ = ()
    TYPE: ClassVar[int] = ord("R")
    CODE: ClassVar[int]

    def body(self) -> bytes:
        return INT32.pack(self.CODE) + self.payload()

    def payload(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class AuthenticationOk(_Auth):
    CODE: ClassVar[int] = AUTH_OK
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class AuthenticationCleartextPassword(_Auth):
    CODE: ClassVar[int] = AUTH_CLEARTEXT
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class AuthenticationMD5Password(_Auth):
    CODE: ClassVar[int] = AUTH_MD5
    salt: bytes
    raw: bytes = field(default=b"", repr=False)

    def payload(self) -> bytes:
        if len(self.salt) != 4:
            raise ValueError("MD5 salt must be 4 bytes")
        return self.salt


@dataclass(frozen=True, slots=True)
class AuthenticationSASL(_Auth):
    CODE: ClassVar[int] = AUTH_SASL
    mechanisms: tuple[str, ...]
    raw: bytes = field(default=b"", repr=False)

    def payload(self) -> bytes:
        return b"".join(cstr(m) for m in self.mechanisms) + b"\x00"


@dataclass(frozen=True, slots=True)
class AuthenticationSASLContinue(_Auth):
    CODE: ClassVar[int] = AUTH_SASL_CONTINUE
    data: bytes
    raw: bytes = field(default=b"", repr=False)

    def payload(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class AuthenticationSASLFinal(_Auth):
    CODE: ClassVar[int] = AUTH_SASL_FINAL
    data: bytes
    raw: bytes = field(default=b"", repr=False)

    def payload(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class AuthenticationOther(Message):
    """Any other authentication request (Kerberos, GSS, SSPI, SCM …)."""

    TYPE: ClassVar[int] = ord("R")
    code: int
    data: bytes = b""
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return INT32.pack(self.code) + self.data


Authentication = (
    AuthenticationOk
    | AuthenticationCleartextPassword
    | AuthenticationMD5Password
    | AuthenticationSASL
    | AuthenticationSASLContinue
    | AuthenticationSASLFinal
    | AuthenticationOther
)


def decode_authentication(r: Reader, raw: bytes) -> Authentication:
    """Decode an 'R' body (the reader is positioned at the Int32 code)."""
    code = r.int32()
    if code == AUTH_OK:
        return AuthenticationOk(raw)
    if code == AUTH_CLEARTEXT:
        return AuthenticationCleartextPassword(raw)
    if code == AUTH_MD5:
        return AuthenticationMD5Password(r.raw(4), raw)
    if code == AUTH_SASL:
        return AuthenticationSASL(_mechanisms(r), raw)
    if code == AUTH_SASL_CONTINUE:
        return AuthenticationSASLContinue(r.rest(), raw)
    if code == AUTH_SASL_FINAL:
        return AuthenticationSASLFinal(r.rest(), raw)
    return AuthenticationOther(code, r.rest(), raw)


def _mechanisms(r: Reader) -> tuple[str, ...]:
    names: list[str] = []
    while name := r.cstr():
        names.append(name)
    return tuple(names)
