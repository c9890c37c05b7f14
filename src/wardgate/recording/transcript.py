"""`wardgate replay ID`: the recording as a human-readable transcript.

Each frame is one block: its time offset, direction and length, then its bytes with
printable ASCII kept and everything else as ``\\xNN`` — protocol-neutral, so every
plugin's recordings read the same (`frame_view` is the same for the web page: text
and a hex dump per frame). `speed` scales the recorded pauses (1 = real
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


def readable(data: bytes) -> str:
    """Printable ASCII, tabs and newlines kept; every other byte a middle dot."""
    return "".join(chr(b) if 32 <= b < 127 or b in (9, 10) else "·" for b in data)


def hex_dump(data: bytes) -> str:
    """16 bytes a line: offset, hex, and the printable ASCII beside it."""
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{start:08x}  {chunk.hex(' '):<47}  |{ascii_}|")
    return "\n".join(lines)


def frame_view(frame: RecordedFrame, limit: int = 2048) -> dict[str, Any]:
    """One frame for the web page: its first `limit` bytes as text and as a hex dump."""
    shown = frame.data[:limit]
    return {
        "offset": round(frame.offset, 6),
        "direction": frame.direction.value,
        "size": len(frame.data),
        "text": readable(shown),
        "hex": hex_dump(shown),
        "truncated": len(frame.data) > limit,
    }


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
