"""WebSocket framing just far enough to end a tunnel cleanly (RFC 6455 §5.2, §5.5.1).

An upgraded connection is piped blind; to close it at a moment of wardgate's
choosing (the token that authorised it expired) a Close frame may only be put
between frames. `FrameTracker` follows one direction's frame headers — a byte
count, no payload decoding, no buffering beyond one unfinished header (≤ 14
bytes) — and says whether what was relayed so far ends on a frame boundary and
whether a Close frame went by. `close_frame` builds the Close frame to send:
unmasked towards the agent (the server role), masked towards the upstream (the
client role, §5.3).

No I/O here.
"""

from __future__ import annotations

import os
import struct

OPCODE_CLOSE = 0x8
POLICY_VIOLATION = 1008  # §7.4.1: "a message that violates its policy"
MAX_REASON = 123  # a control frame's payload is at most 125 bytes, 2 of them the code


class FrameTracker:
    """Frame boundaries of one direction of a WebSocket connection."""

    __slots__ = ("_head", "_remaining", "saw_close")

    def __init__(self) -> None:
        self._head = bytearray()  # an unfinished frame header
        self._remaining = 0  # payload bytes of the current frame still to come
        self.saw_close = False

    @property
    def at_boundary(self) -> bool:
        return not self._head and self._remaining == 0

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._remaining:
                step = min(self._remaining, len(view))
                self._remaining -= step
                view = view[step:]
                continue
            self._head += view[:1]
            view = view[1:]
            self._header_done()

    def _header_done(self) -> None:
        """Parse the header once it is complete; payload counting starts after it."""
        head = self._head
        if len(head) < 2:
            return
        length, needed = head[1] & 0x7F, 2 + (4 if head[1] & 0x80 else 0)
        needed += {126: 2, 127: 8}.get(length, 0)
        if len(head) < needed:
            return
        if length == 126:
            length = struct.unpack_from("!H", head, 2)[0]
        elif length == 127:
            length = struct.unpack_from("!Q", head, 2)[0]
        self.saw_close = self.saw_close or head[0] & 0x0F == OPCODE_CLOSE
        self._head = bytearray()
        self._remaining = length


def close_frame(code: int, reason: str, *, masked: bool) -> bytes:
    """One final Close frame carrying `code` and `reason` (cut to fit a control frame)."""
    payload = struct.pack("!H", code) + reason.encode()[:MAX_REASON]
    if not masked:
        return bytes((0x80 | OPCODE_CLOSE, len(payload))) + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes((0x80 | OPCODE_CLOSE, 0x80 | len(payload))) + key + body
