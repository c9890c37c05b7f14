"""WebSocket frame boundaries (RFC 6455 §5.2) and Close frames, as byte vectors."""

from __future__ import annotations

import struct

import pytest

from wardgate_http.wsframe import POLICY_VIOLATION, FrameTracker, close_frame


def frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    first = bytes((0x80 | opcode,))
    bit = 0x80 if mask else 0
    if len(payload) < 126:
        head = first + bytes((bit | len(payload),))
    elif len(payload) < 1 << 16:
        head = first + bytes((bit | 126,)) + struct.pack("!H", len(payload))
    else:
        head = first + bytes((bit | 127,)) + struct.pack("!Q", len(payload))
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


FRAMES = [
    frame(0x1, b"hello"),
    frame(0x1, b"x" * 300, mask=b"abcd"),
    frame(0x2, b"y" * 70_000),
    frame(0x9, b""),
    frame(0x8, struct.pack("!H", 1000), mask=b"wxyz"),
]


def test_boundaries_at_every_split() -> None:
    stream = b"".join(FRAMES)
    ends = {sum(len(f) for f in FRAMES[: i + 1]) for i in range(len(FRAMES))}
    for cut in [*range(0, 20), *range(300, 330), len(FRAMES[0]) + 1, len(stream) - 3]:
        tracker = FrameTracker()
        tracker.feed(stream[:cut])
        assert tracker.at_boundary == (cut == 0 or cut in ends), cut
        tracker.feed(stream[cut:])
        assert tracker.at_boundary
        assert tracker.saw_close


def test_byte_by_byte() -> None:
    tracker = FrameTracker()
    for frame_bytes in FRAMES[:2]:
        for i in range(len(frame_bytes)):
            assert tracker.at_boundary == (i == 0)
            tracker.feed(frame_bytes[i : i + 1])
    assert tracker.at_boundary
    assert not tracker.saw_close


def test_close_frame_to_the_agent_is_unmasked() -> None:
    data = close_frame(POLICY_VIOLATION, "token expired", masked=False)
    assert data == b"\x88\x0f\x03\xf0token expired"


def test_close_frame_to_the_upstream_is_masked() -> None:
    data = close_frame(POLICY_VIOLATION, "token expired", masked=True)
    assert data[:2] == b"\x88\x8f"
    key, body = data[2:6], data[6:]
    assert bytes(b ^ key[i % 4] for i, b in enumerate(body)) == b"\x03\xf0token expired"
    tracker = FrameTracker()
    tracker.feed(data)
    assert tracker.at_boundary
    assert tracker.saw_close


@pytest.mark.parametrize("reason", ["r" * 200, ""])
def test_close_frame_fits_a_control_frame(reason: str) -> None:
    data = close_frame(POLICY_VIOLATION, reason, masked=False)
    assert data[1] <= 125
    assert len(data) == 2 + data[1]
