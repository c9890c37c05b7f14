"""Reading a recording, including one a crash cut short.

The gzip stream is inflated incrementally, so a file without its gzip trailer (the
gateway was killed) yields every frame up to its last sync flush; `Recording.complete`
is False then and there is no footer. `verify` recomputes the closing digest.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardgate.recording.format import (
    DIRECTIONS,
    TAG_END,
    FormatError,
    RawFrame,
    decode_frame,
    decode_header,
)
from wardgate.seam import Direction, RecordedFrame

READ_CHUNK = 1024 * 1024


@dataclass(slots=True)
class Recording:
    path: Path
    header: dict[str, Any]
    frames: list[RecordedFrame] = field(default_factory=list)
    footer: dict[str, Any] | None = None
    digest: str = ""  # recomputed over everything before the footer

    @property
    def complete(self) -> bool:
        return self.footer is not None

    @property
    def session_id(self) -> str:
        return str(self.header.get("session", ""))

    def verify(self) -> str:
        """ "" if the closing digest matches, else why not."""
        if self.footer is None:
            return "recording has no footer (the session did not end cleanly)"
        if self.footer.get("sha256") != self.digest:
            return "closing digest does not match the recorded frames"
        return ""


def inflate(path: Path) -> bytes:
    """Every byte that can be decompressed from `path` (tolerates a missing trailer)."""
    raw = path.read_bytes()
    if not raw.startswith(b"\x1f\x8b"):
        return raw  # an uncompressed recording
    inflater = zlib.decompressobj(wbits=31)
    try:
        return inflater.decompress(raw)
    except zlib.error:
        return _inflate_prefix(raw)


def _inflate_prefix(raw: bytes) -> bytes:
    """Byte-wise fallback for a damaged tail: keep what inflates cleanly."""
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    for start in range(0, len(raw), 4096):
        try:
            out += inflater.decompress(raw[start : start + 4096])
        except zlib.error:
            break
    return bytes(out)


def _frames(data: bytes, offset: int, recording: Recording) -> None:
    position = offset
    while True:
        frame, after = decode_frame(data, position)
        if frame is None:
            break
        if frame.tag == TAG_END:
            recording.digest = hashlib.sha256(data[:position]).hexdigest()
            recording.footer = _footer(frame)
            break
        recording.frames.append(
            RecordedFrame(frame.offset_us / 1_000_000, DIRECTIONS[frame.tag], frame.data)
        )
        position = after


def _footer(frame: RawFrame) -> dict[str, Any]:
    import json

    try:
        footer = json.loads(frame.data)
    except ValueError as exc:
        raise FormatError(f"recording footer is not JSON: {exc}") from None
    return footer if isinstance(footer, dict) else {}


def read_recording(path: Path, header_only: bool = False) -> Recording:
    data = inflate(path) if not header_only else _head(path)
    header, offset = decode_header(data)
    recording = Recording(path, header)
    if not header_only:
        _frames(data, offset, recording)
    return recording


def _head(path: Path) -> bytes:
    """Enough of the start of `path` to decode its header."""
    with path.open("rb") as handle:
        raw = handle.read(65536)
    if not raw.startswith(b"\x1f\x8b"):
        return raw
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, 1 << 20)
    except zlib.error as exc:
        raise FormatError(f"cannot decompress: {exc}") from None


def server_bytes(recording: Recording) -> bytes:
    return b"".join(f.data for f in recording.frames if f.direction is Direction.SERVER_TO_CLIENT)
