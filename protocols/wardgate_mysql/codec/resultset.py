"""Result-set packets: column count, ColumnDefinition41, text rows and binary rows.

Rows are split into raw value slices (`bytes` or None for NULL) and can be rebuilt
from them, so a masker can rewrite a value and the row stays valid for the driver
("Text Resultset Row", "Binary Protocol Resultset Row", MySQL internals manual).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wardgate_mysql.codec.constants import ColumnType
from wardgate_mysql.codec.errors import MalformedPacket
from wardgate_mysql.codec.wire import Reader, put_int, put_lenenc_bytes, put_lenenc_str

NULL_VALUE = b"\xfb"

# Fixed widths of binary-protocol values; types absent here are length-encoded,
# and temporal types carry a one-byte length.
FIXED_WIDTH = {
    ColumnType.TINY: 1,
    ColumnType.SHORT: 2,
    ColumnType.YEAR: 2,
    ColumnType.LONG: 4,
    ColumnType.INT24: 4,
    ColumnType.FLOAT: 4,
    ColumnType.LONGLONG: 8,
    ColumnType.DOUBLE: 8,
    ColumnType.NULL: 0,
}
SHORT_LENGTH = frozenset(
    {ColumnType.DATE, ColumnType.DATETIME, ColumnType.TIMESTAMP, ColumnType.TIME}
)


def decode_column_count(payload: bytes) -> int:
    count = Reader(payload, "column count").lenenc_int()
    if not count:
        raise MalformedPacket("column count: must be a positive integer")
    return count


@dataclass(frozen=True, slots=True)
class ColumnDefinition41:
    schema: str
    table: str
    org_table: str
    name: str
    org_name: str
    charset: int
    length: int
    type: int
    flags: int = 0
    decimals: int = 0
    catalog: str = "def"
    default: bytes = b""  # COM_FIELD_LIST only: the lenenc default value or 0xFB (NULL)
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def decode(cls, payload: bytes) -> ColumnDefinition41:
        r = Reader(payload, "ColumnDefinition41")
        catalog, schema, table, org_table = (r.lenenc_str() for _ in range(4))
        name, org_name = r.lenenc_str(), r.lenenc_str()
        fixed = Reader(r.lenenc_bytes(), "ColumnDefinition41 fixed fields")
        charset, length, ctype = fixed.uint(2), fixed.uint(4), fixed.uint(1)
        flags, decimals = fixed.uint(2), fixed.uint(1)
        default = r.rest()
        return cls(
            schema,
            table,
            org_table,
            name,
            org_name,
            charset,
            length,
            ctype,
            flags,
            decimals,
            catalog,
            default,
            payload,
        )

    def encode(self) -> bytes:
        texts = (self.catalog, self.schema, self.table, self.org_table, self.name, self.org_name)
        fixed = (
            put_int(self.charset, 2)
            + put_int(self.length, 4)
            + put_int(self.type, 1)
            + put_int(self.flags, 2)
            + put_int(self.decimals, 1)
            + b"\0\0"
        )
        body = b"".join(put_lenenc_str(t) for t in texts) + put_lenenc_bytes(fixed)
        return body + self.default


Values = list[bytes | None]


def decode_text_row(payload: bytes, columns: int) -> Values:
    r = Reader(payload, "text row")
    values: Values = []
    for _ in range(columns):
        length = r.lenenc_int()
        values.append(None if length is None else r.take(length))
    if not r.at_end():
        raise MalformedPacket("text row: trailing bytes")
    return values


def encode_text_row(values: Sequence[bytes | None]) -> bytes:
    return b"".join(NULL_VALUE if v is None else put_lenenc_bytes(v) for v in values)


def null_bitmap_size(columns: int, offset: int) -> int:
    return (columns + 7 + offset) // 8


def decode_binary_row(payload: bytes, types: Sequence[int]) -> Values:
    """Split a binary row into raw value encodings (without length prefixes)."""
    r = Reader(payload, "binary row")
    if r.uint(1) != 0:
        raise MalformedPacket("binary row: bad header")
    bitmap = r.take(null_bitmap_size(len(types), 2))
    values: Values = []
    for index, ctype in enumerate(types):
        bit = index + 2
        if bitmap[bit // 8] & (1 << (bit % 8)):
            values.append(None)
        else:
            values.append(_binary_value(r, ctype))
    if not r.at_end():
        raise MalformedPacket("binary row: trailing bytes")
    return values


def _binary_value(r: Reader, ctype: int) -> bytes:
    width = FIXED_WIDTH.get(ctype)  # type: ignore[call-overload]
    if width is not None:
        return r.take(width)
    if ctype in SHORT_LENGTH:
        return r.take(r.uint(1))
    return r.lenenc_bytes()


def encode_binary_row(values: Sequence[bytes | None], types: Sequence[int]) -> bytes:
    bitmap = bytearray(null_bitmap_size(len(types), 2))
    body: list[bytes] = []
    for index, (value, ctype) in enumerate(zip(values, types, strict=True)):
        if value is None:
            bit = index + 2
            bitmap[bit // 8] |= 1 << (bit % 8)
        elif ctype in FIXED_WIDTH:
            body.append(value)
        elif ctype in SHORT_LENGTH:
            body.append(bytes((len(value),)) + value)
        else:
            body.append(put_lenenc_bytes(value))
    return b"\0" + bytes(bitmap) + b"".join(body)
