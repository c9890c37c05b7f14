"""A bounded look-behind over text a model streams in pieces (SSE deltas).

A secret split across events ("AKIA12", "34567890", "123456") is in no single
event, so each channel (one choice's or one content block's text) keeps the
assembled text that may still be part of a match:

    pending + delta ─▶ hold point h = leftmost prefix of a possible match at the end
                    ─▶ release mask(text[:h]), keep text[h:]

Text is released as soon as no detector can match through it: the core's
detectors each say where a match may be starting (`ValueMasker.hold`), the
credential literals likewise. The held part is bounded by `window`: when it grows
past it, the overflow is released redacted (fail closed), never in clear.
`flush()` at the end of the channel masks and releases what is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from wardgate_http.masker import REDACTED, BodyMasker


@dataclass(slots=True)
class TextChannel:
    masker: BodyMasker
    window: int = 4096
    pending: str = ""

    def feed(self, delta: str) -> str:
        """The part of the text so far that can be released now, masked."""
        text = self.pending + delta
        hold = self.masker.hold(text)
        released, self.pending = text[:hold], text[hold:]
        overflow = len(self.pending) - self.window
        if overflow > 0:
            self.pending = self.pending[overflow:]
            self.masker.found["overflow"] += 1
            return self.masker.text(released) + REDACTED
        return self.masker.text(released) if released else ""

    def flush(self) -> str:
        released, self.pending = self.pending, ""
        return self.masker.text(released) if released else ""
