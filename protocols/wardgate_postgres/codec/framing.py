"""Splitting a byte stream into protocol 3.0 messages, with a cap on buffered input.

"Messaging Overview" (protocol 3.0): after start-up every message is a type byte,
an Int32 length that counts itself but not the type byte, and the body. The very
first client message (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest) has
no type byte: just the Int32 length and the payload; `StartupSplitter` cuts that one.

`FrameSplitter` is the hot path (one call per socket read, millions of DataRows):
one bytearray buffer, ``struct.unpack_from`` on the header, one copy per frame
into an immutable ``bytes`` ``raw``. When its buffer is empty it parses straight out
of the caller's ``bytes`` and only keeps the incomplete tail. A declared length over
``max_frame`` raises `FrameTooLarge` as soon as the 5-byte header is seen, so a
hostile peer cannot make the gateway buffer a body it will refuse anyway (the same
defence as the server's ``PQ_LARGE_MESSAGE_LIMIT`` / h11's ``max_incomplete_event_size``).
"""

from __future__ import annotations

from .errors import FrameTooLarge, ProtocolViolation
from .wire import HEADER, INT32

_HEADER_LEN = 5
_unpack_header = HEADER.unpack_from


class Frame:
    """One typed message: ``type`` (the type byte as int), ``raw`` and ``body``.

    Stored as the full frame so pass-through costs nothing; ``body`` slices lazily.
    Construct with ``Frame(type, body)`` or, from a complete frame, ``Frame.from_raw``.
    Immutable, hashable, compared by content.
    """

    __slots__ = ("raw", "type")

    type: int
    raw: bytes

    def __init__(self, type: int, body: bytes) -> None:
        _set_type(self, type)
        _set_raw(self, HEADER.pack(type, len(body) + 4) + bytes(body))

    @classmethod
    def from_raw(cls, raw: bytes) -> Frame:
        """Wrap a complete frame (type byte + length + body) without copying it."""
        if len(raw) < _HEADER_LEN or INT32.unpack_from(raw, 1)[0] != len(raw) - 1:
            raise ProtocolViolation("frame length does not match its header")
        return _wrap(raw)

    @property
    def body(self) -> bytes:
        return self.raw[_HEADER_LEN:]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Frame is immutable")

    def __repr__(self) -> str:
        return f"Frame(type={chr(self.type)!r}, length={len(self.raw) - 1})"


# Slot descriptors: set the two attributes without going through __setattr__.
_set_type = Frame.__dict__["type"].__set__
_set_raw = Frame.__dict__["raw"].__set__
_new_frame = object.__new__


def _wrap(raw: bytes) -> Frame:
    frame: Frame = _new_frame(Frame)
    _set_type(frame, raw[0])
    _set_raw(frame, raw)
    return frame


class FrameSplitter:
    """Feed it socket reads; get back every complete typed frame, in order."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_frame: int) -> None:
        self._max = max_frame
        self._buf = bytearray()

    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Append ``data``; return the complete frames; keep the incomplete tail.

        ``max_frame`` bounds the declared length (the Int32, which counts itself).
        """
        complete, starts = self.feed_starts(data)
        if not starts:
            return []
        ends = starts[1:]
        ends.append(len(complete))
        new_frame, set_type, set_raw = _new_frame, _set_type, _set_raw
        frames: list[Frame] = []
        append = frames.append
        for start, end in zip(starts, ends, strict=True):
            frame: Frame = new_frame(Frame)
            set_type(frame, complete[start])
            set_raw(frame, complete[start:end])
            append(frame)
        return frames

    def feed_starts(self, data: bytes) -> tuple[bytes, list[int]]:
        """Like `feed`, without a `Frame` per message: the complete frames as one
        ``bytes`` and the offset where each starts (its type byte).

        For a relay that forwards the bytes as they are and only looks at some types:
        a chunk of a thousand DataRows costs a thousand ints, not a thousand objects.
        """
        if self._buf:
            self._buf += data
            src: bytes | bytearray = self._buf
        else:
            src = data
        starts: list[int] = []
        append = starts.append
        limit = self._max
        size = len(src)
        pos = 0
        while size - pos >= _HEADER_LEN:
            length = _unpack_header(src, pos)[1]
            if length > limit:
                raise FrameTooLarge(length, limit)
            if length < 4:
                raise ProtocolViolation(f"invalid message length {length}")
            end = pos + 1 + length
            if end > size:
                break
            append(pos)
            pos = end
        if src is self._buf:
            complete = bytes(self._buf[:pos])
            del self._buf[:pos]
        elif pos < size:
            complete = data[:pos]
            self._buf += memoryview(data)[pos:]
        else:
            complete = data
        return complete, starts


class StartupSplitter:
    """Cuts the first, untyped message (Int32 length + payload) off a stream.

    ``feed`` returns the whole packet (length included) once it is complete and
    ``None`` before; bytes after it are kept for ``remainder()``. Once a packet has
    been returned, further input only grows the remainder. Start a new splitter for
    the StartupMessage that follows an SSLRequest. The default cap of 10000 bytes is
    the server's own ``MAX_STARTUP_PACKET_LENGTH``.
    """

    __slots__ = ("_buf", "_done", "_max")

    MIN_LENGTH = 8  # Int32 length + Int32 code

    def __init__(self, max_frame: int = 10000) -> None:
        self._max = max_frame
        self._buf = bytearray()
        self._done = 0

    def feed(self, data: bytes) -> bytes | None:
        self._buf += data
        if self._done or len(self._buf) < 4:
            return None
        (length,) = INT32.unpack_from(self._buf, 0)
        if length > self._max:
            raise FrameTooLarge(length, self._max)
        if length < self.MIN_LENGTH:
            raise ProtocolViolation(f"invalid startup packet length {length}")
        if len(self._buf) < length:
            return None
        self._done = length
        return bytes(self._buf[:length])

    def remainder(self) -> bytes:
        """Bytes received after the first packet (empty until it is complete)."""
        return bytes(self._buf[self._done :]) if self._done else b""
