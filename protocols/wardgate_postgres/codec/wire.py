"""Primitive wire types of protocol 3.0: reading and writing message bodies.

Implements the data types of "Message Data Types" (Int8/16/32, String, Byte_n) in
the PostgreSQL documentation, chapter "Frontend/Backend Protocol". `Reader` walks
one message body and turns every overrun, missing terminator or bad UTF-8 into a
`ProtocolViolation` naming the message, so no low-level exception escapes a decoder.
Counts are read as unsigned 16-bit (as the server's ``pq_getmsgint`` does); format
codes as signed 16-bit; lengths as signed 32-bit where -1 means NULL; OIDs unsigned.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .errors import ProtocolViolation

INT16 = struct.Struct("!h")
UINT16 = struct.Struct("!H")
INT32 = struct.Struct("!i")
UINT32 = struct.Struct("!I")
HEADER = struct.Struct("!Bi")

Buffer = bytes | bytearray | memoryview


class Reader:
    """A cursor over one message body; every read is bounds-checked."""

    __slots__ = ("_buf", "_pos", "_what")

    def __init__(self, buf: bytes, what: str) -> None:
        self._buf = buf
        self._pos = 0
        self._what = what

    def fail(self, reason: str) -> ProtocolViolation:
        return ProtocolViolation(f"malformed {self._what} message: {reason}")

    def _take(self, n: int) -> bytes:
        end = self._pos + n
        if n < 0 or end > len(self._buf):
            raise self.fail("truncated")
        chunk = self._buf[self._pos : end]
        self._pos = end
        return chunk

    def byte(self) -> int:
        return self._take(1)[0]

    def int16(self) -> int:
        value: int = INT16.unpack(self._take(2))[0]
        return value

    def count16(self) -> int:
        value: int = UINT16.unpack(self._take(2))[0]
        return value

    def int32(self) -> int:
        value: int = INT32.unpack(self._take(4))[0]
        return value

    def uint32(self) -> int:
        value: int = UINT32.unpack(self._take(4))[0]
        return value

    def raw(self, n: int) -> bytes:
        return self._take(n)

    def cbytes(self) -> bytes:
        """A NUL-terminated String, without its terminator."""
        end = self._buf.find(b"\x00", self._pos)
        if end < 0:
            raise self.fail("string is missing its NUL terminator")
        chunk = self._buf[self._pos : end]
        self._pos = end + 1
        return chunk

    def cstr(self) -> str:
        return self.text(self.cbytes())

    def text(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("invalid UTF-8") from None

    def value(self) -> bytes | None:
        """An Int32 length (-1 for NULL) followed by that many bytes."""
        length = self.int32()
        if length == -1:
            return None
        if length < 0:
            raise self.fail(f"negative length {length}")
        return self._take(length)

    def rest(self) -> bytes:
        chunk = self._buf[self._pos :]
        self._pos = len(self._buf)
        return chunk

    def at_end(self) -> bool:
        return self._pos >= len(self._buf)

    def end(self) -> None:
        """Require the body to be fully consumed (the server's ``pq_getmsgend``)."""
        if self._pos != len(self._buf):
            raise self.fail(f"{len(self._buf) - self._pos} unexpected trailing bytes")


def frame(type_code: int, body: bytes) -> bytes:
    """Type byte + Int32 length (including itself) + body."""
    return HEADER.pack(type_code, len(body) + 4) + body


def cstr(text: str) -> bytes:
    """Encode a String; an embedded NUL would corrupt the frame, so refuse it."""
    data = text.encode("utf-8")
    if b"\x00" in data:
        raise ValueError("string contains a NUL byte")
    return data + b"\x00"


def cbytes(data: bytes) -> bytes:
    if b"\x00" in data:
        raise ValueError("string contains a NUL byte")
    return data + b"\x00"


def value(data: bytes | None) -> bytes:
    """Int32 length + bytes, or -1 for NULL."""
    if data is None:
        return INT32.pack(-1)
    return INT32.pack(len(data)) + data


def int16s(values: Iterable[int]) -> bytes:
    items = tuple(values)
    return UINT16.pack(len(items)) + struct.pack(f"!{len(items)}h", *items)


def oids(values: Iterable[int]) -> bytes:
    items = tuple(values)
    return UINT16.pack(len(items)) + struct.pack(f"!{len(items)}I", *items)


def values(items: Iterable[bytes | None]) -> bytes:
    parts = [value(item) for item in items]
    return UINT16.pack(len(parts)) + b"".join(parts)
