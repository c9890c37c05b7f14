"""Value detectors for HTTP bodies: find secrets in text, and say how much of a
growing text must still be held because a secret may be forming at its end.

This is the plugin's adapter over detectors. Until the core's masking package
exposes its detectors and strategies, the built-in set below (the names DESIGN.md
uses) is applied with the `redact` strategy. Each detector has a `partial` pattern,
anchored at the end of the text, that matches any prefix of a possible match; the
look-behind (`lookbehind.py`) holds text from the leftmost such prefix, so text is
released as soon as it cannot be part of a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    pattern: re.Pattern[str]
    partial: re.Pattern[str]  # a prefix of a match, reaching the end of the text

    def matches(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            if self._valid(match.group(0)):
                yield match.span()

    def _valid(self, value: str) -> bool:
        if self.name == "credit_card":
            return luhn(re.sub(r"[ -]", "", value))
        return True


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return len(digits) >= 13 and total % 10 == 0


def _d(name: str, pattern: str, partial: str) -> Detector:
    return Detector(name, re.compile(pattern), re.compile(f"(?:{partial})\\Z"))


_KEYCHARS = "[A-Za-z0-9_-]"
BUILTIN: tuple[Detector, ...] = (
    _d(
        "aws_access_key",
        r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        r"\bA(?:[KS](?:I(?:A[A-Z0-9]{0,16})?)?)?",
    ),
    _d("api_key", rf"\b(?:sk|pk|rk)-{_KEYCHARS}{{20,}}", rf"\b[spr](?:k(?:-{_KEYCHARS}*)?)?"),
    _d(
        "jwt",
        r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
        r"\be(?:y(?:J[A-Za-z0-9_.-]*)?)?",
    ),
    _d(
        "private_key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        r"-{1,5}(?:B(?:E(?:G(?:I(?:N(?: [\s\S]*)?)?)?)?)?)?",
    ),
    _d("credit_card", r"\b(?:\d[ -]?){12,18}\d\b", r"\b(?:\d[ -]?){0,18}\d?"),
)


class Scanner:
    """Detectors plus exact secrets (the injected upstream credential) over text."""

    def __init__(self, detectors: Sequence[Detector] = BUILTIN, literals: Iterable[str] = ()):
        self.detectors = tuple(detectors)
        self.literals = tuple(sorted((s for s in literals if len(s) >= 4), key=len, reverse=True))

    def with_literals(self, literals: Iterable[str]) -> Scanner:
        return Scanner(self.detectors, (*self.literals, *literals))

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, detector) spans, leftmost first."""
        spans = [(s, e, d.name) for d in self.detectors for s, e in d.matches(text)]
        for literal in self.literals:
            start = text.find(literal)
            while start >= 0:
                spans.append((start, start + len(literal), "credential"))
                start = text.find(literal, start + 1)
        spans.sort()
        kept: list[tuple[int, int, str]] = []
        for span in spans:
            if not kept or span[0] >= kept[-1][1]:
                kept.append(span)
        return kept

    def mask(self, text: str) -> tuple[str, tuple[str, ...]]:
        """The text with every finding redacted, and the detector names found."""
        spans = self.find(text)
        if not spans:
            return text, ()
        parts, last = [], 0
        for start, end, name in spans:
            parts += [text[last:start], redacted(name)]
            last = end
        parts.append(text[last:])
        return "".join(parts), tuple(name for _, _, name in spans)

    def hold_from(self, text: str, window: int) -> int:
        """Index from which `text` must be held: a match may still be forming there."""
        floor = max(0, len(text) - window)
        tail = text[floor:]
        starts = [m.start() for d in self.detectors if (m := d.partial.search(tail))]
        starts += [_literal_prefix(tail, literal) for literal in self.literals]
        held = [s for s in starts if s < len(tail)]
        return floor + min(held) if held else len(text)


def _literal_prefix(tail: str, literal: str) -> int:
    """Where the longest suffix of `tail` that is a prefix of `literal` starts."""
    for size in range(min(len(literal) - 1, len(tail)), 0, -1):
        if literal.startswith(tail[-size:]):
            return len(tail) - size
    return len(tail)


def redacted(name: str) -> str:
    return f"[masked:{name}]"
