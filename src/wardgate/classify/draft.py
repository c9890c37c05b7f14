"""The statement analysis being built (`Draft`) and the cacheable result (`Analysis`).

An `Analysis` depends only on (dialect, parse settings, fingerprint), so it is what
the fingerprint cache stores. Facts that depend on the session — which database is
current, what the catalog says about a function, what a prepared name stands for —
are kept as open questions (`user_functions`, `executes`, `databases`) and answered
per call by resolve.py, which costs a few dict lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardgate.classify.model import Kind, TableRef, unique


@dataclass(frozen=True, slots=True)
class Analysis:
    kind: Kind
    flags: frozenset[str]
    tables: tuple[TableRef, ...]
    functions: tuple[str, ...]
    reasons: tuple[str, ...]
    fingerprint: str
    user_functions: tuple[str, ...] = ()  # calls whose volatility the catalog decides
    executes: tuple[str, ...] = ()  # prepared names run by EXECUTE
    databases: tuple[str, ...] = ()  # databases named by qualified references
    prepared_name: str | None = None


@dataclass(slots=True)
class Draft:
    kind: Kind = Kind.READ
    flags: set[str] = field(default_factory=set)
    tables: dict[TableRef, None] = field(default_factory=dict)
    functions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    user_functions: list[str] = field(default_factory=list)
    executes: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    prepared_name: str | None = None
    aliases: set[str] = field(default_factory=set)  # CTE/alias names: not function calls
    plan_only: bool = False  # EXPLAIN without ANALYZE: nothing in it runs

    def at_least(self, kind: Kind, reason: str = "") -> None:
        """Raise the kind to `kind` if that is stricter; note why."""
        if kind.rank > self.kind.rank:
            self.kind = kind
        if reason and reason not in self.reasons:
            self.reasons.append(reason)

    def unknown(self, reason: str) -> None:
        self.at_least(Kind.UNKNOWN, reason)

    def flag(self, *flags: str) -> None:
        self.flags.update(flags)

    def table(self, name: str, role: str) -> None:
        self.tables[TableRef(name, role)] = None

    def function(self, name: str) -> None:
        if name not in self.functions:
            self.functions.append(name)

    def merge(self, other: Draft | Analysis) -> None:
        """Fold another part's findings into this one (kind: the stricter)."""
        self.at_least(other.kind)
        for reason in other.reasons:
            self.at_least(other.kind, reason)
        self.flags.update(other.flags)
        for ref in other.tables:
            self.tables[ref] = None
        for name in other.functions:
            self.function(name)
        self.user_functions.extend(n for n in other.user_functions if n not in self.user_functions)
        self.executes.extend(n for n in other.executes if n not in self.executes)
        self.databases.extend(n for n in other.databases if n not in self.databases)
        if isinstance(other, Draft):
            self.aliases.update(other.aliases)

    def freeze(self, fingerprint: str) -> Analysis:
        return Analysis(
            kind=self.kind,
            flags=frozenset(self.flags),
            tables=tuple(self.tables),
            functions=tuple(self.functions),
            reasons=tuple(self.reasons),
            fingerprint=fingerprint,
            user_functions=unique(self.user_functions),
            executes=unique(self.executes),
            databases=unique(self.databases),
            prepared_name=self.prepared_name,
        )


def unknown_analysis(reason: str, fingerprint: str = "") -> Analysis:
    draft = Draft()
    draft.unknown(reason)
    return draft.freeze(fingerprint)
