"""DataRow ('D', backend): the per-row hot path of result streaming.

"Message Formats" (protocol 3.0): Int16 column count, then per column an Int32
length (-1 for NULL) and that many bytes. The masker calls `datarow_values` and
`encode_datarow` once per row, so both are plain functions over ``struct`` with
no Reader object; they accept any buffer (``bytes``, or a ``memoryview`` of
``Frame.raw`` sliced at 5 to avoid copying the body) and raise only
`ProtocolViolation`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from .errors import ProtocolViolation
from .message import Message
from .wire import INT32, UINT16

DATA_ROW = ord("D")
_unpack_len = INT32.unpack_from
_unpack_count = UINT16.unpack_from
_pack_len = INT32.pack
_ROW_HEADER = struct.Struct("!BiH")
_NULL = INT32.pack(-1)


def datarow_values(body: bytes | memoryview) -> list[bytes | None]:
    """The column values of a DataRow body (None for NULL), as ``bytes``."""
    try:
        (count,) = _unpack_count(body, 0)
        pos = 2
        out: list[bytes | None] = []
        append = out.append
        size = len(body)
        for _ in range(count):
            (length,) = _unpack_len(body, pos)
            pos += 4
            if length < 0:
                if length != -1:
                    raise ProtocolViolation(f"malformed DataRow message: length {length}")
                append(None)
                continue
            end = pos + length
            if end > size:
                raise ProtocolViolation("malformed DataRow message: truncated value")
            append(bytes(body[pos:end]))
            pos = end
    except struct.error:
        raise ProtocolViolation("malformed DataRow message: truncated") from None
    if pos != size:
        raise ProtocolViolation("malformed DataRow message: trailing bytes")
    return out


def encode_datarow(values: Sequence[bytes | None]) -> bytes:
    """The complete DataRow frame (type byte and length included) for ``values``."""
    parts = [b""]
    length = 6
    for value in values:
        if value is None:
            parts.append(_NULL)
            length += 4
        else:
            parts.append(_pack_len(len(value)))
            parts.append(value)
            length += 4 + len(value)
    parts[0] = _ROW_HEADER.pack(DATA_ROW, length, len(values))
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class DataRow(Message):
    TYPE: ClassVar[int] = DATA_ROW
    values: tuple[bytes | None, ...] = field(repr=False)
    raw: bytes = field(default=b"", repr=False)

    def encode(self) -> bytes:
        return encode_datarow(self.values)

    def body(self) -> bytes:
        return self.encode()[5:]
