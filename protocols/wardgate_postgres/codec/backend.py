"""Backend (server → client) messages of protocol 3.0 and their decoder.

"Message Formats" in the PostgreSQL documentation, every message marked (B). The
Authentication family lives in `authentication`, Error/NoticeResponse in `notice`,
DataRow and its per-row fast path in `datarow`, CopyData/CopyDone in `copy`; this
module holds the rest and `decode_backend`, which dispatches on the type byte
through a table and raises `UnknownMessage(phase="backend")` for anything else.
Bodies are checked strictly (overruns, missing NULs, trailing bytes, bad UTF-8 are
`ProtocolViolation`): a relay that decodes a server message to mask or audit it
must never guess.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from .authentication import (
    AuthenticationCleartextPassword,
    AuthenticationMD5Password,
    AuthenticationOk,
    AuthenticationOther,
    AuthenticationSASL,
    AuthenticationSASLContinue,
    AuthenticationSASLFinal,
    decode_authentication,
)
from .copy import CopyData, CopyDone
from .datarow import DataRow, datarow_values
from .errors import UnknownMessage
from .framing import Frame
from .message import Empty, Message
from .notice import ErrorResponse, NoticeResponse, decode_fields
from .wire import INT32, UINT16, Reader, cstr, int16s, oids, value

_KEY = struct.Struct("!ii")
_FIELD = struct.Struct("!IhIhih")


@dataclass(frozen=True, slots=True)
class ParameterStatus(Message):
    TYPE: ClassVar[int] = ord("S")
    name: str
    value: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return cstr(self.name) + cstr(self.value)


@dataclass(frozen=True, slots=True)
class BackendKeyData(Message):
    TYPE: ClassVar[int] = ord("K")
    process_id: int
    secret_key: int = field(repr=False)
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return _KEY.pack(self.process_id, self.secret_key)


@dataclass(frozen=True, slots=True)
class FieldDescription:
    """One column of a RowDescription (table_oid/column_number 0 if not a column)."""

    name: str
    table_oid: int = 0
    column_number: int = 0
    type_oid: int = 25
    type_size: int = -1
    type_modifier: int = -1
    format: int = 0

    def encode(self) -> bytes:
        return cstr(self.name) + _FIELD.pack(
            self.table_oid,
            self.column_number,
            self.type_oid,
            self.type_size,
            self.type_modifier,
            self.format,
        )


@dataclass(frozen=True, slots=True)
class RowDescription(Message):
    TYPE: ClassVar[int] = ord("T")
    fields: tuple[FieldDescription, ...]
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return UINT16.pack(len(self.fields)) + b"".join(f.encode() for f in self.fields)


@dataclass(frozen=True, slots=True)
class CommandComplete(Message):
    TYPE: ClassVar[int] = ord("C")
    tag: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return cstr(self.tag)


@dataclass(frozen=True, slots=True)
class NotificationResponse(Message):
    TYPE: ClassVar[int] = ord("A")
    pid: int
    channel: str
    payload: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return INT32.pack(self.pid) + cstr(self.channel) + cstr(self.payload)


class _CopyResponse(Message):
    __slots__ = ()
    format: int
    column_formats: tuple[int, ...]

    def body(self) -> bytes:
        return bytes([self.format]) + int16s(self.column_formats)


@dataclass(frozen=True, slots=True)
class CopyInResponse(_CopyResponse):
    TYPE: ClassVar[int] = ord("G")
    format: int
    column_formats: tuple[int, ...]
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class CopyOutResponse(_CopyResponse):
    TYPE: ClassVar[int] = ord("H")
    format: int
    column_formats: tuple[int, ...]
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class CopyBothResponse(_CopyResponse):
    TYPE: ClassVar[int] = ord("W")
    format: int
    column_formats: tuple[int, ...]
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class ReadyForQuery(Message):
    """Transaction status: 'I' idle, 'T' in a transaction, 'E' failed transaction."""

    TYPE: ClassVar[int] = ord("Z")
    status: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        if self.status not in ("I", "T", "E"):
            raise ValueError(f"invalid transaction status {self.status!r}")
        return self.status.encode("ascii")


@dataclass(frozen=True, slots=True)
class ParseComplete(Empty):
    TYPE: ClassVar[int] = ord("1")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class BindComplete(Empty):
    TYPE: ClassVar[int] = ord("2")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class CloseComplete(Empty):
    TYPE: ClassVar[int] = ord("3")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class NoData(Empty):
    TYPE: ClassVar[int] = ord("n")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class PortalSuspended(Empty):
    TYPE: ClassVar[int] = ord("s")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class EmptyQueryResponse(Empty):
    TYPE: ClassVar[int] = ord("I")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class ParameterDescription(Message):
    TYPE: ClassVar[int] = ord("t")
    type_oids: tuple[int, ...]
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return oids(self.type_oids)


@dataclass(frozen=True, slots=True)
class NegotiateProtocolVersion(Message):
    """Newest minor version the server supports and the options it did not know."""

    TYPE: ClassVar[int] = ord("v")
    newest_minor: int
    unrecognized: tuple[str, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        names = b"".join(cstr(name) for name in self.unrecognized)
        return _KEY.pack(self.newest_minor, len(self.unrecognized)) + names


@dataclass(frozen=True, slots=True)
class FunctionCallResponse(Message):
    TYPE: ClassVar[int] = ord("V")
    value: bytes | None
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return value(self.value)


BackendMessage = (
    AuthenticationOk
    | AuthenticationCleartextPassword
    | AuthenticationMD5Password
    | AuthenticationSASL
    | AuthenticationSASLContinue
    | AuthenticationSASLFinal
    | AuthenticationOther
    | ParameterStatus
    | BackendKeyData
    | RowDescription
    | DataRow
    | CommandComplete
    | ErrorResponse
    | NoticeResponse
    | NotificationResponse
    | CopyInResponse
    | CopyOutResponse
    | CopyBothResponse
    | CopyData
    | CopyDone
    | ReadyForQuery
    | ParseComplete
    | BindComplete
    | CloseComplete
    | NoData
    | ParameterDescription
    | PortalSuspended
    | EmptyQueryResponse
    | NegotiateProtocolVersion
    | FunctionCallResponse
)

_Decoder = Callable[[Reader, bytes], BackendMessage]


def _row_description(r: Reader, raw: bytes) -> RowDescription:
    return RowDescription(tuple(_field(r) for _ in range(r.count16())), raw)


def _field(r: Reader) -> FieldDescription:
    name = r.cstr()
    return FieldDescription(name, *_FIELD.unpack(r.raw(_FIELD.size)))


def _data_row(r: Reader, raw: bytes) -> DataRow:
    return DataRow(tuple(datarow_values(r.rest())), raw)


def _copy_response(cls: type[_CopyResponse]) -> _Decoder:
    def decode(r: Reader, raw: bytes) -> BackendMessage:
        overall = r.byte()
        formats = tuple(r.int16() for _ in range(r.count16()))
        return cls(overall, formats, raw)  # type: ignore[call-arg,return-value]

    return decode


def _ready(r: Reader, raw: bytes) -> ReadyForQuery:
    status = chr(r.byte())
    if status not in ("I", "T", "E"):
        raise r.fail(f"invalid transaction status {status!r}")
    return ReadyForQuery(status, raw)


def _negotiate(r: Reader, raw: bytes) -> NegotiateProtocolVersion:
    newest, count = r.int32(), r.int32()
    if count < 0:
        raise r.fail(f"negative option count {count}")
    return NegotiateProtocolVersion(newest, tuple(r.cstr() for _ in range(count)), raw)


def _empty(cls: type[Empty]) -> _Decoder:
    return lambda r, raw: cls(raw)  # type: ignore[call-arg,return-value]


_DECODERS: dict[int, tuple[str, _Decoder]] = {
    ord("R"): ("Authentication", decode_authentication),
    ParameterStatus.TYPE: (
        "ParameterStatus",
        lambda r, raw: ParameterStatus(r.cstr(), r.cstr(), raw),
    ),
    BackendKeyData.TYPE: (
        "BackendKeyData",
        lambda r, raw: BackendKeyData(r.int32(), r.int32(), raw),
    ),
    RowDescription.TYPE: ("RowDescription", _row_description),
    DataRow.TYPE: ("DataRow", _data_row),
    CommandComplete.TYPE: ("CommandComplete", lambda r, raw: CommandComplete(r.cstr(), raw)),
    ErrorResponse.TYPE: ("ErrorResponse", lambda r, raw: ErrorResponse(decode_fields(r), raw)),
    NoticeResponse.TYPE: ("NoticeResponse", lambda r, raw: NoticeResponse(decode_fields(r), raw)),
    NotificationResponse.TYPE: (
        "NotificationResponse",
        lambda r, raw: NotificationResponse(r.int32(), r.cstr(), r.cstr(), raw),
    ),
    CopyInResponse.TYPE: ("CopyInResponse", _copy_response(CopyInResponse)),
    CopyOutResponse.TYPE: ("CopyOutResponse", _copy_response(CopyOutResponse)),
    CopyBothResponse.TYPE: ("CopyBothResponse", _copy_response(CopyBothResponse)),
    CopyData.TYPE: ("CopyData", lambda r, raw: CopyData(r.rest(), raw)),
    CopyDone.TYPE: ("CopyDone", _empty(CopyDone)),
    ReadyForQuery.TYPE: ("ReadyForQuery", _ready),
    ParseComplete.TYPE: ("ParseComplete", _empty(ParseComplete)),
    BindComplete.TYPE: ("BindComplete", _empty(BindComplete)),
    CloseComplete.TYPE: ("CloseComplete", _empty(CloseComplete)),
    NoData.TYPE: ("NoData", _empty(NoData)),
    ParameterDescription.TYPE: (
        "ParameterDescription",
        lambda r, raw: ParameterDescription(tuple(r.uint32() for _ in range(r.count16())), raw),
    ),
    PortalSuspended.TYPE: ("PortalSuspended", _empty(PortalSuspended)),
    EmptyQueryResponse.TYPE: ("EmptyQueryResponse", _empty(EmptyQueryResponse)),
    NegotiateProtocolVersion.TYPE: ("NegotiateProtocolVersion", _negotiate),
    FunctionCallResponse.TYPE: (
        "FunctionCallResponse",
        lambda r, raw: FunctionCallResponse(r.value(), raw),
    ),
}

BACKEND_TYPES: frozenset[int] = frozenset(_DECODERS)


def decode_backend(frame: Frame) -> BackendMessage:
    """Decode one server frame; `UnknownMessage` / `ProtocolViolation` on bad input."""
    entry = _DECODERS.get(frame.type)
    if entry is None:
        raise UnknownMessage(frame.type, "backend")
    name, decoder = entry
    reader = Reader(frame.body, name)
    message = decoder(reader, frame.raw)
    reader.end()
    return message


def plain_tag(body: bytes) -> str | None:
    """A CommandComplete body's tag when it is the common case — ASCII, its one NUL at
    the end — else None (`complete_tag` then takes the strict decoder)."""
    if body[-1:] == b"\0" and body.find(b"\0") == len(body) - 1 and body.isascii():
        return body[:-1].decode("ascii")
    return None


def complete_tag(frame: Frame) -> str:
    """A CommandComplete's tag, read straight from the frame (relayed per command).

    Anything but `plain_tag`'s common case takes the strict decoder, which raises
    `ProtocolViolation` exactly as before.
    """
    tag = plain_tag(frame.raw[5:])
    if tag is not None:
        return tag
    message = decode_backend(frame)
    assert isinstance(message, CommandComplete)
    return message.tag


def ready_status(frame: Frame) -> str:
    """A ReadyForQuery's transaction status ('I', 'T' or 'E'), strict on anything else."""
    body = frame.raw[5:]
    if body in (b"I", b"T", b"E"):
        return chr(body[0])
    message = decode_backend(frame)
    assert isinstance(message, ReadyForQuery)
    return message.status


def backend_name(type_code: int) -> str:
    """The spec name for a backend type byte ('?' if unknown), for errors and audit."""
    entry = _DECODERS.get(type_code)
    return entry[0] if entry else "?"
