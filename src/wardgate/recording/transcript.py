"""`wardgate replay ID`: the recording as a human-readable transcript.

Each frame is one block: its time offset, direction and length, then its bytes with
printable ASCII kept and everything else as ``\\xNN`` — protocol-neutral, so every
plugin's recordings read the same. `speed` scales the recorded pauses (1 = real
time, 10 = ten times faster, 0 = no delay); the sleep function is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from wardgate.seam import Direction, RecordedFrame

ARROWS = {
    Direction.CLIENT_TO_SERVER: "client → server",
    Direction.SERVER_TO_CLIENT: "server → client",
}
WIDTH = 100


def printable(data: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02x}" for b in data)


def frame_lines(frame: RecordedFrame, limit: int = 4096) -> list[str]:
    head = f"[{frame.offset:10.6f}s] {ARROWS[frame.direction]} ({len(frame.data)} bytes)"
    text = printable(frame.data[:limit]) + ("…" if len(frame.data) > limit else "")
    return [head] + ["    " + text[i : i + WIDTH] for i in range(0, len(text), WIDTH)]


def header_lines(header: dict[str, Any]) -> list[str]:
    keys = "session identity groups resource protocol client database policy_version started"
    return [f"# {key}: {header.get(key, '')}" for key in keys.split()]


def play(
    frames: list[RecordedFrame],
    speed: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[str]]:
    """Yield each frame's lines, sleeping the recorded gap divided by `speed` first."""
    previous = 0.0
    for frame in frames:
        gap = frame.offset - previous
        if speed > 0 and gap > 0:
            sleep(gap / speed)
        previous = frame.offset
        yield frame_lines(frame)
