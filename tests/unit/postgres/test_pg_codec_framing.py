"""FrameSplitter and StartupSplitter: every split point, caps checked before buffering."""

from __future__ import annotations

import pytest
from pg_codec_vectors import BACKEND, FRONTEND, STARTUP, ids

from wardgate_postgres.codec import (
    Frame,
    FrameSplitter,
    FrameTooLarge,
    ProtocolViolation,
    StartupSplitter,
)

TYPED = FRONTEND + BACKEND
STREAM = b"".join(wire for _, wire in TYPED)
EXPECTED = [Frame.from_raw(wire) for _, wire in TYPED]


@pytest.mark.parametrize(("message", "wire"), TYPED, ids=ids(TYPED))
def test_every_message_split_at_every_byte(message: object, wire: bytes) -> None:
    for cut in range(len(wire) + 1):
        splitter = FrameSplitter(max_frame=1 << 20)
        frames = splitter.feed(wire[:cut]) + splitter.feed(wire[cut:])
        assert frames == [Frame.from_raw(wire)]
        assert frames[0].raw == wire
        assert splitter.buffered() == 0


def test_stream_split_at_every_byte() -> None:
    for cut in range(len(STREAM) + 1):
        splitter = FrameSplitter(max_frame=1 << 20)
        frames = splitter.feed(STREAM[:cut]) + splitter.feed(STREAM[cut:])
        assert frames == EXPECTED


def test_stream_fed_byte_by_byte() -> None:
    splitter = FrameSplitter(max_frame=1 << 20)
    frames: list[Frame] = []
    for i in range(len(STREAM)):
        frames += splitter.feed(STREAM[i : i + 1])
    assert frames == EXPECTED
    assert all(type(frame.raw) is bytes for frame in frames)


def test_incomplete_tail_is_kept() -> None:
    splitter = FrameSplitter(max_frame=100)
    assert splitter.feed(b"Z\x00\x00\x00\x05IZ\x00") == [Frame(ord("Z"), b"I")]
    assert splitter.buffered() == 2
    assert splitter.feed(b"\x00\x00\x05T") == [Frame(ord("Z"), b"T")]
    assert splitter.buffered() == 0


def test_oversized_declared_length_raises_before_buffering() -> None:
    splitter = FrameSplitter(max_frame=1000)
    with pytest.raises(FrameTooLarge) as caught:
        splitter.feed(b"D\x00\x10\x00\x00")  # header only: 1 MiB declared
    assert (caught.value.declared, caught.value.limit) == (0x100000, 1000)
    assert caught.value.sqlstate == "08P01"
    assert splitter.buffered() == 0


def test_oversized_after_a_buffered_tail() -> None:
    splitter = FrameSplitter(max_frame=1000)
    assert splitter.feed(b"D\x00") == []
    with pytest.raises(FrameTooLarge):
        splitter.feed(b"\x10\x00\x00")


def test_limit_is_inclusive() -> None:
    wire = Frame(ord("d"), b"x" * 96).raw  # declared length 100
    assert FrameSplitter(max_frame=100).feed(wire) == [Frame.from_raw(wire)]
    with pytest.raises(FrameTooLarge):
        FrameSplitter(max_frame=99).feed(wire)


@pytest.mark.parametrize(
    "header", [b"Q\x00\x00\x00\x03", b"Q\x00\x00\x00\x00", b"Q\xff\xff\xff\xff"]
)
def test_length_below_four_is_a_violation(header: bytes) -> None:
    with pytest.raises(ProtocolViolation, match="invalid message length"):
        FrameSplitter(max_frame=1000).feed(header)


@pytest.mark.parametrize(("message", "wire"), STARTUP, ids=ids(STARTUP))
def test_startup_split_at_every_byte(message: object, wire: bytes) -> None:
    for cut in range(len(wire) + 1):
        splitter = StartupSplitter()
        first = splitter.feed(wire[:cut])
        second = splitter.feed(wire[cut:])
        assert (first if cut == len(wire) else second) == wire
        assert splitter.remainder() == b""


def test_startup_remainder_keeps_pipelined_bytes() -> None:
    splitter = StartupSplitter()
    assert splitter.feed(b"\x00\x00\x00\x08\x04\xd2") is None
    assert splitter.remainder() == b""
    assert splitter.feed(b"\x16\x2f\x16\x03\x01") == b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
    assert splitter.remainder() == b"\x16\x03\x01"
    assert splitter.feed(b"\x02") is None
    assert splitter.remainder() == b"\x16\x03\x01\x02"


def test_startup_too_large_raises_on_the_length() -> None:
    with pytest.raises(FrameTooLarge):
        StartupSplitter().feed(b"\x00\x01\x00\x00")
    with pytest.raises(FrameTooLarge):
        StartupSplitter(max_frame=100).feed(b"\x00\x00\x00\x65")


@pytest.mark.parametrize("length", [b"\x00\x00\x00\x07", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"])
def test_startup_too_small_is_a_violation(length: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        StartupSplitter().feed(length)


def _frames_of(complete: bytes, starts: list[int]) -> list[Frame]:
    if not starts:
        return []
    ends = [*starts[1:], len(complete)]
    return [Frame.from_raw(complete[s:e]) for s, e in zip(starts, ends, strict=True)]


def test_feed_starts_at_every_byte_matches_feed() -> None:
    """The relay's row-counting path sees the same frames as `feed`, cut anywhere."""
    for cut in range(len(STREAM) + 1):
        splitter = FrameSplitter(max_frame=1 << 20)
        first = splitter.feed_starts(STREAM[:cut])
        second = splitter.feed_starts(STREAM[cut:])
        assert first[0] + second[0] == STREAM[: len(first[0]) + len(second[0])]
        assert _frames_of(*first) + _frames_of(*second) == EXPECTED
        assert splitter.buffered() == 0


def test_feed_starts_and_feed_share_the_incomplete_tail() -> None:
    splitter = FrameSplitter(max_frame=100)
    assert splitter.feed_starts(b"Z\x00\x00\x00\x05IZ\x00") == (b"Z\x00\x00\x00\x05I", [0])
    assert splitter.feed(b"\x00\x00\x05T") == [Frame(ord("Z"), b"T")]
    assert splitter.feed_starts(b"") == (b"", [])


def test_feed_starts_refuses_what_feed_refuses() -> None:
    with pytest.raises(FrameTooLarge):
        FrameSplitter(max_frame=1000).feed_starts(b"D\x00\x10\x00\x00")
    with pytest.raises(ProtocolViolation):
        FrameSplitter(max_frame=1000).feed_starts(b"D\x00\x00\x00\x03")
