"""What to do with one value found in a body: the `BodyMasker`.

The body walkers (`jsonstream.py`, `sse.py`, `lookbehind.py`) take a
`DocumentMasker`: given a JSON value's path and its text, return the text to send
(the same object when nothing changes). `BodyMasker` is the plugin's one
implementation, and it decides nothing itself: field-path rules, value detectors,
strategies and counts come from the core's `masking:` section through the
session's `ValueMasker` (`field`, `scan`, `text`, `integer`, `detect`, `hold`).
Only the injected upstream credential (`literals.py`) is the plugin's own.

JSON typing follows the core's table for integer columns: a number or boolean at
a masked path keeps its type under `hash` when it is an integer, and becomes
`null` otherwise; a number the detectors flag (a card number sent as a JSON
number) becomes `null`. Names of what was found are kept for evidence, values never.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any, Protocol

from wardgate.seam import ColumnMask, ValueMasker
from wardgate_http.literals import Literals

Path = tuple[str | int, ...]
REDACTED = "****"  # free text the core nulls (strategy `null`) or that overflows a look-behind
JSON_SAFE_BITS = 54  # hashed integers stay below 2**53: exact in every JSON parser
MIN_CARD_DIGITS = 13


class DocumentMasker(Protocol):
    def string(self, path: Path, value: str) -> str | None:
        """A string value: the text to send, or None for JSON null."""
        ...

    def scalar(self, path: Path, raw: str) -> str:
        """A number, `true`, `false` or `null` as JSON text: the JSON text to send."""
        ...


class BodyMasker:
    """One exchange's body masking (one direction), over the session's core masker."""

    def __init__(
        self,
        core: ValueMasker | None,
        *,
        fields: bool,
        detectors: bool,
        literals: Literals | None = None,
    ) -> None:
        self.core = core
        self.fields = fields and core is not None
        self.detectors = detectors and core is not None
        self.literals = literals or Literals()
        self.found: Counter[str] = Counter()

    @property
    def scans(self) -> bool:
        """Whether free text is scanned (detectors or the credential)."""
        return self.detectors or bool(self.literals)

    @property
    def active(self) -> bool:
        return self.fields or self.scans

    def string(self, path: Path, value: str) -> str | None:
        mask = self._field(path)
        if mask is not None:
            assert self.core is not None
            self.found[mask.rule] += 1
            return self.core.text(mask, value)
        return self._scan(value)

    def scalar(self, path: Path, raw: str) -> str:
        mask = self._field(path)
        if mask is not None:
            return self._masked_scalar(mask, raw)
        if self.detectors and len(raw) >= MIN_CARD_DIGITS and raw.isdigit():
            return raw if self._scan(raw) == raw else "null"
        return raw

    def text(self, text: str) -> str:
        """Free text (a chunk of a text body, released look-behind text)."""
        scanned = self._scan(text)
        return REDACTED if scanned is None else scanned

    def hold(self, text: str) -> int:
        """Index from which `text` must wait for more: a secret may be forming there."""
        point = self.literals.hold(text)
        if self.detectors:
            assert self.core is not None
            point = min(point, self.core.hold(text))
        return point

    def detect(self, value: str) -> tuple[str, ...]:
        return self.core.detect(value) if self.detectors and self.core is not None else ()

    def _field(self, path: Path) -> ColumnMask | None:
        if not self.fields or not path:
            return None
        assert self.core is not None
        return self.core.field(path)

    def _masked_scalar(self, mask: ColumnMask, raw: str) -> str:
        assert self.core is not None
        value = json.loads(raw)
        if value is None:
            return raw
        self.found[mask.rule] += 1
        if isinstance(value, int) and not isinstance(value, bool):
            hashed = self.core.integer(mask, value, JSON_SAFE_BITS)
            return "null" if hashed is None else str(hashed)
        self.core.text(mask, raw)  # counted like any masked value; the type cannot hold it
        return "null"

    def _scan(self, value: str) -> str | None:
        text, credentials = self.literals.replace(value) if self.literals else (value, 0)
        if credentials:
            self.found["credential"] += credentials
        if not self.detectors:
            return text
        assert self.core is not None
        names = self.core.detect(text)
        if not names:
            return text
        self.found.update(names)
        return self.core.scan(text)


class Skipping:
    """A masker that leaves the string values at `skip` alone (look-behind text)."""

    def __init__(self, inner: DocumentMasker, skip: set[Path]) -> None:
        self.inner, self.skip = inner, skip

    def string(self, path: Path, value: str) -> str | None:
        return value if path in self.skip else self.inner.string(path, value)

    def scalar(self, path: Path, raw: str) -> str:
        return self.inner.scalar(path, raw)


def mask_tree(value: Any, masker: DocumentMasker, path: Path = ()) -> tuple[Any, bool]:
    """A decoded JSON value with every leaf passed through `masker`, and whether any changed."""
    if isinstance(value, str):
        masked = masker.string(path, value)
        return masked, masked is not value and masked != value
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key], hit = mask_tree(item, masker, (*path, key))
            changed |= hit
        return (out, True) if changed else (value, False)
    if isinstance(value, list):
        pairs = [mask_tree(item, masker, (*path, index)) for index, item in enumerate(value)]
        if any(hit for _, hit in pairs):
            return [item for item, _ in pairs], True
        return value, False
    return _scalar_leaf(value, masker, path)


def _scalar_leaf(value: Any, masker: DocumentMasker, path: Path) -> tuple[Any, bool]:
    raw = json.dumps(value)
    masked = masker.scalar(path, raw)
    return (value, False) if masked == raw else (json.loads(masked), True)


def leaves(value: Any) -> Iterator[str]:
    """Every string of a decoded JSON value, and every integer as its digits."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
