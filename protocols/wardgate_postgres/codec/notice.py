"""ErrorResponse ('E') and NoticeResponse ('N'): lists of (field code, text) pairs.

"Message Formats" and "Error and Notice Message Fields" (protocol 3.0): the body
is a sequence of a Byte1 field code followed by a String, ended by a zero byte.
Codes used here: S (localized severity), V (severity, never localized; 9.6+),
C (SQLSTATE), M (message), D (detail), H (hint). Unknown codes are kept as-is,
in order, so ``encode()`` reproduces the original bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from .message import Message
from .wire import Reader, cstr

SEVERITY = "S"
SEVERITY_NONLOCALIZED = "V"
CODE = "C"
MESSAGE = "M"
DETAIL = "D"
HINT = "H"

Fields = tuple[tuple[str, str], ...]


class _Fields(Message):
    __slots__ = ()
    fields: Fields

    def body(self) -> bytes:
        parts = [_code_byte(code) + cstr(text) for code, text in self.fields]
        return b"".join(parts) + b"\x00"

    def field(self, code: str) -> str | None:
        """The first value of field ``code``, or None."""
        for key, text in self.fields:
            if key == code:
                return text
        return None

    @property
    def sqlstate(self) -> str:
        return self.field(CODE) or ""

    @property
    def message(self) -> str:
        return self.field(MESSAGE) or ""

    @property
    def severity(self) -> str:
        """The non-localized severity (V), falling back to the localized one (S)."""
        return self.field(SEVERITY_NONLOCALIZED) or self.field(SEVERITY) or ""

    @property
    def detail(self) -> str | None:
        return self.field(DETAIL)

    @property
    def hint(self) -> str | None:
        return self.field(HINT)

    @classmethod
    def build(
        cls,
        sqlstate: str,
        message: str,
        severity: str = "ERROR",
        detail: str | None = None,
        hint: str | None = None,
    ) -> Self:
        """S, V, C, M and the optional D and H, in the order the server sends them."""
        fields: list[tuple[str, str]] = [
            (SEVERITY, severity),
            (SEVERITY_NONLOCALIZED, severity),
            (CODE, sqlstate),
            (MESSAGE, message),
        ]
        if detail is not None:
            fields.append((DETAIL, detail))
        if hint is not None:
            fields.append((HINT, hint))
        return cls(tuple(fields))  # type: ignore[call-arg]


def _code_byte(code: str) -> bytes:
    data = code.encode("latin-1")
    if len(data) != 1 or data == b"\x00":
        raise ValueError(f"field code must be one non-zero byte, not {code!r}")
    return data


@dataclass(frozen=True, slots=True)
class ErrorResponse(_Fields):
    TYPE: ClassVar[int] = ord("E")
    fields: Fields
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class NoticeResponse(_Fields):
    TYPE: ClassVar[int] = ord("N")
    fields: Fields
    raw: bytes = field(default=b"", repr=False)


def decode_fields(r: Reader) -> Fields:
    pairs: list[tuple[str, str]] = []
    while (code := r.byte()) != 0:
        pairs.append((chr(code), r.cstr()))
    return tuple(pairs)
