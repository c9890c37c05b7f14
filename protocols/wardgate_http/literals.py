"""The credential wardgate injects upstream, hidden wherever a response could echo it.

This is the HTTP-specific part of body masking: the core's `masking:` rules know
nothing of the header value the plugin adds to every upstream request, so the
plugin replaces that exact value (and its token without the `Bearer ` scheme)
itself, in text and in raw bytes, holding back any end of a text that may be the
beginning of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import AnyStr

MARK = "[masked:credential]"
MIN_LENGTH = 4  # shorter values would mask ordinary text


def credential_literals(headers: Mapping[str, str]) -> tuple[str, ...]:
    """Each injected header value, and its token when it has a scheme (`Bearer X` → X)."""
    literals: list[str] = []
    for value in headers.values():
        literals.append(value)
        scheme, _, rest = value.partition(" ")
        if rest.strip() and scheme.isalpha():
            literals.append(rest.strip())
    return tuple(literal for literal in literals if len(literal) >= MIN_LENGTH)


def held_suffix(text: AnyStr, literals: Sequence[AnyStr]) -> int:
    """Length of the longest end of `text` that may begin one of `literals`."""
    longest = max((len(literal) for literal in literals), default=0)
    for size in range(min(len(text), longest - 1), 0, -1):
        tail = text[-size:]
        if any(literal.startswith(tail) for literal in literals):
            return size
    return 0


class Literals:
    """Exact secrets over text: replaced by `MARK`, longest first."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = tuple(sorted(set(values), key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self.values)

    def replace(self, text: str) -> tuple[str, int]:
        """The text with every literal replaced, and how many were."""
        found = 0
        for literal in self.values:
            if literal in text:
                found += text.count(literal)
                text = text.replace(literal, MARK)
        return text, found

    def hold(self, text: str) -> int:
        """Index from which `text` may be the beginning of a literal (`len(text)`: none)."""
        return len(text) - held_suffix(text, self.values) if self.values else len(text)

    def as_bytes(self) -> tuple[bytes, ...]:
        """For the bytes-level filter; JSON may escape "/" as "\\/", so that form too."""
        encoded = {value.encode() for value in self.values}
        return tuple(encoded | {value.replace(b"/", b"\\/") for value in encoded})
