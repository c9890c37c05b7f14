"""Frontend (client → server) messages of protocol 3.0 and their decoder.

"Message Formats" in the PostgreSQL documentation, every message marked (F). Type
bytes overlap with the backend's ('D' is Describe here, DataRow there), so decoding
is per direction: `decode_frontend` dispatches on the type byte through a table and
raises `UnknownMessage(phase="frontend")` for anything else. Bodies are checked
like the server's ``pq_getmsg*`` does: overruns, missing NULs, negative lengths other
than -1 (NULL), format-code counts that match neither 0, 1 nor the value count, and
trailing bytes are all `ProtocolViolation`. SQL-bearing text must be valid UTF-8.

The 'p' frame means PasswordMessage, SASLInitialResponse, SASLResponse or
GSSResponse depending on the authentication exchange, which only the connection
knows; it decodes to `PasswordMessage(data)` and offers interpretations as methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from .copy import CopyData, CopyDone
from .errors import UnknownMessage
from .framing import Frame
from .message import Empty, Message
from .wire import INT16, INT32, UINT32, Reader, cbytes, cstr, int16s, oids, values

__all__ = [
    "FRONTEND_TYPES",
    "Bind",
    "Close",
    "CopyData",
    "CopyDone",
    "CopyFail",
    "Describe",
    "Execute",
    "Flush",
    "FrontendMessage",
    "FunctionCall",
    "Parse",
    "PasswordMessage",
    "Query",
    "Sync",
    "Terminate",
    "decode_frontend",
    "frontend_name",
]


@dataclass(frozen=True, slots=True)
class Query(Message):
    """Simple query: one string, possibly several statements."""

    TYPE: ClassVar[int] = ord("Q")
    sql: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return cstr(self.sql)


@dataclass(frozen=True, slots=True)
class Parse(Message):
    """Extended query: prepare ``query`` as statement ``name`` ('' = unnamed)."""

    TYPE: ClassVar[int] = ord("P")
    name: str
    query: str
    param_types: tuple[int, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return cstr(self.name) + cstr(self.query) + oids(self.param_types)


@dataclass(frozen=True, slots=True)
class Bind(Message):
    """Bind ``params`` to ``statement`` as ``portal``.

    ``param_formats`` / ``result_formats`` are exactly as sent: empty (all text),
    one code for all, or one per item; use `param_format` to resolve.
    """

    TYPE: ClassVar[int] = ord("B")
    portal: str
    statement: str
    param_formats: tuple[int, ...] = ()
    params: tuple[bytes | None, ...] = field(default=(), repr=False)
    result_formats: tuple[int, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return (
            cstr(self.portal)
            + cstr(self.statement)
            + int16s(self.param_formats)
            + values(self.params)
            + int16s(self.result_formats)
        )

    def param_format(self, index: int) -> int:
        """The format code (0 text, 1 binary) of parameter ``index``."""
        return _resolve_format(self.param_formats, index)

    def result_format(self, column: int) -> int:
        """The format code requested for result ``column``."""
        return _resolve_format(self.result_formats, column)


def _resolve_format(formats: tuple[int, ...], index: int) -> int:
    if not formats:
        return 0
    return formats[0] if len(formats) == 1 else formats[index]


@dataclass(frozen=True, slots=True)
class Describe(Message):
    """Describe a prepared statement (kind 'S') or a portal (kind 'P')."""

    TYPE: ClassVar[int] = ord("D")
    kind: str
    name: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return _kind_byte(self.kind) + cstr(self.name)


@dataclass(frozen=True, slots=True)
class Close(Message):
    """Close a prepared statement (kind 'S') or a portal (kind 'P')."""

    TYPE: ClassVar[int] = ord("C")
    kind: str
    name: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return _kind_byte(self.kind) + cstr(self.name)


def _kind_byte(kind: str) -> bytes:
    if kind not in ("S", "P"):
        raise ValueError(f"kind must be 'S' or 'P', not {kind!r}")
    return kind.encode("ascii")


@dataclass(frozen=True, slots=True)
class Execute(Message):
    """Run ``portal``; ``max_rows`` 0 means no limit."""

    TYPE: ClassVar[int] = ord("E")
    portal: str
    max_rows: int = 0
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return cstr(self.portal) + INT32.pack(self.max_rows)


@dataclass(frozen=True, slots=True)
class Sync(Empty):
    TYPE: ClassVar[int] = ord("S")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class Flush(Empty):
    TYPE: ClassVar[int] = ord("H")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class Terminate(Empty):
    TYPE: ClassVar[int] = ord("X")
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class CopyFail(Message):
    TYPE: ClassVar[int] = ord("f")
    message: str
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return cstr(self.message)


@dataclass(frozen=True, slots=True)
class FunctionCall(Message):
    """Fast-path function call (the gateway refuses these; decoded to be named)."""

    TYPE: ClassVar[int] = ord("F")
    function_oid: int
    arg_formats: tuple[int, ...] = ()
    args: tuple[bytes | None, ...] = field(default=(), repr=False)
    result_format: int = 0
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return (
            UINT32.pack(self.function_oid)
            + int16s(self.arg_formats)
            + values(self.args)
            + INT16.pack(self.result_format)
        )


@dataclass(frozen=True, slots=True)
class PasswordMessage(Message):
    """The 'p' frame; its meaning depends on the authentication request it answers.

    Build with `password`, `sasl_initial` or `sasl_response`; read with
    `password_text`, `decode_sasl_initial` or ``data`` (SASLResponse, GSSResponse).
    """

    TYPE: ClassVar[int] = ord("p")
    data: bytes = field(repr=False)
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return self.data

    @classmethod
    def password(cls, text: str | bytes) -> PasswordMessage:
        """A PasswordMessage: cleartext, or an "md5…" hash from `auth.md5`."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        return cls(cbytes(data))

    @classmethod
    def sasl_initial(cls, mechanism: str, data: bytes | None) -> PasswordMessage:
        """A SASLInitialResponse (``data`` None means no initial response, length -1)."""
        length = -1 if data is None else len(data)
        return cls(cstr(mechanism) + INT32.pack(length) + (data or b""))

    @classmethod
    def sasl_response(cls, data: bytes) -> PasswordMessage:
        """A SASLResponse (raw mechanism data, no framing of its own)."""
        return cls(data)

    def password_text(self) -> str:
        """Read as PasswordMessage: one NUL-terminated UTF-8 string."""
        reader = Reader(self.data, "PasswordMessage")
        text = reader.cstr()
        reader.end()
        return text

    def decode_sasl_initial(self) -> tuple[str, bytes | None]:
        """Read as SASLInitialResponse: (mechanism, initial data or None)."""
        reader = Reader(self.data, "SASLInitialResponse")
        mechanism = reader.cstr()
        data = reader.value()
        reader.end()
        return mechanism, data


FrontendMessage = (
    Query
    | Parse
    | Bind
    | Describe
    | Execute
    | Sync
    | Flush
    | Close
    | CopyData
    | CopyDone
    | CopyFail
    | FunctionCall
    | Terminate
    | PasswordMessage
)


def _query(r: Reader, raw: bytes) -> Query:
    return Query(r.cstr(), raw)


def _parse(r: Reader, raw: bytes) -> Parse:
    name, query = r.cstr(), r.cstr()
    types = tuple(r.uint32() for _ in range(r.count16()))
    return Parse(name, query, types, raw)


def _bind(r: Reader, raw: bytes) -> Bind:
    portal, statement = r.cstr(), r.cstr()
    formats = _formats(r)
    params = _values(r)
    _check_formats(r, formats, len(params))
    return Bind(portal, statement, formats, params, _formats(r), raw)


def _formats(r: Reader) -> tuple[int, ...]:
    return tuple(r.int16() for _ in range(r.count16()))


def _values(r: Reader) -> tuple[bytes | None, ...]:
    return tuple(r.value() for _ in range(r.count16()))


def _check_formats(r: Reader, formats: tuple[int, ...], count: int) -> None:
    if len(formats) > 1 and len(formats) != count:
        raise r.fail(f"{len(formats)} format codes for {count} values")


def _kind(r: Reader) -> str:
    kind = chr(r.byte())
    if kind not in ("S", "P"):
        raise r.fail(f"invalid kind {kind!r}")
    return kind


def _describe(r: Reader, raw: bytes) -> Describe:
    return Describe(_kind(r), r.cstr(), raw)


def _close(r: Reader, raw: bytes) -> Close:
    return Close(_kind(r), r.cstr(), raw)


def _execute(r: Reader, raw: bytes) -> Execute:
    return Execute(r.cstr(), r.int32(), raw)


def _function_call(r: Reader, raw: bytes) -> FunctionCall:
    oid = r.uint32()
    formats = _formats(r)
    args = _values(r)
    _check_formats(r, formats, len(args))
    return FunctionCall(oid, formats, args, r.int16(), raw)


def _copy_fail(r: Reader, raw: bytes) -> CopyFail:
    return CopyFail(r.cstr(), raw)


def _copy_data(r: Reader, raw: bytes) -> CopyData:
    return CopyData(r.rest(), raw)


def _password(r: Reader, raw: bytes) -> PasswordMessage:
    return PasswordMessage(r.rest(), raw)


def _empty(cls: type[Sync | Flush | Terminate | CopyDone]) -> _Decoder:
    return lambda r, raw: cls(raw)


_Decoder = Callable[[Reader, bytes], FrontendMessage]

_DECODERS: dict[int, tuple[str, _Decoder]] = {
    Query.TYPE: ("Query", _query),
    Parse.TYPE: ("Parse", _parse),
    Bind.TYPE: ("Bind", _bind),
    Describe.TYPE: ("Describe", _describe),
    Execute.TYPE: ("Execute", _execute),
    Sync.TYPE: ("Sync", _empty(Sync)),
    Flush.TYPE: ("Flush", _empty(Flush)),
    Close.TYPE: ("Close", _close),
    CopyData.TYPE: ("CopyData", _copy_data),
    CopyDone.TYPE: ("CopyDone", _empty(CopyDone)),
    CopyFail.TYPE: ("CopyFail", _copy_fail),
    FunctionCall.TYPE: ("FunctionCall", _function_call),
    Terminate.TYPE: ("Terminate", _empty(Terminate)),
    PasswordMessage.TYPE: ("PasswordMessage", _password),
}

FRONTEND_TYPES: frozenset[int] = frozenset(_DECODERS)


def decode_frontend(frame: Frame) -> FrontendMessage:
    """Decode one client frame; `UnknownMessage` / `ProtocolViolation` on bad input."""
    entry = _DECODERS.get(frame.type)
    if entry is None:
        raise UnknownMessage(frame.type, "frontend")
    name, decoder = entry
    reader = Reader(frame.body, name)
    message = decoder(reader, frame.raw)
    reader.end()
    return message


def frontend_name(type_code: int) -> str:
    """The spec name for a frontend type byte ('?' if unknown), for errors and audit."""
    entry = _DECODERS.get(type_code)
    return entry[0] if entry else "?"
