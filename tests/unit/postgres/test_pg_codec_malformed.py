"""Malformed bodies raise ProtocolViolation (or UnknownMessage), never a low-level error."""

from __future__ import annotations

import pytest

from wardgate_postgres.codec import (
    Frame,
    ProtocolViolation,
    UnknownMessage,
    datarow_values,
    decode_backend,
    decode_frontend,
    decode_startup,
)

FRONTEND_BAD = {
    "query without NUL": ("Q", b"abcd"),
    "query trailing bytes": ("Q", b"a\x00b"),
    "query invalid utf-8": ("Q", b"\xff\xfe\x00"),
    "query empty body": ("Q", b""),
    "parse oid count overruns": ("P", b"\x00x\x00\x00\x02\x00\x00"),
    "parse invalid utf-8 name": ("P", b"\xc3\x00x\x00\x00\x00"),
    "bind negative length": ("B", b"\x00\x00\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x00"),
    "bind value overruns": ("B", b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\t\x00\x00"),
    "bind value count overruns": ("B", b"\x00\x00\x00\x00\x00\x05\x00\x00"),
    "bind 2 formats for 1 value": (
        "B",
        b"\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\xff\xff\xff\xff\x00\x00",
    ),
    "bind missing result formats": ("B", b"\x00\x00\x00\x00\x00\x00"),
    "describe bad kind": ("D", b"X\x00"),
    "describe empty": ("D", b""),
    "close bad kind": ("C", b"s\x00"),
    "execute truncated": ("E", b"\x00\x00\x00"),
    "sync with body": ("S", b"x"),
    "terminate with body": ("X", b"x"),
    "copyfail without NUL": ("f", b"x"),
    "functioncall truncated": ("F", b"\x00\x00\x04\xd2"),
    "functioncall negative length": (
        "F",
        b"\x00\x00\x04\xd2\x00\x00\x00\x01\x80\x00\x00\x00\x00\x00",
    ),
}

BACKEND_BAD = {
    "auth empty": ("R", b""),
    "auth ok trailing": ("R", b"\x00\x00\x00\x00x"),
    "auth md5 short salt": ("R", b"\x00\x00\x00\x05\x01\x02"),
    "auth sasl unterminated list": ("R", b"\x00\x00\x00\nSCR"),
    "parameter status one string": ("S", b"ab\x00"),
    "backend key short": ("K", b"\x00\x00\x00\x01"),
    "row description truncated field": ("T", b"\x00\x01id\x00\x00"),
    "row description count overruns": ("T", b"\x00\x05"),
    "datarow negative length": ("D", b"\x00\x01\xff\xff\xff\xfe"),
    "datarow value overruns": ("D", b"\x00\x01\x00\x00\x00\x05x"),
    "datarow count overruns": ("D", b"\x00\x02"),
    "datarow trailing": ("D", b"\x00\x00x"),
    "datarow empty": ("D", b""),
    "command complete invalid utf-8": ("C", b"\xff\x00"),
    "error unterminated": ("E", b"SERROR"),
    "error missing final zero": ("E", b"SERROR\x00"),
    "notification truncated": ("A", b"\x00\x00"),
    "copy response count overruns": ("H", b"\x00\x00\x03\x00\x00"),
    "ready bad status": ("Z", b"X"),
    "ready empty": ("Z", b""),
    "parameter description overruns": ("t", b"\x00\x02\x00\x00\x00\x17"),
    "negotiate negative count": ("v", b"\x00\x00\x00\x00\xff\xff\xff\xff"),
    "negotiate count overruns": ("v", b"\x00\x00\x00\x00\x00\x00\x00\x02"),
    "function response negative": ("V", b"\xff\xff\xff\xfe"),
    "parse complete with body": ("1", b"x"),
}

STARTUP_BAD = {
    "too short": b"\x00\x00\x00\x04",
    "length mismatch": b"\x00\x00\x00\x10\x00\x03\x00\x00",
    "protocol 2.0": b"\x00\x00\x00\x09\x00\x02\x00\x00\x00",
    "protocol 4.0": b"\x00\x00\x00\x09\x00\x04\x00\x00\x00",
    "unterminated params": b"\x00\x00\x00\x0c\x00\x03\x00\x00user",
    "missing final NUL": b"\x00\x00\x00\x0e\x00\x03\x00\x00u\x00v\x00",
    "name without value": b"\x00\x00\x00\x0b\x00\x03\x00\x00u\x00\x00",
    "duplicate parameter": b"\x00\x00\x00\x11\x00\x03\x00\x00u\x00a\x00u\x00b\x00\x00",
    "invalid utf-8": b"\x00\x00\x00\x0f\x00\x03\x00\x00user\x00\xff\x00\x00",
    "ssl request with payload": b"\x00\x00\x00\x09\x04\xd2\x16\x2fx",
    "cancel too short": b"\x00\x00\x00\x0c\x04\xd2\x16\x2e\x00\x00\x00\x01",
}


def _frame(entry: tuple[str, bytes]) -> Frame:
    """Frame the body correctly: the body, not the length, is what is under test."""
    type_char, body = entry
    return Frame(ord(type_char), body)


@pytest.mark.parametrize("wire", FRONTEND_BAD.values(), ids=FRONTEND_BAD.keys())
def test_malformed_frontend(wire: tuple[str, bytes]) -> None:
    frame = _frame(wire)
    with pytest.raises(ProtocolViolation, match=r"malformed|invalid") as caught:
        decode_frontend(frame)
    assert caught.value.sqlstate == "08P01"


@pytest.mark.parametrize("wire", BACKEND_BAD.values(), ids=BACKEND_BAD.keys())
def test_malformed_backend(wire: tuple[str, bytes]) -> None:
    frame = _frame(wire)
    with pytest.raises(ProtocolViolation, match=r"malformed|invalid"):
        decode_backend(frame)


@pytest.mark.parametrize("packet", STARTUP_BAD.values(), ids=STARTUP_BAD.keys())
def test_malformed_startup(packet: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        decode_startup(packet)


def test_unknown_types_name_type_and_phase() -> None:
    with pytest.raises(UnknownMessage) as caught:
        decode_frontend(Frame(ord("Z"), b""))
    assert (caught.value.type_code, caught.value.phase) == (ord("Z"), "frontend")
    assert "'Z'" in caught.value.message
    with pytest.raises(UnknownMessage) as caught:
        decode_backend(Frame(0xFF, b""))
    assert (caught.value.type_code, caught.value.phase) == (0xFF, "backend")


def test_datarow_values_rejects_malformed() -> None:
    for body in (b"", b"\x00", b"\x00\x01\x00\x00", b"\x00\x01\xff\xff\xff\xfe", b"\x00\x00z"):
        with pytest.raises(ProtocolViolation):
            datarow_values(body)


# The relay reads CommandComplete tags and ReadyForQuery statuses straight from the
# frame; every body must give what the strict decoder gives, or raise as it does.
_FAST_READ_BODIES = [
    b"SELECT 1\x00",
    b"\x00",
    b"INSERT 0 5\x00",
    b"S\xc3\xa9LECT 1\x00",  # non-ASCII: the strict path
    b"SELECT 1",  # no NUL
    b"",
    b"SELECT\x001\x00",  # trailing bytes
    b"\xff\x00",  # invalid UTF-8
    b"I",
    b"T",
    b"E",
    b"X",
    b"II",
]


@pytest.mark.parametrize("body", _FAST_READ_BODIES)
def test_complete_tag_and_ready_status_match_the_strict_decoder(body: bytes) -> None:
    from wardgate_postgres.codec import complete_tag, ready_status

    for kind, read, field in (("C", complete_tag, "tag"), ("Z", ready_status, "status")):
        frame = Frame(ord(kind), body)
        try:
            expected = getattr(decode_backend(frame), field)
        except ProtocolViolation:
            with pytest.raises(ProtocolViolation):
                read(frame)
        else:
            assert read(frame) == expected


@pytest.mark.parametrize("body", _FAST_READ_BODIES)
def test_plain_tag_is_the_strict_tag_or_none(body: bytes) -> None:
    """The relay's scan reads tags with `plain_tag`; whatever it cannot vouch for goes
    to the strict decoder, so it may answer None but never a different tag."""
    from wardgate_postgres.codec import plain_tag

    tag = plain_tag(body)
    if tag is not None:
        assert tag == decode_backend(Frame(ord("C"), body)).tag
    if body in (b"SELECT\x001\x00", b"\xff\x00", b""):
        assert tag is None
