"""Primitive field encodings ("Basic Data Types" in the MySQL internals manual).

`Reader` walks a payload and raises `MalformedPacket` instead of IndexError; the
``put_*`` functions build payload pieces.
"""

from __future__ import annotations

from wardgate_mysql.codec.errors import MalformedPacket


class Reader:
    """A bounds-checked cursor over one packet payload."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str = "packet") -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise MalformedPacket(f"{self.what}: needs {n} bytes at offset {self.pos}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def lenenc_int(self) -> int | None:
        """A length-encoded integer; None for the NULL marker 0xFB."""
        first = self.uint(1)
        if first < 0xFB:
            return first
        if first == 0xFB:
            return None
        if first == 0xFC:
            return self.uint(2)
        if first == 0xFD:
            return self.uint(3)
        if first == 0xFE:
            return self.uint(8)
        raise MalformedPacket(f"{self.what}: 0xFF is not a length-encoded integer")

    def lenenc_bytes(self) -> bytes:
        length = self.lenenc_int()
        if length is None:
            raise MalformedPacket(f"{self.what}: unexpected NULL")
        return self.take(length)

    def lenenc_str(self) -> str:
        return self.lenenc_bytes().decode("utf-8", "replace")

    def nul_bytes(self) -> bytes:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise MalformedPacket(f"{self.what}: unterminated string at offset {self.pos}")
        chunk = self.data[self.pos : end]
        self.pos = end + 1
        return chunk

    def nul_str(self) -> str:
        return self.nul_bytes().decode("utf-8", "replace")

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def rest_str(self) -> str:
        return self.rest().decode("utf-8", "replace")


def put_int(value: int, n: int) -> bytes:
    return value.to_bytes(n, "little")


def put_lenenc_int(value: int) -> bytes:
    if value < 0xFB:
        return bytes((value,))
    if value < 1 << 16:
        return b"\xfc" + put_int(value, 2)
    if value < 1 << 24:
        return b"\xfd" + put_int(value, 3)
    return b"\xfe" + put_int(value, 8)


def put_lenenc_bytes(value: bytes) -> bytes:
    return put_lenenc_int(len(value)) + value


def put_lenenc_str(value: str) -> bytes:
    return put_lenenc_bytes(value.encode())


def put_nul_str(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if b"\0" in raw:
        raise ValueError("NUL inside a NUL-terminated string")
    return raw + b"\0"
