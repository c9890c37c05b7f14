"""Apply a `MaskingPlan` to MySQL row values (text and binary protocol).

The core decides *which* columns are masked, with which strategy, and rewrites
logical values (`ValueMasker`); this module decodes each raw value into that
logical form and encodes the answer so the row stays valid for the driver:

* string-typed columns (CHAR, VARCHAR, TEXT/BLOB, ENUM, SET) are masked as text;
  JSON columns become a JSON string, so a driver that parses JSON still can;
* integer columns can only be hashed — into the same width, little-endian in the
  binary protocol, decimal in the text protocol; other strategies give NULL;
* every other type becomes NULL, which every driver accepts for any column.

With detectors configured, string-typed columns are scanned as well. Rows are
rebuilt with lengths recomputed by the row encoders. `scrub_err` passes ERR
messages that can echo values (duplicate entry, incorrect value) through the
core's `message` scrubber.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from wardgate.seam import ColumnMask, MaskingPlan, ValueMasker
from wardgate_mysql.codec.constants import ColumnType
from wardgate_mysql.codec.responses import ErrPacket
from wardgate_mysql.codec.resultset import (
    Values,
    decode_binary_row,
    decode_text_row,
    encode_binary_row,
    encode_text_row,
)

Value = bytes | None
Fn = Callable[[bytes], Value]

STRING_TYPES = frozenset(
    {
        ColumnType.VARCHAR,
        ColumnType.VAR_STRING,
        ColumnType.STRING,
        ColumnType.TINY_BLOB,
        ColumnType.MEDIUM_BLOB,
        ColumnType.LONG_BLOB,
        ColumnType.BLOB,
        ColumnType.JSON,
        ColumnType.ENUM,
        ColumnType.SET,
    }
)
INT_BITS = {
    ColumnType.TINY: 8,
    ColumnType.SHORT: 16,
    ColumnType.YEAR: 16,
    ColumnType.INT24: 24,
    ColumnType.LONG: 32,
    ColumnType.LONGLONG: 64,
}


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _bytes(text: str | None) -> Value:
    return None if text is None else text.encode("utf-8", "surrogateescape")


def mask_fn(mask: ColumnMask, column_type: int, binary: bool, masker: ValueMasker) -> Fn:
    if column_type == ColumnType.JSON:
        return lambda v: _json(masker.text(mask, _text(v)))
    if column_type in STRING_TYPES:
        return lambda v: _bytes(masker.text(mask, _text(v)))
    bits = INT_BITS.get(column_type)  # type: ignore[call-overload]
    if bits is not None and mask.strategy == "hash":
        return _int_fn(mask, bits, binary, masker)
    null = ColumnMask(mask.index, mask.rule, "null", 0)

    def nulled(value: bytes) -> Value:
        masker.text(null, "")  # counted; NULL is valid for every type
        return None

    return nulled


def _json(text: str | None) -> Value:
    return None if text is None else json.dumps(text).encode()


def _int_fn(mask: ColumnMask, bits: int, binary: bool, masker: ValueMasker) -> Fn:
    width = 4 if bits == 24 else bits // 8  # MEDIUMINT travels in 4 bytes

    def rewrite(value: bytes) -> Value:
        number = int.from_bytes(value, "little", signed=True) if binary else int(value)
        hashed = masker.integer(mask, number, bits)
        if hashed is None:
            return None
        return hashed.to_bytes(width, "little", signed=True) if binary else str(hashed).encode()

    return rewrite


def scan_fn(column_type: int, masker: ValueMasker) -> Fn | None:
    if column_type not in STRING_TYPES:
        return None
    structured = column_type == ColumnType.JSON

    def scan(value: bytes) -> Value:
        text = _text(value)
        result = masker.scan(text, structured)
        return value if result is text else _bytes(result)

    return scan


class RowMasker:
    """Rewrites the rows of one result set according to its plan."""

    def __init__(self, plan: MaskingPlan, types: Sequence[int], binary: bool) -> None:
        self.types = list(types)
        self.binary = binary
        self.fns = _column_fns(plan, self.types, binary)

    def __call__(self, payload: bytes) -> bytes:
        if not self.fns:
            return payload
        values = self._decode(payload)
        for index, fn in self.fns:
            value = values[index]
            if value is not None:
                values[index] = fn(value)
        if self.binary:
            return encode_binary_row(values, self.types)
        return encode_text_row(values)

    def _decode(self, payload: bytes) -> Values:
        if self.binary:
            return decode_binary_row(payload, self.types)
        return decode_text_row(payload, len(self.types))


def _column_fns(plan: MaskingPlan, types: list[int], binary: bool) -> list[tuple[int, Fn]]:
    masker = plan.masker
    if masker is None:  # a plan without the core's masker cannot rewrite: fail closed
        return [(i, lambda v: None) for i in range(len(types))] if not plan.empty else []
    masks = {mask.index: mask for mask in plan.columns}
    fns: list[tuple[int, Fn]] = []
    for index, column_type in enumerate(types):
        mask = masks.get(index)
        if mask is not None:
            fns.append((index, mask_fn(mask, column_type, binary, masker)))
        elif plan.detectors:
            scanner = scan_fn(column_type, masker)
            if scanner is not None:
                fns.append((index, scanner))
    return fns


def scrub_err(payload: bytes, masker: ValueMasker) -> bytes:
    """An ERR packet whose message may echo values, scrubbed (same packet if clean)."""
    err = ErrPacket.decode(payload)
    message = masker.message(err.message)
    if message == err.message:
        return payload
    return ErrPacket(err.code, message, err.sqlstate).encode()
