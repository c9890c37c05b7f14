"""Typed protocol errors; each carries the ERR packet fields to send for it."""

from __future__ import annotations

from wardgate_mysql.errcodes import ERRORS


class MySQLProtocolError(Exception):
    """A protocol violation; `code`/`sqlstate` say how to report it on the wire."""

    def __init__(self, message: str, name: str = "ER_MALFORMED_PACKET") -> None:
        super().__init__(message)
        self.message = message
        self.code, self.sqlstate, _ = ERRORS[name]


class MalformedPacket(MySQLProtocolError):
    """A payload that does not decode as the packet expected in this phase."""


class SequenceError(MySQLProtocolError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "ER_NET_PACKETS_OUT_OF_ORDER")


class PacketTooLarge(MySQLProtocolError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "ER_NET_PACKET_TOO_LARGE")
