"""Backend frames the gateway itself sends to clients."""

from __future__ import annotations

from wardgate_postgres.codec import ErrorResponse, NoticeResponse


def error(sqlstate: str, message: str, detail: str | None = None, hint: str | None = None) -> bytes:
    return ErrorResponse.build(sqlstate, message, detail=detail, hint=hint).raw


def fatal(sqlstate: str, message: str, detail: str | None = None, hint: str | None = None) -> bytes:
    return ErrorResponse.build(sqlstate, message, severity="FATAL", detail=detail, hint=hint).raw


def notice(message: str, detail: str | None = None) -> bytes:
    return NoticeResponse.build("00000", message, severity="NOTICE", detail=detail).raw
