"""A bounded look-behind over text a model streams in pieces (SSE deltas).

A secret split across events ("AKIA12", "34567890", "123456") is in no single
event, so each channel (one choice's or one content block's text) keeps the
assembled text that may still be part of a match:

    pending + delta ─▶ hold point h = leftmost prefix of a possible match at the end
                    ─▶ release mask(text[:h]), keep text[h:]

Text is released as soon as no detector can match through it. The held part is
bounded by `window`: when it grows past it, the overflow is released redacted
(fail closed), never in clear. `flush()` at the end of the channel masks and
releases what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardgate_http.detect import Scanner, redacted


@dataclass(slots=True)
class TextChannel:
    scanner: Scanner
    window: int = 4096
    pending: str = ""
    found: list[str] = field(default_factory=list)

    def feed(self, delta: str) -> str:
        """The part of the text so far that can be released now, masked."""
        text = self.pending + delta
        hold = self._hold_point(text)
        released, self.pending = text[:hold], text[hold:]
        overflow = len(self.pending) - self.window
        if overflow > 0:
            self.pending = self.pending[overflow:]
            self.found.append("overflow")
            return self._mask(released) + redacted("overflow")
        return self._mask(released)

    def flush(self) -> str:
        released, self.pending = self.pending, ""
        return self._mask(released)

    def _hold_point(self, text: str) -> int:
        hold = self.scanner.hold_from(text, len(text))
        for start, end, _ in self.scanner.find(text):
            if start < hold < end:
                return start
        return hold

    def _mask(self, text: str) -> str:
        masked, names = self.scanner.mask(text)
        self.found.extend(names)
        return masked
