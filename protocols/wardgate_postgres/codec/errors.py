"""Typed protocol errors, each carrying the SQLSTATE the gateway should reply with.

The codec raises only these (never ``IndexError``, ``struct.error`` or
``UnicodeDecodeError``): a decoder either returns a message or raises a
`ProtocolViolation`. PostgreSQL itself answers malformed input with SQLSTATE 08P01
(``protocol_violation``, see "Appendix A. PostgreSQL Error Codes"), which is the default.
"""

from __future__ import annotations

PROTOCOL_VIOLATION = "08P01"


class ProtocolViolation(Exception):
    """The peer sent bytes that break the protocol; reply with `sqlstate` and close."""

    sqlstate: str
    message: str

    def __init__(self, message: str, sqlstate: str = PROTOCOL_VIOLATION) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


class FrameTooLarge(ProtocolViolation):
    """A header declared a length over the configured cap (checked before buffering)."""

    declared: int
    limit: int

    def __init__(self, declared: int, limit: int) -> None:
        super().__init__(f"message length {declared} exceeds the limit of {limit} bytes")
        self.declared = declared
        self.limit = limit


class UnknownMessage(ProtocolViolation):
    """A type byte that has no meaning in this direction (`phase` says where)."""

    type_code: int
    phase: str

    def __init__(self, type_code: int, phase: str) -> None:
        shown = repr(chr(type_code)) if 32 <= type_code < 127 else f"0x{type_code:02x}"
        super().__init__(f"unexpected message type {shown} in {phase}")
        self.type_code = type_code
        self.phase = phase
