"""Value detectors: the last line of masking, applied to text wherever it appears.

Theory of operation: each detector is a compiled regex plus a cheap prefilter (a
substring or character test that must hold for a match to be possible), so a value
that cannot contain a secret costs one or two `in` tests. Credit-card candidates
must also carry a known issuer prefix and length and pass the Luhn check, which
keeps order numbers, phone numbers and timestamps out. Matches are found in plain
text, so values inside JSON documents and arrays (text forms) are found as well.

Each detector also has a *prefix* pattern, anchored at the end of a text, that
matches wherever a match could still be forming ("AKIA12…", "-----BEGIN RSA",
"bob@exa"). `Scanner.hold` uses them for text that arrives in pieces (an LLM's
streamed reply): what lies before the leftmost possible start can be released,
the rest must wait for more text. Prefixes err on the side of holding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Check = Callable[[str], bool]

_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_AWS = re.compile(
    r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA)[A-Z0-9]{16}(?![A-Z0-9])"
)
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
    r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[\s\S]*)"
)
_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{0,1024}")
_DIGITS = re.compile(r"\d{4}")

_AWS_WORDS = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA")


def _word_prefixes(words: Iterable[str]) -> str:
    """An alternation of every non-empty proper prefix of `words` (regex-escaped)."""
    prefixes = sorted({w[:n] for w in words for n in range(1, len(w))}, key=len, reverse=True)
    return "|".join(re.escape(p) for p in prefixes)


# Prefix patterns: a possible beginning of a match that reaches the end of the text.
_CARD_PREFIX = re.compile(r"(?<![\w-])\d(?:[ -]?\d){0,18}[ -]?\Z")
_EMAIL_PREFIX = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}(?:@[A-Za-z0-9.-]{0,253})?\Z"
)
_AWS_PREFIX = re.compile(
    rf"(?<![A-Z0-9])(?:(?:{'|'.join(_AWS_WORDS)})[A-Z0-9]{{0,16}}|{_word_prefixes(_AWS_WORDS)})\Z"
)
_PEM_PREFIX = re.compile(
    r"(?:-{1,5}|-----(?:B(?:E(?:G(?:I(?:N(?: [A-Z0-9 ]*-{0,5})?)?)?)?)?)"
    r"|-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
    r"(?:(?!-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)[\s\S])*)\Z"
)
_JWT_PREFIX = re.compile(r"(?<![\w-])e(?:y(?:J[A-Za-z0-9_.-]*)?)?\Z")
#: Custom detectors without a `prefix`: a secret is taken to be one run of non-space text.
CUSTOM_PREFIX = r"\S{1,256}\Z"

# Issuer prefixes and lengths (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay).
_CARD_ISSUERS: tuple[tuple[tuple[str, ...], frozenset[int]], ...] = (
    (("4",), frozenset({13, 16, 19})),
    (tuple(str(n) for n in range(51, 56)), frozenset({16})),
    (tuple(str(n) for n in range(2221, 2721)), frozenset({16})),
    (("34", "37"), frozenset({15})),
    (("6011", "65", *(str(n) for n in range(644, 650))), frozenset({16, 19})),
    (("35",), frozenset({16, 19})),
    (("300", "301", "302", "303", "304", "305", "36", "38"), frozenset({14, 16})),
    (("62",), frozenset({16, 19})),
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_number(candidate: str) -> bool:
    """Known issuer prefix and length, consistent separators, and a valid Luhn sum."""
    if "-" in candidate and " " in candidate:
        return False
    digits = candidate.replace(" ", "").replace("-", "")
    if digits == candidate and len(digits) not in (15, 16):
        return False  # bare 13/14/19-digit runs are far more often ids than cards
    for prefixes, lengths in _CARD_ISSUERS:
        if len(digits) in lengths and digits.startswith(prefixes):
            return luhn_valid(digits)
    return False


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    pattern: re.Pattern[str]
    prefilter: Check
    validate: Check | None = None
    prefix: re.Pattern[str] = re.compile(CUSTOM_PREFIX)

    def may_begin(self, text: str) -> int:
        """Where a match of this detector may be starting at the end of `text` (-1: nowhere)."""
        found = self.prefix.search(text)
        return -1 if found is None else found.start()


def _has_email(text: str) -> bool:
    return "@" in text


def _has_jwt(text: str) -> bool:
    return "eyJ" in text


def _has_pem(text: str) -> bool:
    return "PRIVATE KEY-----" in text


def _has_aws(text: str) -> bool:
    return "A" in text and len(text) >= 20


def _has_card(text: str) -> bool:
    return len(text) >= 13 and _DIGITS.search(text) is not None


def _always(text: str) -> bool:
    return True


BUILTIN: dict[str, Detector] = {
    "credit_card": Detector("credit_card", _CARD, _has_card, card_number, _CARD_PREFIX),
    "email": Detector("email", _EMAIL, _has_email, None, _EMAIL_PREFIX),
    "aws_access_key": Detector("aws_access_key", _AWS, _has_aws, None, _AWS_PREFIX),
    "private_key": Detector("private_key", _PEM, _has_pem, None, _PEM_PREFIX),
    "jwt": Detector("jwt", _JWT, _has_jwt, None, _JWT_PREFIX),
}


def custom(name: str, regex: str, prefix: str | None = None) -> Detector:
    """A configured `{name, regex[, prefix]}`; `prefix` defaults to `CUSTOM_PREFIX`."""
    return Detector(name, re.compile(regex), _always, None, re.compile(prefix or CUSTOM_PREFIX))


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    detector: str
    owner: int  # index of the owning entry in the scanner's list


class Scanner:
    """Finds every detector match in a text; overlapping matches keep the earliest."""

    def __init__(self, detectors: Iterable[Detector]) -> None:
        self.detectors = tuple(detectors)

    def __bool__(self) -> bool:
        return bool(self.detectors)

    def find(self, text: str) -> list[Match]:
        found: list[Match] = []
        for owner, detector in enumerate(self.detectors):
            if not detector.prefilter(text):
                continue
            for hit in detector.pattern.finditer(text):
                if detector.validate is None or detector.validate(hit.group()):
                    found.append(Match(hit.start(), hit.end(), detector.name, owner))
        return _without_overlaps(found) if len(found) > 1 else found

    def hold(self, text: str) -> int:
        """Index from which `text` must be held back: a match may be forming at its end
        there, or a match straddles that point; `len(text)` when all can be released."""
        starts = [start for d in self.detectors if (start := d.may_begin(text)) >= 0]
        point = min(starts, default=len(text))
        if point < len(text):
            for match in self.find(text):
                if match.start < point < match.end:
                    return match.start
        return point


def _without_overlaps(matches: list[Match]) -> list[Match]:
    matches.sort(key=lambda m: (m.start, -m.end))
    kept: list[Match] = []
    for match in matches:
        if kept and match.start < kept[-1].end:
            continue
        kept.append(match)
    return kept
