"""Masking result data on the PostgreSQL wire (DESIGN.md "Masking", docs/masking.md).

Theory of operation. The relay feeds `ResultMasking` every client message it
forwards (`client`) and every server frame it relays (`row`, `server`); nothing is
built when the session has no masking configured (the relay holds None and pays
nothing per row).

*Which shape applies.* A simple Query's rows follow its RowDescription. In the
extended protocol the RowDescription answers a Describe — of a statement (formats
unknown: the later Bind's result formats apply) or of a portal — long before the
Execute whose rows it describes. Client messages that draw a response are queued
in order (Parse, Bind, Describe, Execute, Close, Sync, Query) and retired by the
server's answers (ParseComplete, BindComplete, RowDescription/NoData,
completion, CloseComplete, ReadyForQuery; an error skips to the Sync), so each
Execute finds the description of its portal. A result whose shape was never
described is withheld: its rows are dropped and its completion becomes an error.

*Values.* Per shape, each masked column gets one function from the column's type
OID and format: text-like values are masked as text, json/jsonb become a JSON
string, integers are hashed into the same width (any other strategy nulls them),
uuid and bytea hash into their own type, everything else becomes NULL — so the
driver always gets a value of the declared type. With detectors configured, text,
json and arrays of them (text and binary) are scanned too. DataRow lengths are
recomputed by `encode_datarow`. COPY TO STDOUT rows (text and CSV) are split,
masked and re-escaped; binary COPY with anything to mask is withheld.

*Messages.* ErrorResponse/NoticeResponse text fields and NotificationResponse
payloads pass through the core's `message` scrubber.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wardgate.seam import ColumnMask, MaskingPlan, ResultColumn, Session, ValueMasker
from wardgate_postgres import sqlstate
from wardgate_postgres.codec import (
    Bind,
    Close,
    CopyOutResponse,
    Describe,
    ErrorResponse,
    Execute,
    FieldDescription,
    Frame,
    FunctionCall,
    NoticeResponse,
    NotificationResponse,
    Parse,
    ProtocolViolation,
    Query,
    RowDescription,
    Sync,
    datarow_values,
    decode_backend,
    encode_datarow,
)
from wardgate_postgres.copy_masking import CopyMasker, copy_format
from wardgate_postgres.frames import error
from wardgate_postgres.tracker import ResponseTracker

Value = bytes | None
Fn = Callable[[bytes], Value]

TEXT_TYPES = frozenset({25, 1043, 1042, 19, 18, 705, 142})
JSON, JSONB, UUID, BYTEA = 114, 3802, 2950, 17
INT_BITS = {21: 16, 23: 32, 20: 64, 26: 32}
ARRAY_ELEMENTS = {1009: 25, 1015: 1043, 1014: 1042, 1003: 19, 199: 114, 3807: 3802}
SCANNED = TEXT_TYPES | {JSON, JSONB}
MESSAGE_FIELDS = frozenset("MDHWqp")
WITHHELD = (
    "wardgate: this result's columns were never described, so it cannot be masked; "
    "describe the statement or portal before executing it"
)
BINARY_COPY = "wardgate: binary COPY of masked data is refused; use text or CSV format"
_INT32 = struct.Struct("!i")
_ARRAY_HEAD = struct.Struct("!iiI")


# -- values ---------------------------------------------------------------------------


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _nulled(masker: ValueMasker, mask: ColumnMask) -> Fn:
    null = ColumnMask(mask.index, mask.rule, "null", 0)

    def rewrite(value: bytes) -> Value:
        masker.text(null, "")  # counted; NULL is valid for every type and format
        return None

    return rewrite


def mask_fn(mask: ColumnMask, oid: int, binary: bool, masker: ValueMasker) -> Fn:
    """The rewrite of one masked column: a valid value of its type and format, or NULL."""
    if oid in TEXT_TYPES:
        return lambda v: _opt(masker.text(mask, _text(v)))
    if oid in (JSON, JSONB):
        prefix = b"\x01" if oid == JSONB and binary else b""
        return lambda v: _opt_json(masker.text(mask, _text(v[len(prefix) :])), prefix)
    if mask.strategy != "hash":
        return _nulled(masker, mask)
    if oid in INT_BITS:
        return _int_fn(mask, INT_BITS[oid], binary, masker)
    if oid == UUID:
        return _uuid_fn(mask, binary, masker)
    if oid == BYTEA:
        return _bytea_fn(mask, binary, masker)
    return _nulled(masker, mask)


def _opt(text: str | None) -> Value:
    return None if text is None else _bytes(text)


def _opt_json(text: str | None, prefix: bytes) -> Value:
    return None if text is None else prefix + _bytes(json.dumps(text))


def _int_fn(mask: ColumnMask, bits: int, binary: bool, masker: ValueMasker) -> Fn:
    width = bits // 8

    def rewrite(value: bytes) -> Value:
        number = int.from_bytes(value, "big", signed=True) if binary else int(value)
        hashed = masker.integer(mask, number, bits)
        if hashed is None:
            return None
        return hashed.to_bytes(width, "big", signed=True) if binary else str(hashed).encode()

    return rewrite


def _uuid_fn(mask: ColumnMask, binary: bool, masker: ValueMasker) -> Fn:
    def rewrite(value: bytes) -> Value:
        raw = value if binary else uuid.UUID(value.decode()).bytes
        hashed = masker.data(mask, raw)
        if hashed is None or len(hashed) < 16:
            return None
        return hashed[:16] if binary else str(uuid.UUID(bytes=hashed[:16])).encode()

    return rewrite


def _bytea_fn(mask: ColumnMask, binary: bool, masker: ValueMasker) -> Fn:
    def rewrite(value: bytes) -> Value:
        raw = value if binary else _bytea_text(value)
        hashed = masker.data(mask, raw)
        if hashed is None:
            return None
        return hashed if binary else b"\\x" + hashed.hex().encode()

    return rewrite


def _bytea_text(value: bytes) -> bytes:
    if value.startswith(b"\\x"):
        return bytes.fromhex(value[2:].decode())
    return value  # escape format: hashed as sent (still stable per value)


def scan_fn(oid: int, binary: bool, masker: ValueMasker) -> Fn | None:
    """Detectors over a text-like, JSON or array-of-text column (None: not scanned)."""
    if oid in TEXT_TYPES:
        return lambda v: _scanned(masker, v, b"", False)
    if oid in (JSON, JSONB):
        prefix = b"\x01" if oid == JSONB and binary else b""
        return lambda v: _scanned(masker, v, prefix, True)
    element = ARRAY_ELEMENTS.get(oid)
    if element is None:
        return None
    if not binary:
        return lambda v: _scanned(masker, v, b"", True)
    inner = scan_fn(element, True, masker)
    assert inner is not None
    return lambda v: _scan_binary_array(v, inner)


def _scanned(masker: ValueMasker, value: bytes, prefix: bytes, structured: bool) -> Value:
    text = _text(value[len(prefix) :])
    result = masker.scan(text, structured)
    if result is text:
        return value
    return None if result is None else prefix + _bytes(result)


def _scan_binary_array(value: bytes, inner: Fn) -> Value:
    """Binary array ("array_send"): header, dimensions, then (Int32 length, bytes)*."""
    dims, _, _ = _ARRAY_HEAD.unpack_from(value, 0)
    position = 12 + 8 * dims
    parts = [value[:position]]
    while position < len(value):
        (length,) = _INT32.unpack_from(value, position)
        position += 4
        if length < 0:
            parts.append(_INT32.pack(-1))
            continue
        element = inner(value[position : position + length])
        position += length
        parts.append(_INT32.pack(-1) if element is None else _INT32.pack(len(element)) + element)
    return b"".join(parts)


def column_fns(plan: MaskingPlan, fields: Sequence[FieldDescription]) -> list[tuple[int, Fn]]:
    masker = plan.masker
    assert masker is not None
    masks = {mask.index: mask for mask in plan.columns}
    fns: list[tuple[int, Fn]] = []
    for index, field in enumerate(fields):
        binary = field.format == 1
        mask = masks.get(index)
        if mask is not None:
            fns.append((index, mask_fn(mask, field.type_oid, binary, masker)))
        elif plan.detectors:
            scanner = scan_fn(field.type_oid, binary, masker)
            if scanner is not None:
                fns.append((index, scanner))
    return fns


class RowMasker:
    """Rewrites the DataRows of one result shape."""

    __slots__ = ("fns", "width")

    def __init__(self, fns: list[tuple[int, Fn]], width: int) -> None:
        self.fns = fns
        self.width = width

    def __call__(self, raw: bytes) -> bytes:
        if not self.fns:
            return raw
        values = datarow_values(memoryview(raw)[5:])
        if len(values) != self.width:
            raise ProtocolViolation("DataRow width does not match its RowDescription")
        for index, fn in self.fns:
            value = values[index]
            if value is not None:
                values[index] = fn(value)
        return encode_datarow(values)


# -- which shape applies ---------------------------------------------------------------


@dataclass(slots=True)
class _Portal:
    statement: str
    formats: tuple[int, ...]
    fields: tuple[FieldDescription, ...] | None = None


class ResultMasking:
    """The relay's masking state for one session (only built when masking is active)."""

    def __init__(self, session: Session, tracker: ResponseTracker, base: MaskingPlan) -> None:
        self._session, self._tracker, self._base = session, tracker, base
        self._queue: deque[tuple[Any, ...]] = deque()
        self._sql: dict[str, str] = {}  # statement name -> query text (for COPY options)
        self._statements: dict[str, tuple[FieldDescription, ...] | None] = {}
        self._portals: dict[str, _Portal] = {}
        self._rows: RowMasker | None = None
        self._copy: CopyMasker | None = None
        self._withhold = ""
        self._query_sql = ""

    @classmethod
    def for_session(cls, session: Session, tracker: ResponseTracker) -> ResultMasking | None:
        base = session.masking_plan("", ())
        return cls(session, tracker, base) if base.active else None

    # client side: queue what draws a response, in order

    def client(self, message: object) -> None:
        if isinstance(message, Query | FunctionCall):
            self._queue.append(("Q", message.sql if isinstance(message, Query) else ""))
        elif isinstance(message, Parse):
            self._queue.append(("X", message.name, message.query))
        elif isinstance(message, Bind):
            portal = _Portal(message.statement, message.result_formats)
            self._queue.append(("B", message.portal, portal))
        elif isinstance(message, Describe):
            self._queue.append(("D", message.kind, message.name))
        elif isinstance(message, Execute):
            self._queue.append(("E", message.portal))
        elif isinstance(message, Close):
            self._queue.append(("C", message.kind, message.name))
        elif isinstance(message, Sync):
            self._queue.append(("Y",))

    # server side

    def row(self, frame: Frame) -> bytes:
        """A DataRow or a server CopyData: masked, or b"" when withheld."""
        if self._withhold:
            return b""
        if frame.type == ord("d"):
            return self._copy(frame) if self._copy is not None else frame.raw
        rows = self._rows
        if rows is None:
            rows = self._rows = self._execute_shape()
            if rows is None:
                return b""
        return rows(frame.raw)

    def server(self, frame: Frame, sent: bytes) -> bytes:
        """Follow the server's answers; returns what to send (scrubbed, or an error)."""
        handler = _SERVER.get(frame.type)
        if handler is None:
            return sent
        out = handler(self, frame)
        return out if sent is frame.raw else sent  # a gateway refusal is sent as it is

    def _front(self, *kinds: str) -> tuple[Any, ...] | None:
        if self._queue and self._queue[0][0] in kinds:
            return self._queue.popleft()
        return None

    def _parse_complete(self, frame: Frame) -> bytes:
        item = self._front("X")
        if item is not None:
            self._statements[item[1]] = None
            self._sql[item[1]] = item[2]
        return frame.raw

    def _bind_complete(self, frame: Frame) -> bytes:
        item = self._front("B")
        if item is not None:
            self._portals[item[1]] = item[2]
        return frame.raw

    def _describe(self, frame: Frame) -> bytes:
        if self._queue and self._queue[0][0] == "Q":
            message = decode_backend(frame)
            assert isinstance(message, RowDescription)
            self._rows = self._shape(message.fields, self._command_id())
            return frame.raw
        item = self._front("D")
        if item is None:
            return frame.raw
        described = decode_backend(frame) if frame.type == ord("T") else None
        fields = described.fields if isinstance(described, RowDescription) else ()
        if item[1] == "S":
            self._statements[item[2]] = tuple(fields)
        elif item[2] in self._portals:
            self._portals[item[2]].fields = tuple(fields)
        return frame.raw

    def _parameters(self, frame: Frame) -> bytes:
        return frame.raw

    def _complete(self, frame: Frame) -> bytes:
        if self._queue and self._queue[0][0] == "E":
            self._queue.popleft()
        self._rows, self._copy = None, None
        if self._withhold:
            reason, self._withhold = self._withhold, ""
            self._session.event("masking_withheld", reason=reason)
            return error(sqlstate.INSUFFICIENT_PRIVILEGE, reason)
        return frame.raw

    def _closed(self, frame: Frame) -> bytes:
        item = self._front("C")
        if item is not None and item[1] == "S":
            self._statements.pop(item[2], None)
        elif item is not None:
            self._portals.pop(item[2], None)
        return frame.raw

    def _error(self, frame: Frame) -> bytes:
        self._rows, self._copy, self._withhold = None, None, ""
        if self._queue and self._queue[0][0] != "Q":
            while self._queue and self._queue[0][0] != "Y":
                self._queue.popleft()
        return self._scrub_fields(frame)

    def _ready(self, frame: Frame) -> bytes:
        while self._queue:
            if self._queue.popleft()[0] in ("Y", "Q"):
                break
        self._rows, self._copy, self._withhold = None, None, ""
        return frame.raw

    def _copy_out(self, frame: Frame) -> bytes:
        message = decode_backend(frame)
        assert isinstance(message, CopyOutResponse)
        columns = [ResultColumn(name="", type_name="copy") for _ in message.column_formats]
        plan = self._session.masking_plan(self._command_id(), columns)
        if plan.withhold or plan.empty:
            self._withhold = plan.withhold
            return frame.raw
        fmt = copy_format(self._copy_sql())
        if fmt.kind not in ("text", "csv"):
            self._withhold = BINARY_COPY
            return frame.raw
        fields = [FieldDescription("", type_oid=25) for _ in columns]
        self._copy = CopyMasker(dict(column_fns(plan, fields)), fmt)
        return frame.raw

    def _copy_sql(self) -> str:
        item = self._queue[0] if self._queue else ("",)
        if item[0] == "Q":
            return str(item[1])
        if item[0] == "E" and item[1] in self._portals:
            return self._sql.get(self._portals[item[1]].statement, "")
        return ""

    def _scrub_fields(self, frame: Frame) -> bytes:
        message = decode_backend(frame)
        assert isinstance(message, ErrorResponse | NoticeResponse)
        scrub = self._masker().message
        fields = tuple((c, scrub(t) if c in MESSAGE_FIELDS else t) for c, t in message.fields)
        return frame.raw if fields == message.fields else type(message)(fields).raw

    def _notification(self, frame: Frame) -> bytes:
        message = decode_backend(frame)
        assert isinstance(message, NotificationResponse)
        payload = self._masker().message(message.payload)
        if payload == message.payload:
            return frame.raw
        return NotificationResponse(message.pid, message.channel, payload).raw

    def _masker(self) -> ValueMasker:
        assert self._base.masker is not None
        return self._base.masker

    # shapes

    def _command_id(self) -> str:
        entry = self._tracker._current()
        return entry.command_id if entry is not None else ""

    def _shape(self, fields: Sequence[FieldDescription], command_id: str) -> RowMasker | None:
        columns = [
            ResultColumn(
                name=f.name,
                type_name=str(f.type_oid),
                table_oid=f.table_oid,
                column_number=f.column_number,
                binary=f.format == 1,
            )
            for f in fields
        ]
        plan = self._session.masking_plan(command_id, columns)
        if plan.withhold:
            self._withhold = plan.withhold
            return None
        return RowMasker(column_fns(plan, fields) if not plan.empty else [], len(fields))

    def _execute_shape(self) -> RowMasker | None:
        """The shape of the rows of the Execute being answered (None: withheld)."""
        item = self._queue[0] if self._queue else ("",)
        fields = self._portal_fields(item[1]) if item[0] == "E" else None
        if fields is None:
            self._withhold = WITHHELD
            return None
        return self._shape(fields, self._command_id())

    def _portal_fields(self, name: str) -> tuple[FieldDescription, ...] | None:
        portal = self._portals.get(name)
        if portal is None:
            return None
        if portal.fields is not None:
            return portal.fields
        described = self._statements.get(portal.statement)
        if described is None:
            return None
        return tuple(
            _with_format(f, _format_of(portal.formats, i)) for i, f in enumerate(described)
        )


def _format_of(formats: tuple[int, ...], index: int) -> int:
    if not formats:
        return 0
    return formats[0] if len(formats) == 1 else formats[index]


def _with_format(field: FieldDescription, fmt: int) -> FieldDescription:
    return FieldDescription(
        field.name,
        field.table_oid,
        field.column_number,
        field.type_oid,
        field.type_size,
        field.type_modifier,
        fmt,
    )


_SERVER: dict[int, Callable[[ResultMasking, Frame], bytes]] = {
    ord("1"): ResultMasking._parse_complete,
    ord("2"): ResultMasking._bind_complete,
    ord("3"): ResultMasking._closed,
    ord("t"): ResultMasking._parameters,
    ord("T"): ResultMasking._describe,
    ord("n"): ResultMasking._describe,
    ord("C"): ResultMasking._complete,
    ord("I"): ResultMasking._complete,
    ord("s"): ResultMasking._complete,
    ord("E"): ResultMasking._error,
    ord("N"): ResultMasking._scrub_fields,
    ord("A"): ResultMasking._notification,
    ord("Z"): ResultMasking._ready,
    ord("H"): ResultMasking._copy_out,
    ord("d"): ResultMasking.row,  # a relay that does not count CopyData as rows
}
