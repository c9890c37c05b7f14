"""Apply a `MaskingPlan` to MySQL row values (text and binary protocol).

The core decides *which* columns are masked and with which strategy; this module
rewrites the raw values so the row stays valid for the driver: string-typed
columns get a masked string (lengths recomputed by the row encoder), other types
become NULL, which every driver accepts for any column. Strategies the plugin
cannot apply faithfully (`hash` needs the core's key; value detectors need the
core's detectors) fail closed to NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

from wardgate.seam import MaskingPlan
from wardgate_mysql.codec.constants import ColumnType
from wardgate_mysql.codec.resultset import (
    Values,
    decode_binary_row,
    decode_text_row,
    encode_binary_row,
    encode_text_row,
)

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
REDACTED = b"****"


def mask_value(value: bytes | None, strategy: str, column_type: int) -> bytes | None:
    if value is None or column_type not in STRING_TYPES or strategy in ("null", "hash"):
        return None
    if strategy == "partial":
        keep = value[-4:] if len(value) > 8 else b""
        return b"*" * (len(value) - len(keep)) + keep
    return REDACTED


class RowMasker:
    """Rewrites the rows of one result set according to its plan."""

    def __init__(self, plan: MaskingPlan, types: Sequence[int], binary: bool) -> None:
        self.types = list(types)
        self.binary = binary
        self.masks = {mask.index: mask.strategy for mask in plan.columns}

    def __call__(self, payload: bytes) -> bytes:
        values = self._decode(payload)
        for index, strategy in self.masks.items():
            if 0 <= index < len(values):
                values[index] = mask_value(values[index], strategy, self.types[index])
        if self.binary:
            return encode_binary_row(values, self.types)
        return encode_text_row(values)

    def _decode(self, payload: bytes) -> Values:
        if self.binary:
            return decode_binary_row(payload, self.types)
        return decode_text_row(payload, len(self.types))
