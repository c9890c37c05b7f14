"""Masking COPY TO STDOUT rows (text and CSV formats) as text values.

The server sends one CopyData per row in COPY OUT. Each row is split into
fields by the format's rules (text: delimiter with backslash escapes and ``\\N``
for NULL; CSV: quoting with doubled quotes, unquoted empty for NULL), the masked
fields are rewritten as text values, and the row is re-escaped. Options this
module does not model (QUOTE, ESCAPE, NULL, FORCE_QUOTE, ENCODING) make the
format "unknown", and a COPY with anything to mask in an unknown or binary
format is withheld by the caller.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from wardgate_postgres.codec import Frame

Fn = Callable[[bytes], bytes | None]
_INT32 = struct.Struct("!i")


_COPY_FORMAT = re.compile(r"\bformat\s*'?(\w+)|\bwith\s+(csv|binary)\b|\b(csv|binary)\b", re.I)
_COPY_DELIMITER = re.compile(r"\bdelimiter\s+(?:as\s+)?E?'(\\?.)'", re.I)
_COPY_OTHER = re.compile(r"\b(quote|escape|force_quote|null|encoding)\b", re.I)
_UNESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.S)
_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


@dataclass(frozen=True, slots=True)
class CopyFormat:
    kind: str  # text | csv | binary | unknown
    delimiter: bytes


def copy_format(sql: str) -> CopyFormat:
    found = _COPY_FORMAT.search(sql)
    kind = next((g for g in found.groups() if g), "text").lower() if found else "text"
    delimiter = _COPY_DELIMITER.search(sql)
    separator = delimiter.group(1).encode() if delimiter else b"\t" if kind == "text" else b","
    if _COPY_OTHER.search(sql) or len(separator) != 1 or kind not in ("text", "csv", "binary"):
        return CopyFormat("unknown", separator)
    return CopyFormat(kind, separator)


def _unescape(field: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1] == b"x":
            return bytes([int(code[1:], 16)])
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _ESCAPES.get(code, code)

    return _UNESCAPE.sub(one, field)


def _escape(value: bytes, delimiter: bytes) -> bytes:
    out = value.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    return out.replace(delimiter, b"\\" + delimiter)


class CopyMasker:
    """Masks COPY TO STDOUT rows (one CopyData per row, text or CSV) as text values."""

    def __init__(self, fns: dict[int, Fn], fmt: CopyFormat) -> None:
        self.fns, self.fmt = fns, fmt

    def __call__(self, frame: Frame) -> bytes:
        data = frame.body
        end = b"\n" if data.endswith(b"\n") else b""
        line = data[: len(data) - len(end)]
        fields = self._split(line)
        for index, fn in self.fns.items():
            if index < len(fields) and fields[index] is not None:
                fields[index] = fn(fields[index])  # type: ignore[arg-type]
        return _copy_data(self._join(fields) + end)

    def _split(self, line: bytes) -> list[bytes | None]:
        if self.fmt.kind == "csv":
            return _csv_split(line, self.fmt.delimiter)
        return [
            None if f == b"\\N" else _unescape(f) for f in _text_split(line, self.fmt.delimiter)
        ]

    def _join(self, fields: list[bytes | None]) -> bytes:
        if self.fmt.kind == "csv":
            return self.fmt.delimiter.join(b"" if f is None else _csv_quote(f) for f in fields)
        return self.fmt.delimiter.join(
            b"\\N" if f is None else _escape(f, self.fmt.delimiter) for f in fields
        )


def _text_split(line: bytes, delimiter: bytes) -> list[bytes]:
    fields, current, position = [], bytearray(), 0
    while position < len(line):
        char = line[position : position + 1]
        if char == b"\\" and position + 1 < len(line):
            current += line[position : position + 2]
            position += 2
            continue
        if char == delimiter:
            fields.append(bytes(current))
            current = bytearray()
        else:
            current += char
        position += 1
    fields.append(bytes(current))
    return fields


def _csv_split(line: bytes, delimiter: bytes) -> list[bytes | None]:
    fields: list[bytes | None] = []
    current, quoted, in_quotes, position = bytearray(), False, False, 0
    while position < len(line):
        char = line[position : position + 1]
        if in_quotes:
            if char == b'"' and line[position + 1 : position + 2] == b'"':
                current += b'"'
                position += 1
            elif char == b'"':
                in_quotes = False
            else:
                current += char
        elif char == b'"':
            in_quotes = quoted = True
        elif char == delimiter:
            fields.append(bytes(current) if current or quoted else None)
            current, quoted = bytearray(), False
        else:
            current += char
        position += 1
    fields.append(bytes(current) if current or quoted else None)
    return fields


def _csv_quote(value: bytes) -> bytes:
    return b'"' + value.replace(b'"', b'""') + b'"'


def _copy_data(data: bytes) -> bytes:
    return b"d" + _INT32.pack(len(data) + 4) + data
