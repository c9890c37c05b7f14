"""Byte vectors both ways for every message: decode(bytes) == message, encode() == bytes."""

from __future__ import annotations

import pytest
from pg_codec_vectors import BACKEND, FRONTEND, STARTUP, ids

from wardgate_postgres.codec import (
    Bind,
    DataRow,
    ErrorResponse,
    Frame,
    Message,
    NoticeResponse,
    PasswordMessage,
    ProtocolViolation,
    Query,
    StartupMessage,
    backend_name,
    datarow_values,
    decode_backend,
    decode_frontend,
    decode_startup,
    encode_cancel,
    encode_datarow,
    encode_startup,
    frontend_name,
)


@pytest.mark.parametrize(("message", "wire"), FRONTEND, ids=ids(FRONTEND))
def test_frontend_vectors(message: Message, wire: bytes) -> None:
    decoded = decode_frontend(Frame.from_raw(wire))
    assert decoded == message
    assert decoded.raw == wire
    assert message.encode() == wire
    assert message.raw == wire


@pytest.mark.parametrize(("message", "wire"), BACKEND, ids=ids(BACKEND))
def test_backend_vectors(message: Message, wire: bytes) -> None:
    decoded = decode_backend(Frame.from_raw(wire))
    assert decoded == message
    assert decoded.raw == wire
    assert message.encode() == wire
    assert message.raw == wire


@pytest.mark.parametrize(("message", "wire"), STARTUP, ids=ids(STARTUP))
def test_startup_vectors(message: StartupMessage, wire: bytes) -> None:
    decoded = decode_startup(wire)
    assert decoded == message
    assert decoded.raw == wire
    assert message.encode() == wire


def test_raw_is_kept_not_recomputed() -> None:
    wire = b"Q\x00\x00\x00\x0dselect 1\x00"
    frame = Frame.from_raw(wire)
    assert decode_frontend(frame).raw is frame.raw


def test_frame_constructor_and_body() -> None:
    frame = Frame(ord("Q"), b"x\x00")
    assert frame.raw == b"Q\x00\x00\x00\x06x\x00"
    assert frame.body == b"x\x00"
    assert frame.type == ord("Q")
    with pytest.raises(AttributeError):
        frame.type = 1


def test_frame_from_raw_rejects_length_mismatch() -> None:
    with pytest.raises(ProtocolViolation):
        Frame.from_raw(b"Q\x00\x00\x00\x09x\x00")


def test_build_is_the_constructor() -> None:
    assert Query.build("select 1") == Query("select 1")


def test_startup_helpers() -> None:
    packet = encode_startup({"user": "u", "database": "d"})
    message = decode_startup(packet)
    assert isinstance(message, StartupMessage)
    assert message.parameters["user"] == "u"
    assert message.parameters.get("database") == "d"
    assert dict(message.parameters) == {"user": "u", "database": "d"}
    assert (message.major, message.minor) == (3, 0)
    assert (
        encode_cancel(1, 2) == b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x00\x01\x00\x00\x00\x02"
    )


def test_startup_accepts_plain_dict() -> None:
    message = StartupMessage(196608, {"user": "u"})  # type: ignore[arg-type]
    assert message.parameters == {"user": "u"}
    assert hash(message) == hash(StartupMessage(196608, {"user": "u"}))  # type: ignore[arg-type]


def test_password_message_readings() -> None:
    assert PasswordMessage.password("tok").password_text() == "tok"
    assert PasswordMessage.password("tok").raw == b"p\x00\x00\x00\x08tok\x00"
    initial = PasswordMessage.sasl_initial("SCRAM-SHA-256", b"n,,n=,r=x")
    assert initial.decode_sasl_initial() == ("SCRAM-SHA-256", b"n,,n=,r=x")
    assert PasswordMessage.sasl_initial("M", None).decode_sasl_initial() == ("M", None)
    assert PasswordMessage.sasl_response(b"c=biws").data == b"c=biws"
    with pytest.raises(ProtocolViolation):
        PasswordMessage(b"no terminator").password_text()
    with pytest.raises(ProtocolViolation):
        PasswordMessage(b"M\x00\x00\x00\x00\x09short").decode_sasl_initial()


def test_password_is_not_in_repr() -> None:
    assert "hunter2" not in repr(PasswordMessage.password("hunter2"))


def test_bind_format_resolution() -> None:
    bind = Bind("", "", (1,), (b"a", b"b"), ())
    assert [bind.param_format(i) for i in range(2)] == [1, 1]
    assert bind.result_format(5) == 0
    mixed = Bind("", "", (0, 1), (b"a", b"b"), (1, 0))
    assert [mixed.param_format(i) for i in range(2)] == [0, 1]
    assert [mixed.result_format(i) for i in range(2)] == [1, 0]


def test_error_response_build_and_helpers() -> None:
    error = ErrorResponse.build("42501", "denied by rule agents", hint="ask a dba")
    assert error.fields == (
        ("S", "ERROR"),
        ("V", "ERROR"),
        ("C", "42501"),
        ("M", "denied by rule agents"),
        ("H", "ask a dba"),
    )
    assert (error.sqlstate, error.message, error.severity) == (
        "42501",
        "denied by rule agents",
        "ERROR",
    )
    assert error.hint == "ask a dba"
    assert error.detail is None
    assert decode_backend(Frame.from_raw(error.raw)) == error
    notice = NoticeResponse.build("01000", "held for review", severity="NOTICE", detail="id 7")
    assert (notice.severity, notice.detail) == ("NOTICE", "id 7")
    assert isinstance(notice, NoticeResponse)


def test_severity_falls_back_to_localized() -> None:
    assert ErrorResponse((("S", "FEHLER"), ("C", "XX000"))).severity == "FEHLER"


def test_encoders_refuse_embedded_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        Query("select 1\x00; drop table t")
    with pytest.raises(ValueError, match="NUL"):
        ErrorResponse.build("42501", "bad\x00")


def test_datarow_fast_path() -> None:
    values = [b"1", None, b"", b"x" * 300]
    frame = encode_datarow(values)
    assert datarow_values(Frame.from_raw(frame).body) == values
    assert datarow_values(memoryview(frame)[5:]) == values
    assert decode_backend(Frame.from_raw(frame)) == DataRow(tuple(values))
    assert encode_datarow(()) == b"D\x00\x00\x00\x06\x00\x00"


def test_names() -> None:
    assert frontend_name(ord("Q")) == "Query"
    assert backend_name(ord("D")) == "DataRow"
    assert frontend_name(0) == "?"
