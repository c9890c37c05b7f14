"""The response state machine: (phase, capabilities, packets) -> parts, done."""

from __future__ import annotations

import pytest

from wardgate_mysql.codec.constants import Capability, Status
from wardgate_mysql.codec.errors import MalformedPacket
from wardgate_mysql.codec.response_state import Part, Phase, ResponseTracker
from wardgate_mysql.codec.responses import EofPacket, ErrPacket, OkPacket
from wardgate_mysql.codec.resultset import ColumnDefinition41, encode_text_row

BASE = int(Capability.PROTOCOL_41)
DEPRECATE = BASE | int(Capability.DEPRECATE_EOF)
COLUMN = ColumnDefinition41("s", "t", "t", "c", "c", 45, 10, 0xFD).encode()
ROW = encode_text_row([b"v"])
ERR = ErrPacket(1064, "syntax").encode()


def _eof(status: int = Status.AUTOCOMMIT) -> bytes:
    return EofPacket(0, status).encode()


def _ok_eof(status: int = Status.AUTOCOMMIT) -> bytes:
    return OkPacket(status=status, header=0xFE).encode(DEPRECATE)


def _run(phase: Phase, caps: int, packets: list[bytes], cursor: bool = False) -> list[Part]:
    tracker = ResponseTracker(phase, caps, cursor)
    parts = []
    for index, packet in enumerate(packets):
        assert not tracker.done, f"done before packet {index}"
        parts.append(tracker.feed(packet))
    assert tracker.done
    return parts


def test_result_set_with_and_without_deprecate_eof() -> None:
    assert _run(Phase.FIRST, BASE, [b"\x01", COLUMN, _eof(), ROW, ROW, _eof()]) == [
        Part.COLUMN_COUNT,
        Part.COLUMN,
        Part.COLUMNS_END,
        Part.ROW,
        Part.ROW,
        Part.END,
    ]
    assert _run(Phase.FIRST, DEPRECATE, [b"\x01", COLUMN, ROW, _ok_eof()]) == [
        Part.COLUMN_COUNT,
        Part.COLUMN,
        Part.ROW,
        Part.END,
    ]


def test_multiple_results_and_error_mid_rows() -> None:
    more = Status.AUTOCOMMIT | Status.MORE_RESULTS_EXISTS
    packets = [OkPacket(status=more).encode(DEPRECATE), b"\x01", COLUMN, ROW, ERR]
    assert _run(Phase.FIRST, DEPRECATE, packets)[-1] is Part.ERR


def test_local_infile_then_answer() -> None:
    assert _run(Phase.FIRST, BASE, [b"\xfbfile", OkPacket().encode(BASE)]) == [
        Part.LOCAL_INFILE,
        Part.OK,
    ]


def test_prepare_ok_with_params_and_columns() -> None:
    ok = b"\x00\x01\x00\x00\x00\x01\x00\x02\x00\x00\x00\x00"
    assert _run(Phase.PREPARED, BASE, [ok, COLUMN, COLUMN, _eof(), COLUMN, _eof()]) == [
        Part.PREPARE_OK,
        Part.PARAM,
        Part.PARAM,
        Part.PARAMS_END,
        Part.COLUMN,
        Part.COLUMNS_END,
    ]
    assert len(_run(Phase.PREPARED, DEPRECATE, [ok, COLUMN, COLUMN, COLUMN])) == 4


def test_cursor_metadata_ends_the_execute_response() -> None:
    cursor = Status.AUTOCOMMIT | Status.CURSOR_EXISTS
    assert _run(Phase.FIRST, BASE, [b"\x01", COLUMN, _eof(cursor)], cursor=True)[-1] is (
        Part.COLUMNS_END
    )
    assert _run(Phase.FIRST, DEPRECATE, [b"\x01", COLUMN, _ok_eof(cursor)], cursor=True)[-1] is (
        Part.COLUMNS_END
    )


def test_single_packet_responses_and_packet_after_end() -> None:
    assert _run(Phase.SINGLE, BASE, [b"Uptime: 5"]) == [Part.INFO]
    tracker = ResponseTracker(Phase.SINGLE, BASE)
    tracker.feed(OkPacket().encode(BASE))
    with pytest.raises(MalformedPacket):
        tracker.feed(ROW)


def test_field_list_until_terminator() -> None:
    assert _run(Phase.FIELDS, BASE, [COLUMN, COLUMN, _eof()]) == [
        Part.COLUMN,
        Part.COLUMN,
        Part.END,
    ]
