"""`CommandMasker`: the core side of masking one command's results (a `ValueMasker`).

A plugin decodes each masked value into its logical form (text, bytes, integer),
hands it here, and encodes the answer back in the wire format and type of the
column. Every value rewritten is counted under the rule that asked for it; the
session reads the counts when the command ends (log line and metrics).

`message` scrubs server text that can echo data — error and notice fields,
notification payloads: value echoes of known server messages (a unique
violation's ``Key (email)=(…)``, ``Failing row contains (…)``, a failed cast's
``: "…"``, MySQL's ``Duplicate entry '…'``) are redacted whenever column rules
exist, and the detectors run over what is left.

For documents (HTTP bodies) `field` says which `fields` rule protects a value at
a path, `detect` names what the detectors find without rewriting or counting
(a request policy of `log` or `deny`), and `hold` tells a plugin that receives
text in pieces how much of it must wait because a match may still be forming.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from wardgate.masking.detectors import Scanner
from wardgate.masking.rules import FieldPath, RuleRef
from wardgate.masking.strategies import REDACTED, Strategies
from wardgate.seam import ColumnMask

_STRUCTURAL = frozenset('"\\{},[]')
_ECHOES = (
    re.compile(
        r"(Key \((?:[^()]|\([^()]*\))*\)=\()(.*)(\)(?: already exists| is (?:still )?"
        r"(?:not present|referenced)| conflicts))",
        re.S,
    ),
    re.compile(r"(Failing row contains \()(.*)(\))", re.S),
    re.compile(r'(: ")(.*)(")', re.S),
    re.compile(r"(Duplicate entry ')(.*)(' for key)", re.S),
    re.compile(r"(value: ')(.*?)(')", re.S),
    re.compile(r"(entry ')(.*?)(')", re.S),
)


class CommandMasker:
    """Counts per rule; built per command (cheap) around shared strategies and detectors."""

    __slots__ = (
        "_detector_rules",
        "_echo_rule",
        "_field_rule",
        "_scanner",
        "_strategies",
        "counts",
    )

    def __init__(
        self,
        strategies: Strategies,
        scanner: Scanner,
        detector_rules: list[RuleRef],
        echo_rule: RuleRef | None,
        field_rule: Callable[[FieldPath], RuleRef | None] | None = None,
    ) -> None:
        self._strategies = strategies
        self._scanner = scanner
        self._detector_rules = detector_rules
        self._echo_rule = echo_rule
        self._field_rule = field_rule
        self.counts: Counter[str] = Counter()

    def field(self, path: FieldPath) -> ColumnMask | None:
        """The mask a `fields` rule gives the value at `path` of a document (or None)."""
        rule = self._field_rule(path) if self._field_rule is not None else None
        return None if rule is None else ColumnMask(0, rule.name, rule.strategy, rule.keep)

    def detect(self, value: str) -> tuple[str, ...]:
        """Names of the detectors that find something in `value`; rewrites and counts nothing."""
        if not self._scanner:
            return ()
        return tuple(match.detector for match in self._scanner.find(value))

    def hold(self, text: str) -> int:
        """Text arriving in pieces: the index from which it must wait for more (see Scanner)."""
        return self._scanner.hold(text) if self._scanner else len(text)

    def text(self, mask: ColumnMask, value: str) -> str | None:
        self.counts[mask.rule] += 1
        return self._strategies.text(mask.strategy, value, mask.keep)

    def data(self, mask: ColumnMask, value: bytes) -> bytes | None:
        self.counts[mask.rule] += 1
        return self._strategies.data(mask.strategy, value, mask.keep)

    def integer(self, mask: ColumnMask, value: int, bits: int) -> int | None:
        self.counts[mask.rule] += 1
        return self._strategies.integer(mask.strategy, value, bits)

    def scan(self, value: str, structured: bool = False) -> str | None:
        """Detectors over one text value: `value` itself if clean, None to null it."""
        if not self._scanner:
            return value
        matches = self._scanner.find(value)
        if not matches:
            return value
        parts: list[str] = []
        position = 0
        for match in matches:
            rule = self._detector_rules[match.owner]
            found = value[match.start : match.end]
            replacement = self._strategies.text(rule.strategy, found, rule.keep)
            self.counts[rule.name] += 1
            if replacement is None or (structured and _STRUCTURAL.intersection(found)):
                return None
            parts += (value[position : match.start], replacement)
            position = match.end
        parts.append(value[position:])
        return "".join(parts)

    def message(self, text: str) -> str:
        """Server text that may echo values (errors, notices, notifications)."""
        if self._echo_rule is not None:
            text = self._echoes(text, self._echo_rule)
        scanned = self.scan(text)
        return REDACTED if scanned is None else scanned

    def _echoes(self, text: str, rule: RuleRef) -> str:
        for pattern in _ECHOES:
            text, count = pattern.subn(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
            if count:
                self.counts[rule.name] += count
        return text
