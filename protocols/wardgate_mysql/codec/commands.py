"""Command-phase client packets (COM_*) and COM_STMT_PREPARE's OK response.

`decode_command` dispatches on the first payload byte through `DECODERS`; a byte
absent from the table decodes as `ComOther`, which the relay refuses. Every
dataclass keeps its payload in `raw` so an allowed command is forwarded untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wardgate_mysql.codec.constants import ColumnType, Com
from wardgate_mysql.codec.errors import MalformedPacket
from wardgate_mysql.codec.resultset import FIXED_WIDTH, SHORT_LENGTH
from wardgate_mysql.codec.wire import Reader, put_int, put_nul_str


def _text(payload: bytes) -> str:
    return payload[1:].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class ComQuery:
    sql: str
    raw: bytes = field(default=b"", compare=False, repr=False)
    command = Com.QUERY

    @classmethod
    def decode(cls, payload: bytes) -> ComQuery:
        return cls(_text(payload), payload)

    def encode(self) -> bytes:
        return bytes((Com.QUERY,)) + self.sql.encode()


@dataclass(frozen=True, slots=True)
class ComStmtPrepare:
    sql: str
    raw: bytes = field(default=b"", compare=False, repr=False)
    command = Com.STMT_PREPARE

    @classmethod
    def decode(cls, payload: bytes) -> ComStmtPrepare:
        return cls(_text(payload), payload)

    def encode(self) -> bytes:
        return bytes((Com.STMT_PREPARE,)) + self.sql.encode()


@dataclass(frozen=True, slots=True)
class ComInitDb:
    schema: str
    raw: bytes = field(default=b"", compare=False, repr=False)
    command = Com.INIT_DB

    @classmethod
    def decode(cls, payload: bytes) -> ComInitDb:
        return cls(_text(payload), payload)

    def encode(self) -> bytes:
        return bytes((Com.INIT_DB,)) + self.schema.encode()


@dataclass(frozen=True, slots=True)
class ComFieldList:
    table: str
    wildcard: str = ""
    raw: bytes = field(default=b"", compare=False, repr=False)
    command = Com.FIELD_LIST

    @classmethod
    def decode(cls, payload: bytes) -> ComFieldList:
        r = Reader(payload, "COM_FIELD_LIST")
        r.take(1)
        return cls(r.nul_str(), r.rest_str(), payload)

    def encode(self) -> bytes:
        return bytes((Com.FIELD_LIST,)) + put_nul_str(self.table) + self.wildcard.encode()


@dataclass(frozen=True, slots=True)
class ComStmtExecute:
    statement_id: int
    flags: int = 0
    iterations: int = 1
    params: bytes = b""  # null bitmap, bound flag, types and values, decoded lazily
    raw: bytes = field(default=b"", compare=False, repr=False)
    command = Com.STMT_EXECUTE

    @classmethod
    def decode(cls, payload: bytes) -> ComStmtExecute:
        r = Reader(payload, "COM_STMT_EXECUTE")
        r.take(1)
        return cls(r.uint(4), r.uint(1), r.uint(4), r.rest(), payload)

    def encode(self) -> bytes:
        return (
            bytes((Com.STMT_EXECUTE,))
            + put_int(self.statement_id, 4)
            + put_int(self.flags, 1)
            + put_int(self.iterations, 4)
            + self.params
        )


@dataclass(frozen=True, slots=True)
class ExecuteParams:
    """COM_STMT_EXECUTE parameter values as raw encodings; types may come from a previous
    execute when the client did not re-bind them (new_params_bound_flag = 0)."""

    types: tuple[int, ...]
    values: tuple[bytes | None, ...]


def decode_execute_params(params: bytes, count: int, bound: Sequence[int] = ()) -> ExecuteParams:
    r = Reader(params, "COM_STMT_EXECUTE parameters")
    if count == 0:
        return ExecuteParams((), ())
    bitmap = r.take((count + 7) // 8)
    types = tuple(bound)
    if r.uint(1):
        types = tuple(r.uint(2) for _ in range(count))
    if len(types) != count:
        raise MalformedPacket("COM_STMT_EXECUTE: parameter types were never bound")
    values: list[bytes | None] = []
    for index, ptype in enumerate(types):
        if bitmap[index // 8] & (1 << (index % 8)):
            values.append(None)
        else:
            values.append(_param_value(r, ptype & 0xFF))
    return ExecuteParams(types, tuple(values))


def _param_value(r: Reader, ptype: int) -> bytes:
    width = FIXED_WIDTH.get(ptype)  # type: ignore[call-overload]
    if width is not None:
        return r.take(width)
    if ptype in SHORT_LENGTH:
        return r.take(r.uint(1))
    if ptype not in ColumnType._value2member_map_:
        raise MalformedPacket(f"COM_STMT_EXECUTE: unknown parameter type {ptype}")
    return r.lenenc_bytes()


@dataclass(frozen=True, slots=True)
class ComStmtSendLongData:
    statement_id: int
    param_id: int
    data: bytes = field(default=b"", repr=False)
    raw: bytes = field(default=b"", compare=False, repr=False)
    command = Com.STMT_SEND_LONG_DATA

    @classmethod
    def decode(cls, payload: bytes) -> ComStmtSendLongData:
        r = Reader(payload, "COM_STMT_SEND_LONG_DATA")
        r.take(1)
        return cls(r.uint(4), r.uint(2), r.rest(), payload)

    def encode(self) -> bytes:
        return (
            bytes((Com.STMT_SEND_LONG_DATA,))
            + put_int(self.statement_id, 4)
            + put_int(self.param_id, 2)
            + self.data
        )


@dataclass(frozen=True, slots=True)
class ComStatement:
    """COM_STMT_CLOSE, COM_STMT_RESET (statement id only) and COM_STMT_FETCH (+ rows)."""

    command: int
    statement_id: int
    rows: int = 0
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> ComStatement:
        r = Reader(payload, "COM_STMT_*")
        command, statement_id = r.uint(1), r.uint(4)
        rows = r.uint(4) if command == Com.STMT_FETCH else 0
        if not r.at_end():
            raise MalformedPacket(f"COM_STMT command 0x{command:02x}: trailing bytes")
        return cls(command, statement_id, rows, payload)

    def encode(self) -> bytes:
        tail = put_int(self.rows, 4) if self.command == Com.STMT_FETCH else b""
        return bytes((self.command,)) + put_int(self.statement_id, 4) + tail


@dataclass(frozen=True, slots=True)
class ComNumber:
    """COM_SET_OPTION (2-byte option) and COM_PROCESS_KILL (4-byte connection id)."""

    command: int
    value: int
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> ComNumber:
        r = Reader(payload, "COM_*")
        command = r.uint(1)
        value = r.uint(2 if command == Com.SET_OPTION else 4)
        return cls(command, value, payload)

    def encode(self) -> bytes:
        width = 2 if self.command == Com.SET_OPTION else 4
        return bytes((self.command,)) + put_int(self.value, width)


@dataclass(frozen=True, slots=True)
class ComOther:
    """A command with no arguments we act on (PING, QUIT …) or one we refuse."""

    command: int
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> ComOther:
        return cls(payload[0], payload)

    def encode(self) -> bytes:
        return self.raw or bytes((self.command,))


ClientCommand = (
    ComQuery
    | ComStmtPrepare
    | ComInitDb
    | ComFieldList
    | ComStmtExecute
    | ComStmtSendLongData
    | ComStatement
    | ComNumber
    | ComOther
)

DECODERS: dict[int, Callable[[bytes], ClientCommand]] = {
    Com.QUERY: ComQuery.decode,
    Com.STMT_PREPARE: ComStmtPrepare.decode,
    Com.INIT_DB: ComInitDb.decode,
    Com.FIELD_LIST: ComFieldList.decode,
    Com.STMT_EXECUTE: ComStmtExecute.decode,
    Com.STMT_SEND_LONG_DATA: ComStmtSendLongData.decode,
    Com.STMT_CLOSE: ComStatement.decode,
    Com.STMT_RESET: ComStatement.decode,
    Com.STMT_FETCH: ComStatement.decode,
    Com.SET_OPTION: ComNumber.decode,
    Com.PROCESS_KILL: ComNumber.decode,
}


def decode_command(payload: bytes) -> ClientCommand:
    if not payload:
        raise MalformedPacket("empty command packet")
    return DECODERS.get(payload[0], ComOther.decode)(payload)


@dataclass(frozen=True, slots=True)
class StmtPrepareOk:
    statement_id: int
    columns: int
    params: int
    warnings: int = 0
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> StmtPrepareOk:
        r = Reader(payload, "COM_STMT_PREPARE_OK")
        if r.uint(1) != 0:
            raise MalformedPacket("COM_STMT_PREPARE_OK: bad header")
        statement_id, columns, params = r.uint(4), r.uint(2), r.uint(2)
        r.take(1)
        warnings = r.uint(2) if r.remaining() >= 2 else 0
        return cls(statement_id, columns, params, warnings, payload)

    def encode(self) -> bytes:
        return (
            b"\0"
            + put_int(self.statement_id, 4)
            + put_int(self.columns, 2)
            + put_int(self.params, 2)
            + b"\0"
            + put_int(self.warnings, 2)
        )
