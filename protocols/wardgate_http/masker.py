"""What to do with one string value found in a body: the masker callable.

`Masker` is the contract the body walkers (`jsonstream.py`, `sse.py`) take: given
the value's JSON path and its text, return the text to send (the same object when
nothing changes). `FieldMasker` is the plugin's implementation: field-path globs
from the resource's `masking.fields` redact whole values, value detectors
(`detect.Scanner`) redact what they find inside any value. Findings are counted
by detector name for evidence; values are never kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from wardgate_http.detect import Scanner, redacted

Path = tuple[str | int, ...]
Masker = Callable[[Path, str], str]


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


class FieldMasker:
    def __init__(self, fields: Sequence[str], scanner: Scanner | None) -> None:
        self.fields = tuple(fields)
        self.scanner = scanner
        self.found: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return bool(self.fields) or self.scanner is not None

    def __call__(self, path: Path, value: str) -> str:
        if self.fields and path and self._field_matches(path):
            self.found["field"] += 1
            return redacted("field")
        if self.scanner is None:
            return value
        masked, names = self.scanner.mask(value)
        self.found.update(names)
        return masked

    def _field_matches(self, path: Path) -> bool:
        name = dotted(path)
        last = str(path[-1])
        return any(fnmatchcase(name, glob) or fnmatchcase(last, glob) for glob in self.fields)


def mask_tree(value: Any, masker: Masker, path: Path = ()) -> tuple[Any, bool]:
    """A decoded JSON value with every string passed through `masker`, and whether any changed."""
    if isinstance(value, str):
        masked = masker(path, value)
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
    return value, False


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
