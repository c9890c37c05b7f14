"""The four strategies on logical values: text, bytes and integers.

`redact` writes a fixed marker (no length leak), `partial` keeps a tail of `keep`
characters (none if the value is too short to hide anything), `hash` is a keyed
HMAC-SHA256 — stable across sessions and restarts for a given `masking_key`, so
joins and GROUP BY still line up — and `null` removes the value. Integers can only
be hashed into the same type (any other strategy nulls them), so a masked int4
stays a valid int4 in text and binary formats alike.
"""

from __future__ import annotations

import hashlib
import hmac

REDACTED = "****"
REDACTED_BYTES = b"****"
HASH_CHARS = 16


class Strategies:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def text(self, strategy: str, value: str, keep: int) -> str | None:
        if strategy == "redact":
            return REDACTED
        if strategy == "partial":
            return partial(value, keep)
        if strategy == "hash":
            return self.digest(value.encode("utf-8", "surrogatepass")).hex()[:HASH_CHARS]
        return None

    def data(self, strategy: str, value: bytes, keep: int) -> bytes | None:
        if strategy == "redact":
            return REDACTED_BYTES
        if strategy == "partial":
            tail = value[-keep:] if keep and len(value) > 2 * keep else b""
            return b"*" * (len(value) - len(tail)) + tail
        if strategy == "hash":
            return self.digest(value)[:16]
        return None

    def integer(self, strategy: str, value: int, bits: int) -> int | None:
        """A non-negative integer below 2**(bits-1) (valid signed and unsigned)."""
        if strategy != "hash":
            return None
        number = int.from_bytes(self.digest(str(value).encode())[:8], "big")
        return number % (1 << (bits - 1))


def partial(value: str, keep: int) -> str:
    tail = value[-keep:] if keep and len(value) > 2 * keep else ""
    return "*" * (len(value) - len(tail)) + tail
