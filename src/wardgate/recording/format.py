"""The recording byte layout (before gzip), version 1.

::

    magic      b"WGREC1\\n"
    header     u32 length, JSON  {session, identity, groups, resource, protocol,
                                  client, database, policy_version, started, …}
    frame*     tag u8 (">" client→server, "<" server→client), u64 offset µs, u32 length, bytes
    footer     tag "E", u64 offset µs, u32 length, JSON {ended, reason, frames,
                                  bytes_c2s, bytes_s2c, sha256}

``sha256`` in the footer is the digest of every byte before the footer (magic,
header and frames): the closing digest. The session's ``session_end`` audit record
repeats it, which ties the recording to the hash chain. Integers are big-endian.
Frames hold exactly what the protocol plugin tapped: data as the client saw it,
taken only after authentication, so no password or token is ever in a frame.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from wardgate.seam import Direction

MAGIC = b"WGREC1\n"
SUFFIX = ".wgrec.gz"
FRAME = struct.Struct(">cQI")
LENGTH = struct.Struct(">I")
TAG_C2S, TAG_S2C, TAG_END = b">", b"<", b"E"
TAGS = {Direction.CLIENT_TO_SERVER: TAG_C2S, Direction.SERVER_TO_CLIENT: TAG_S2C}
DIRECTIONS = {tag: direction for direction, tag in TAGS.items()}


def encode_header(header: dict[str, Any]) -> bytes:
    body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + LENGTH.pack(len(body)) + body


def encode_frame(tag: bytes, offset_us: int, data: bytes) -> bytes:
    return FRAME.pack(tag, offset_us, len(data)) + data


def encode_footer(offset_us: int, footer: dict[str, Any]) -> bytes:
    body = json.dumps(footer, sort_keys=True, separators=(",", ":")).encode()
    return encode_frame(TAG_END, offset_us, body)


class FormatError(ValueError):
    """Not a recording, or a damaged one."""


@dataclass(frozen=True, slots=True)
class RawFrame:
    tag: bytes
    offset_us: int
    data: bytes


def decode_header(data: bytes) -> tuple[dict[str, Any], int]:
    """The header and the offset of the first frame."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + LENGTH.size:
        raise FormatError("not a wardgate recording")
    start = len(MAGIC) + LENGTH.size
    (length,) = LENGTH.unpack_from(data, len(MAGIC))
    if len(data) < start + length:
        raise FormatError("recording header is truncated")
    try:
        header = json.loads(data[start : start + length])
    except ValueError as exc:
        raise FormatError(f"recording header is not JSON: {exc}") from None
    return header, start + length


def decode_frame(data: bytes, offset: int) -> tuple[RawFrame | None, int]:
    """The frame at `offset` and the offset after it; None when the data ends first."""
    if len(data) < offset + FRAME.size:
        return None, offset
    tag, at, length = FRAME.unpack_from(data, offset)
    end = offset + FRAME.size + length
    if len(data) < end:
        return None, offset
    if tag not in (TAG_C2S, TAG_S2C, TAG_END):
        raise FormatError(f"unknown frame tag {tag!r} at byte {offset}")
    return RawFrame(tag, at, data[offset + FRAME.size : end]), end
