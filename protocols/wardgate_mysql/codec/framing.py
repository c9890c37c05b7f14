"""Packet framing: a 3-byte little-endian length, a 1-byte sequence id, the payload.

A payload of 0xFFFFFF bytes or more is split over several frames; every frame but
the last carries exactly 0xFFFFFF bytes, and a payload whose length is a multiple of
0xFFFFFF ends with an empty frame ("Sending More Than 16Mb", MySQL internals manual).
Sequence ids increase by one per frame, modulo 256, across a whole exchange.

`FrameDecoder` turns bytes into whole payloads; `encode_packet` does the reverse.
The decoder refuses any payload over `max_payload` before buffering it, so one
client cannot make the gateway hold an unbounded message.
"""

from __future__ import annotations

from dataclasses import dataclass

from wardgate_mysql.codec.constants import MAX_PAYLOAD
from wardgate_mysql.codec.errors import PacketTooLarge, SequenceError

HEADER_SIZE = 4
DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024  # above MySQL's 64 MiB default max_allowed_packet


@dataclass(frozen=True, slots=True)
class Packet:
    """One logical packet: its first frame's sequence id, the last one, and the payload."""

    seq: int
    payload: bytes
    last_seq: int = -1

    @property
    def next_seq(self) -> int:
        last = self.seq if self.last_seq < 0 else self.last_seq
        return (last + 1) & 0xFF

    @property
    def first(self) -> int:
        """The payload's first byte, or -1 for an empty payload."""
        return self.payload[0] if self.payload else -1


def encode_packet(payload: bytes, seq: int) -> tuple[bytes, int]:
    """Frame a payload starting at sequence id `seq`; returns (bytes, next sequence id)."""
    if len(payload) < MAX_PAYLOAD:
        return len(payload).to_bytes(3, "little") + bytes((seq & 0xFF,)) + payload, (seq + 1) & 0xFF
    parts: list[bytes] = []
    for start in range(0, len(payload) + 1, MAX_PAYLOAD):
        chunk = payload[start : start + MAX_PAYLOAD]
        parts.append(len(chunk).to_bytes(3, "little") + bytes((seq,)) + chunk)
        seq = (seq + 1) & 0xFF
    return b"".join(parts), seq


class FrameDecoder:
    """Reassembles frames into `Packet`s; feed bytes, then drain with `next_packet`."""

    __slots__ = ("_buffer", "_first_seq", "_last_seq", "_part_size", "_parts", "max_payload")

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._buffer = bytearray()
        self._parts: list[bytes] = []
        self._part_size = 0
        self._first_seq = -1
        self._last_seq = -1
        self.max_payload = max_payload

    @property
    def buffered(self) -> int:
        return len(self._buffer) + self._part_size

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def take_buffered(self) -> bytes:
        """Hand over the bytes not yet framed (they belong to a TLS handshake)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def next_packet(self) -> Packet | None:
        """The next complete packet, or None when more bytes are needed."""
        while len(self._buffer) >= HEADER_SIZE:
            header = self._buffer
            length = header[0] | header[1] << 8 | header[2] << 16
            seq = header[3]
            self._check_frame(length, seq)
            if len(self._buffer) < HEADER_SIZE + length:
                return None
            chunk = bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + length])
            del self._buffer[: HEADER_SIZE + length]
            if length == MAX_PAYLOAD:
                self._continue(chunk, seq)
                continue
            return self._finish(chunk, seq)
        return None

    def take_rows(self, seq: int) -> tuple[bytes, list[int]]:
        """The run of plain row packets at the head of the buffer, still framed.

        For a relay that forwards result rows as they came: the complete frames as
        one ``bytes`` and the offset where each starts, taken out of the buffer. A
        frame ends the run unless it is a whole packet (shorter than 0xFFFFFF, no
        continuation pending), carries sequence id `seq` (then one more each), and
        its payload starts with a byte below 0xFE: an EOF/OK terminator (0xFE), an
        ERR (0xFF), an empty payload, a too-large one or a partial frame is left for
        `next_packet`, which checks and classifies it as usual.
        """
        if self._first_seq >= 0:
            return b"", []
        buf = self._buffer
        size = len(buf)
        limit = min(self.max_payload + 1, MAX_PAYLOAD)
        starts: list[int] = []
        pos = 0
        while size - pos > HEADER_SIZE:
            length = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            end = pos + HEADER_SIZE + length
            if not 0 < length < limit or buf[pos + 3] != seq or end > size:
                break
            if buf[pos + HEADER_SIZE] >= 0xFE:
                break
            starts.append(pos)
            pos = end
            seq = (seq + 1) & 0xFF
        if not starts:
            return b"", starts
        rows = bytes(buf[:pos])
        del buf[:pos]
        return rows, starts

    def _check_frame(self, length: int, seq: int) -> None:
        if self._first_seq >= 0 and seq != (self._last_seq + 1) & 0xFF:
            raise SequenceError(
                f"continuation frame has sequence id {seq}, expected {(self._last_seq + 1) & 0xFF}"
            )
        if self._part_size + length > self.max_payload:
            raise PacketTooLarge(f"packet larger than {self.max_payload} bytes")

    def _continue(self, chunk: bytes, seq: int) -> None:
        if self._first_seq < 0:
            self._first_seq = seq
        self._last_seq = seq
        self._parts.append(chunk)
        self._part_size += len(chunk)

    def _finish(self, chunk: bytes, seq: int) -> Packet:
        if self._first_seq < 0:
            return Packet(seq, chunk)
        self._parts.append(chunk)
        packet = Packet(self._first_seq, b"".join(self._parts), seq)
        self._parts, self._part_size, self._first_seq, self._last_seq = [], 0, -1, -1
        return packet


class SequenceCounter:
    """Checks that packets of one exchange arrive with consecutive sequence ids."""

    __slots__ = ("expected",)

    def __init__(self, expected: int = 0) -> None:
        self.expected = expected

    def reset(self, expected: int = 0) -> None:
        self.expected = expected

    def check(self, packet: Packet) -> None:
        if packet.seq != self.expected:
            raise SequenceError(f"packet has sequence id {packet.seq}, expected {self.expected}")
        self.expected = packet.next_seq
