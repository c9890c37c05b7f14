"""Generic response packets: OK, ERR, EOF and the LOCAL INFILE request.

With CLIENT_DEPRECATE_EOF a result set ends with an OK packet whose header is 0xFE
instead of an EOF packet; both are recognised by `is_terminator` (a 0xFE header on a
payload shorter than one full frame, so a text row whose first value is 16 MiB or
longer is never mistaken for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardgate_mysql.codec.constants import (
    EOF_HEADER,
    ERR_HEADER,
    LOCAL_INFILE_HEADER,
    MAX_PAYLOAD,
    OK_HEADER,
    Capability,
    Status,
)
from wardgate_mysql.codec.errors import MalformedPacket
from wardgate_mysql.codec.wire import Reader, put_int, put_lenenc_int, put_lenenc_str


@dataclass(frozen=True, slots=True)
class OkPacket:
    affected_rows: int = 0
    last_insert_id: int = 0
    status: int = Status.AUTOCOMMIT
    warnings: int = 0
    info: str = ""
    session_state: bytes = b""
    header: int = OK_HEADER
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes, caps: int) -> OkPacket:
        r = Reader(payload, "OK")
        header = r.uint(1)
        if header not in (OK_HEADER, EOF_HEADER):
            raise MalformedPacket("OK: bad header")
        affected, insert_id = _lenenc(r), _lenenc(r)
        status, warnings = r.uint(2), r.uint(2)
        info, state = _decode_info(r, caps, status)
        return cls(affected, insert_id, status, warnings, info, state, header, payload)

    def encode(self, caps: int) -> bytes:
        parts = [
            bytes((self.header,)),
            put_lenenc_int(self.affected_rows),
            put_lenenc_int(self.last_insert_id),
            put_int(self.status, 2),
            put_int(self.warnings, 2),
        ]
        if caps & Capability.SESSION_TRACK:
            if self.info or self.session_state or self.status & Status.SESSION_STATE_CHANGED:
                parts.append(put_lenenc_str(self.info))
            if self.status & Status.SESSION_STATE_CHANGED:
                parts.append(put_lenenc_int(len(self.session_state)) + self.session_state)
        else:
            parts.append(self.info.encode())
        return b"".join(parts)


def _lenenc(r: Reader) -> int:
    value = r.lenenc_int()
    if value is None:
        raise MalformedPacket(f"{r.what}: unexpected NULL")
    return value


def _decode_info(r: Reader, caps: int, status: int) -> tuple[str, bytes]:
    if not caps & Capability.SESSION_TRACK:
        return r.rest_str(), b""
    if r.at_end():
        return "", b""
    info = r.lenenc_str()
    state = r.lenenc_bytes() if status & Status.SESSION_STATE_CHANGED and not r.at_end() else b""
    return info, state


@dataclass(frozen=True, slots=True)
class ErrPacket:
    code: int
    message: str
    sqlstate: str = "HY000"
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> ErrPacket:
        r = Reader(payload, "ERR")
        if r.uint(1) != ERR_HEADER:
            raise MalformedPacket("ERR: bad header")
        code = r.uint(2)
        state = "HY000"
        if not r.at_end() and r.data[r.pos] == ord("#"):
            r.take(1)
            state = r.take(5).decode("ascii", "replace")
        return cls(code, r.rest_str(), state, payload)

    def encode(self) -> bytes:
        state = self.sqlstate.encode("ascii")
        if len(state) != 5:
            raise ValueError("SQLSTATE must be five characters")
        return b"\xff" + put_int(self.code, 2) + b"#" + state + self.message.encode()


@dataclass(frozen=True, slots=True)
class EofPacket:
    warnings: int = 0
    status: int = Status.AUTOCOMMIT
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> EofPacket:
        r = Reader(payload, "EOF")
        if r.uint(1) != EOF_HEADER or len(payload) >= 9:
            raise MalformedPacket("EOF: bad header")
        return cls(r.uint(2), r.uint(2), payload)

    def encode(self) -> bytes:
        return b"\xfe" + put_int(self.warnings, 2) + put_int(self.status, 2)


@dataclass(frozen=True, slots=True)
class LocalInfileRequest:
    filename: str
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> LocalInfileRequest:
        if not payload or payload[0] != LOCAL_INFILE_HEADER:
            raise MalformedPacket("LOCAL INFILE request: bad header")
        return cls(payload[1:].decode("utf-8", "replace"), payload)

    def encode(self) -> bytes:
        return b"\xfb" + self.filename.encode()


def is_terminator(payload: bytes) -> bool:
    """An EOF packet, or an OK packet standing in for one (CLIENT_DEPRECATE_EOF)."""
    return bool(payload) and payload[0] == EOF_HEADER and len(payload) < MAX_PAYLOAD


def is_err(payload: bytes) -> bool:
    return bool(payload) and payload[0] == ERR_HEADER


def is_ok(payload: bytes) -> bool:
    return bool(payload) and payload[0] == OK_HEADER


def terminator_status(payload: bytes, caps: int) -> int:
    """The server status flags carried by an EOF or EOF-replacing OK packet."""
    if caps & Capability.DEPRECATE_EOF:
        return OkPacket.decode(payload, caps).status
    return EofPacket.decode(payload).status
