"""Masking a JSON body as it streams, without holding it whole.

A token scanner over the bytes seen so far keeps a stack of open containers, so
each string value is known by its path (`data.0.email`). Everything except string
values passes through as the upstream sent it; a string value is held from its
opening quote until its closing quote, passed to the masker, and re-encoded only
if the masker changed it. Numbers and literals go to the masker as JSON text too
(a field rule's path, a card number sent as a number). What is held at any moment
is one unfinished token, capped by `max_token` (a longer one fails closed:
`MaskingError`). Bytes that are not JSON switch the rest of the body to text
scanning (`TextStreamMasker`).
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field

from wardgate_http.lookbehind import TextChannel
from wardgate_http.masker import BodyMasker, Path

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SPACE = re.compile(rb"[ \t\r\n]+")
_SCALAR = re.compile(rb"[^\s,\]}:\"\[{]+")
_JSON_SCALAR = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")


class MaskingError(Exception):
    """The body cannot be inspected within the bounds; the exchange is cut."""


@dataclass(slots=True)
class _Frame:
    array: bool
    key: str | int = 0
    expect_key: bool = False


@dataclass(slots=True)
class JsonStreamMasker:
    masker: BodyMasker
    max_token: int = 1024 * 1024
    window: int = 4096  # look-behind of a body that is not JSON after all
    _buffer: bytes = b""
    _stack: list[_Frame] = field(default_factory=list)
    _text: TextStreamMasker | None = None

    def feed(self, data: bytes) -> bytes:
        if self._text is not None:
            return self._text.feed(data)
        self._buffer += data
        out = bytearray()
        position = self._scan(out, final=False)
        self._buffer = self._buffer[position:]
        if len(self._buffer) > self.max_token:
            raise MaskingError(f"a JSON token is longer than {self.max_token} bytes")
        return bytes(out)

    def close(self) -> bytes:
        if self._text is not None:
            return self._text.close()
        out = bytearray()
        position = self._scan(out, final=True)
        rest, self._buffer = self._buffer[position:], b""
        return bytes(out) + rest

    def _path(self) -> Path:
        return tuple(frame.key for frame in self._stack)

    def _scan(self, out: bytearray, final: bool) -> int:
        buffer, position, end = self._buffer, 0, len(self._buffer)
        while position < end:
            if space := _SPACE.match(buffer, position):
                out += space.group(0)
                position = space.end()
                continue
            step = self._token(buffer, position, out, final)
            if step < 0:
                return position
            position = step
        return position

    def _token(self, buffer: bytes, position: int, out: bytearray, final: bool) -> int:
        char = buffer[position : position + 1]
        if char in (b"{", b"["):
            self._stack.append(_Frame(array=char == b"[", expect_key=char == b"{"))
        elif char in (b"}", b"]"):
            if self._stack:
                self._stack.pop()
        elif char == b",":
            self._comma()
        elif char == b":":
            pass
        elif char == b'"':
            return self._string(buffer, position, out)
        else:
            return self._scalar(buffer, position, out, final)
        out += char
        return position + 1

    def _comma(self) -> None:
        if self._stack:
            frame = self._stack[-1]
            if frame.array and isinstance(frame.key, int):
                frame.key += 1
            else:
                frame.expect_key = True

    def _string(self, buffer: bytes, position: int, out: bytearray) -> int:
        match = _STRING.match(buffer, position)
        if match is None:
            return -1
        raw = match.group(0)
        try:
            value = json.loads(raw)
        except ValueError:
            return self._to_text(buffer, position, out)
        frame = self._stack[-1] if self._stack else None
        if frame is not None and not frame.array and frame.expect_key:
            frame.key, frame.expect_key = value, False
            out += raw
        else:
            masked = self.masker.string(self._path(), value)
            out += raw if masked == value else json.dumps(masked, ensure_ascii=False).encode()
        return match.end()

    def _scalar(self, buffer: bytes, position: int, out: bytearray, final: bool) -> int:
        match = _SCALAR.match(buffer, position)
        if match is None:
            return self._to_text(buffer, position, out)
        if match.end() == len(buffer) and not final:
            return -1  # a number may continue in the next chunk
        if not _JSON_SCALAR.fullmatch(match.group(0)):
            return self._to_text(buffer, position, out)
        raw = match.group(0).decode("ascii")
        masked = self.masker.scalar(self._path(), raw)
        out += match.group(0) if masked == raw else masked.encode()
        return match.end()

    def _to_text(self, buffer: bytes, position: int, out: bytearray) -> int:
        """Not JSON after all: scan the rest as text with the detectors."""
        self._text = TextStreamMasker(self.masker, self.window)
        out += self._text.feed(buffer[position:])
        return len(buffer)


@dataclass(slots=True)
class TextStreamMasker:
    """Detectors over a UTF-8 text body, with the bounded look-behind between chunks."""

    masker: BodyMasker
    window: int = 4096
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )
    _channel: TextChannel | None = None

    def _text_channel(self) -> TextChannel:
        if self._channel is None:
            self._channel = TextChannel(self.masker, self.window)
        return self._channel

    def feed(self, data: bytes) -> bytes:
        return self._text_channel().feed(self._decoder.decode(data)).encode()

    def close(self) -> bytes:
        channel = self._text_channel()
        return (channel.feed(self._decoder.decode(b"", final=True)) + channel.flush()).encode()
