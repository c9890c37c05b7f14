"""The hash chain: canonical JSON, record hashes, sealing and checking.

A record is a JSON object. Its *canonical form* is ``json.dumps`` with sorted keys,
no whitespace and UTF-8 text (no floats are ever written, so every language renders
the same bytes). Sealing adds ``seq`` (1, 2, 3 … per journal) and ``prev`` (the
previous record's hash, 64 zeros for the first) and then ``hash``: SHA-256 over the
canonical form of everything except ``hash`` — or HMAC-SHA-256 under
``audit.hmac_key``, so that someone who can write the files but does not hold the key
cannot forge a consistent chain. ``alg`` names which one was used.

The written line is that canonical form with ``"hash"`` appended as its last member
(so the hot path serializes once); a verifier parses the line, drops ``hash`` and
canonicalizes again, so member order in the line never matters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
FORMAT_VERSION = 1


_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode  # one encoder for every record, not one per `json.dumps` call


def canonical(record: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of `record` (sorted keys, no whitespace, UTF-8)."""
    return _encode(record).encode("utf-8")


def _digest(body: bytes, key: bytes | None) -> str:
    if key:
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


def record_hash(record: Mapping[str, Any], key: bytes | None) -> str:
    """The hash of `record` without its own ``hash`` field."""
    return _digest(canonical({k: v for k, v in record.items() if k != "hash"}), key)


def algorithm(key: bytes | None) -> str:
    return "hmac-sha256" if key else "sha256"


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a chain stands: the last sequence number and hash written."""

    seq: int = 0
    hash: str = GENESIS


@dataclass(frozen=True, slots=True)
class Sealed:
    seq: int
    hash: str
    record: dict[str, Any]
    line: bytes  # canonical JSON of the whole record, newline-terminated


class Chain:
    """Seals records one after another; not thread-safe (the event loop owns it)."""

    def __init__(self, key: bytes | None = None, head: ChainHead = ChainHead()) -> None:
        self._key = key
        self._alg = algorithm(key)
        self.head = head

    def seal(self, fields: Mapping[str, Any]) -> Sealed:
        seq = self.head.seq + 1
        record = {**fields, "v": FORMAT_VERSION, "seq": seq, "prev": self.head.hash}
        record["alg"] = self._alg
        body = canonical(record)
        digest = _digest(body, self._key)
        record["hash"] = digest
        line = b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode())
        return Sealed(seq, digest, record, line)

    def advance(self, sealed: Sealed) -> None:
        """Make `sealed` the head; called only once its line reached the journal."""
        self.head = ChainHead(sealed.seq, sealed.hash)
