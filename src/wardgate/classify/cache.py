"""A bounded LRU of statement analyses keyed by (dialect, parse settings, fingerprint).

Why this is sound: see fingerprint.py — an analysis is computed from the fingerprint
string alone, so every statement with the same key has the same analysis. The parse
settings are part of the key because they decide how the fingerprint was cut; the
session facts (catalog, prepared names, current database) are not, because they are
applied after the cache (resolve.py).

Bounded twice so an agent that sends endless distinct shapes costs little memory:
at most `max_entries` analyses, and fingerprints longer than `max_key_chars` are not
kept at all (such a statement is classified afresh each time; bulk INSERTs and IN
lists are short once fingerprinted). A lock makes it safe to share across threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from wardgate.classify.context import ParseSettings
from wardgate.classify.draft import Analysis

CacheKey = tuple[str, ParseSettings, str]

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_KEY_CHARS = 16_384


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class ClassificationCache:
    """LRU map from (dialect, settings, fingerprint) to the statement's analysis."""

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, max_key_chars: int = DEFAULT_MAX_KEY_CHARS
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_key_chars = max_key_chars
        self.stats = CacheStats()
        self.generation = 0  # bumped by `clear`: memos built on these analyses drop theirs
        self._entries: OrderedDict[CacheKey, Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Analysis | None:
        with self._lock:
            analysis = self._entries.get(key)
            if analysis is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return analysis

    def count_hits(self, n: int) -> None:
        """`n` analyses were served by a memo built on this cache (`Classifier`)."""
        with self._lock:
            self.stats.hits += n

    def put(self, key: CacheKey, analysis: Analysis) -> None:
        if len(key[2]) > self.max_key_chars:
            return
        with self._lock:
            self._entries[key] = analysis
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self.stats.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.generation += 1
