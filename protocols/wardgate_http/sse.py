"""Server-sent events (HTML Living Standard §9.2) split, masked and re-sent one by one.

`SseSplitter` cuts the byte stream into events at blank lines, keeping each
event's raw bytes. `SseMasker` passes an event through untouched unless masking
changes it: JSON in `data:` is walked with the masker, and the text a model
streams across events (`llm.stream_texts`) goes through one `TextChannel` per
choice or content block, so a secret split across events is still caught. When a
channel ends (`llm.stream_ends`), what it still holds is released in a copy of
its last event, sent just before the event that ends it. Every upstream event
still yields exactly one event to the client, in order, as soon as it arrives.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wardgate_http.llm import Channel, stream_ends, stream_texts
from wardgate_http.lookbehind import TextChannel
from wardgate_http.masker import BodyMasker, DocumentMasker, Path, Skipping, dumps, mask_tree

_EVENT_END = re.compile(rb"(?:\r\n|\r|\n)(?:\r\n|\r|\n)")
_LINE = re.compile(rb"\r\n|\r|\n")


class SseSplitter:
    """Bytes in, complete raw events out; holds at most one unfinished event."""

    def __init__(self, max_event: int) -> None:
        self._buffer = b""
        self._max = max_event

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        events, start = [], 0
        for match in _EVENT_END.finditer(self._buffer):
            if match.end() == len(self._buffer) and self._buffer.endswith(b"\r"):
                break  # "\r" may be the first half of "\r\n"
            events.append(self._buffer[start : match.end()])
            start = match.end()
        self._buffer = self._buffer[start:]
        if len(self._buffer) > self._max:
            from wardgate_http.jsonstream import MaskingError

            raise MaskingError(f"a server-sent event is longer than {self._max} bytes")
        return events

    def close(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest


@dataclass(slots=True)
class Event:
    name: str
    data: str
    other: list[bytes]  # id:, retry:, comments — re-sent as they came

    @classmethod
    def parse(cls, raw: bytes) -> Event:
        name, data, other = "", [], []
        for line in _LINE.split(raw):
            if not line:
                continue
            key, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if key == b"data":
                data.append(value.decode("utf-8", "replace"))
            elif key == b"event":
                name = value.decode("utf-8", "replace")
            else:
                other.append(line)
        return cls(name, "\n".join(data), other)

    def encode(self, data: str) -> bytes:
        lines = [f"event: {self.name}".encode()] if self.name else []
        lines += self.other
        lines += [f"data: {line}".encode() for line in data.split("\n")]
        return b"\n".join(lines) + b"\n\n"


Observer = Callable[[str, Any], None]


@dataclass(slots=True)
class _Template:
    event: Event
    data: Any
    path: Path


@dataclass(slots=True)
class SseMasker:
    api: str
    masker: BodyMasker
    window: int = 4096
    observe: Observer | None = None
    max_event: int = 1024 * 1024
    _splitter: SseSplitter | None = None
    _channels: dict[Channel, TextChannel] = field(default_factory=dict)
    _templates: dict[Channel, _Template] = field(default_factory=dict)

    def feed(self, data: bytes) -> bytes:
        if self._splitter is None:
            self._splitter = SseSplitter(self.max_event)
        return b"".join(self._event(raw) for raw in self._splitter.feed(data))

    def close(self) -> bytes:
        rest = self._splitter.close() if self._splitter is not None else b""
        out = self._event(rest) if rest.strip() else b""
        return out + self._flush(None)

    def _event(self, raw: bytes) -> bytes:
        event = Event.parse(raw)
        data = _decode(event.data)
        if self.observe is not None:
            self.observe(event.name, data)
        scans = self.masker.scans
        ends = stream_ends(self.api, event.name, data) if scans else []
        if not isinstance(data, dict | list):
            return self._flush(ends) + self._plain(event, raw)
        texts = stream_texts(self.api, event.name, data) if scans else []
        skip = {path for _, path in texts}
        masked, changed = mask_tree(data, _skipping(self.masker, skip))
        for channel, path in texts:
            masked = self._text(channel, path, event, masked if changed else copy.deepcopy(data))
            changed = True
        flushed = self._flush(ends, exclude={c for c, _ in texts})
        for channel, path in texts:
            if ends is None or channel in ends:
                masked = _set(masked, path, _get(masked, path) + self._release(channel))
        return flushed + (event.encode(dumps(masked).decode()) if changed else raw)

    def _plain(self, event: Event, raw: bytes) -> bytes:
        if not self.masker.scans or not event.data:
            return raw
        masked = self.masker.text(event.data)
        return raw if masked == event.data else event.encode(masked)

    def _text(self, channel: Channel, path: Path, event: Event, data: Any) -> Any:
        stream = self._channels.setdefault(channel, TextChannel(self.masker, self.window))
        released = stream.feed(_get(data, path))
        self._templates[channel] = _Template(event, data, path)
        return _set(data, path, released)

    def _release(self, channel: Channel) -> str:
        stream = self._channels.get(channel)
        return stream.flush() if stream is not None else ""

    def _flush(
        self, ends: list[Channel] | None, exclude: frozenset[Channel] | set[Channel] = frozenset()
    ) -> bytes:
        channels = (
            list(self._channels) if ends is None else [c for c in ends if c in self._channels]
        )
        out = []
        for channel in channels:
            if channel in exclude:
                continue
            rest = self._release(channel)
            template = self._templates.get(channel)
            if rest and template is not None:
                data = _set(copy.deepcopy(template.data), template.path, rest)
                out.append(template.event.encode(dumps(data).decode()))
        return b"".join(out)


def _decode(text: str) -> Any:
    if not text or text[0] not in "[{":
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _skipping(masker: BodyMasker, skip: set[Path]) -> DocumentMasker:
    return Skipping(masker, skip) if skip else masker


def _get(data: Any, path: Path) -> str:
    for part in path:
        data = data[part]
    return str(data)


def _set(data: Any, path: Path, value: str) -> Any:
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data
