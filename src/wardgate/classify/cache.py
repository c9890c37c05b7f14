"""A bounded LRU of statement analyses keyed by (dialect, parse settings, fingerprint).

Why this is sound: see fingerprint.py — an analysis is computed from the fingerprint
string alone, so every statement with the same key has the same analysis. The parse
settings are part of the key because they decide how the fingerprint was cut; the
session facts (catalog, prepared names, current database) are not, because they are
applied after the cache (resolve.py).

Bounded so an agent that sends endless distinct shapes costs memory only up to
`max_entries` analyses (each a few hundred bytes plus its fingerprint).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from wardgate.classify.context import ParseSettings
from wardgate.classify.draft import Analysis

CacheKey = tuple[str, ParseSettings, str]

DEFAULT_MAX_ENTRIES = 10_000


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class ClassificationCache:
    """LRU map from (dialect, settings, fingerprint) to the statement's analysis."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._entries: OrderedDict[CacheKey, Analysis] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Analysis | None:
        analysis = self._entries.get(key)
        if analysis is None:
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return analysis

    def put(self, key: CacheKey, analysis: Analysis) -> None:
        self._entries[key] = analysis
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.stats.evictions += 1

    def clear(self) -> None:
        self._entries.clear()
