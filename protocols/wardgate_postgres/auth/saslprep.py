"""SASLprep (RFC 4013, a stringprep profile of RFC 3454) as PostgreSQL applies it.

PostgreSQL prepares SCRAM passwords with its own ``pg_saslprep``
(src/common/saslprep.c), and the server and libpq both fall back to the raw
password bytes when preparation fails. To derive the same key as the server this
module mirrors it exactly, which differs from the RFC in three small ways:
a pure-ASCII password is returned untouched (even with control characters), an
empty result after mapping is prohibited, and the prohibited / unassigned / bidi
checks run on the mapped characters before NFKC normalisation. Tables come from
the stdlib ``stringprep`` module (Unicode 3.2, as the RFC requires).
"""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable

_PROHIBITED: tuple[Callable[[str], bool], ...] = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


class SASLprepError(ValueError):
    """The string contains prohibited or unassigned characters, or breaks bidi rules."""


def saslprep(text: str) -> str:
    """Prepare ``text``; raise `SASLprepError` where PostgreSQL reports PROHIBITED."""
    if text.isascii():
        return text
    mapped = [_map(ch) for ch in text if not stringprep.in_table_b1(ch)]
    if not mapped:
        raise SASLprepError("empty after mapping")
    for ch in mapped:
        if any(check(ch) for check in _PROHIBITED):
            raise SASLprepError(f"prohibited character U+{ord(ch):04X}")
    _check_bidi(mapped)
    return unicodedata.normalize("NFKC", "".join(mapped))


def _map(ch: str) -> str:
    return " " if stringprep.in_table_c12(ch) else ch


def _check_bidi(chars: list[str]) -> None:
    """RFC 3454 section 6: RandALCat strings contain no LCat and start and end RandALCat."""
    if not any(stringprep.in_table_d1(ch) for ch in chars):
        return
    if any(stringprep.in_table_d2(ch) for ch in chars):
        raise SASLprepError("mixes right-to-left and left-to-right characters")
    if not (stringprep.in_table_d1(chars[0]) and stringprep.in_table_d1(chars[-1])):
        raise SASLprepError("right-to-left string must start and end right-to-left")


def prepare_password(password: str) -> bytes:
    """The bytes PostgreSQL feeds to SCRAM: SASLprep'd, or the raw UTF-8 on failure."""
    try:
        return saslprep(password).encode("utf-8")
    except SASLprepError:
        return password.encode("utf-8")
