"""Static bearer tokens: the embedded default and the break-glass path.

Only SHA-256 digests are configured. A presented token is hashed once and compared
against every configured digest with `hmac.compare_digest`, so neither a match nor
its position leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from wardgate.config.model import StaticToken
from wardgate.seam import Identity

TOKEN_PREFIX = "wgt_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh static token: prefix (so detectors and scanners recognise it) + 256 bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class StaticTokenVerifier:
    def __init__(self, tokens: Iterable[StaticToken]) -> None:
        self._tokens = tuple(tokens)

    def verify(self, presented: str) -> Identity | None:
        digest = token_digest(presented).encode()
        found: StaticToken | None = None
        for token in self._tokens:
            if hmac.compare_digest(digest, token.sha256.encode()) and found is None:
                found = token
        if found is None:
            return None
        return Identity(name=found.name, groups=frozenset(found.groups), method="static")
