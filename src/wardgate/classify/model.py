"""The classification vocabulary and its result types.

One vocabulary for every dialect (DESIGN.md, "Statement classification"): a *kind*
says what a statement is allowed to do, *flags* add risk facts a policy can match
on. Kinds are ordered by strictness so that a string with several statements (or a
statement with several parts) takes the strictest kind of its parts::

    unknown > admin > ddl > write > session > read

``unknown`` dominates everything: a part the classifier cannot see through makes the
whole unknown. ``admin`` (server-wide effects, privileges, files, programs) is above
``ddl`` (schema changes), which is above ``write`` (data changes); ``session`` only
changes the caller's own session, and ``read`` changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class Kind(enum.Enum):
    """What a statement may do; members compare by strictness."""

    READ = "read"
    SESSION = "session"
    WRITE = "write"
    DDL = "ddl"
    ADMIN = "admin"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Kind):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Kind):
            return NotImplemented
        return self.rank <= other.rank


_RANK = {kind: rank for rank, kind in enumerate(Kind)}

#: Every flag the classifier may set; a policy may only name these.
FLAGS: frozenset[str] = frozenset(
    {
        "no_where",
        "multi_statement",
        "file_access",
        "program_exec",
        "dynamic_sql",
        "locking",
        "side_effect_function",
        "dos",
        "cross_db",
    }
)

#: Dialects the classifier understands.
DIALECTS: frozenset[str] = frozenset({"postgres", "mysql"})


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`: how the rule tables list names."""
    return frozenset(text.split())


def strictest(kinds: Iterable[Kind]) -> Kind:
    """The strictest of `kinds` (``read`` for none)."""
    return max(kinds, key=lambda kind: kind.rank, default=Kind.READ)


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table a statement touches: its name as written (qualified) and the role."""

    name: str
    role: str  # "read" | "write"

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role}


@dataclass(frozen=True, slots=True)
class StatementClassification:
    """The classification of one statement of a string."""

    kind: Kind
    flags: frozenset[str] = frozenset()
    tables: tuple[TableRef, ...] = ()
    functions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    fingerprint: str = ""
    prepared_name: str | None = None  # set by PREPARE: the name it defines

    def to_json(self) -> dict[str, Any]:
        payload = _common_json(self.kind, self.flags, self.tables, self.functions, self.reasons)
        payload["fingerprint"] = self.fingerprint
        if self.prepared_name is not None:
            payload["prepared_name"] = self.prepared_name
        return payload


@dataclass(frozen=True, slots=True)
class Classification:
    """The classification of a whole string: the strictest of its statements."""

    kind: Kind
    flags: frozenset[str]
    tables: tuple[TableRef, ...]
    functions: tuple[str, ...]
    statements: tuple[StatementClassification, ...]
    fingerprint: str
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        payload = _common_json(self.kind, self.flags, self.tables, self.functions, self.reasons)
        payload["fingerprint"] = self.fingerprint
        payload["statements"] = [statement.to_json() for statement in self.statements]
        return payload


def _common_json(
    kind: Kind,
    flags: frozenset[str],
    tables: tuple[TableRef, ...],
    functions: tuple[str, ...],
    reasons: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "flags": sorted(flags),
        "tables": [table.to_json() for table in tables],
        "functions": list(functions),
        "reasons": list(reasons),
    }


def unique(items: Iterable[Any]) -> tuple[Any, ...]:
    """`items` without repeats, first occurrence order kept."""
    return tuple(dict.fromkeys(items))


def combine(statements: tuple[StatementClassification, ...], fingerprint: str) -> Classification:
    """The whole-string classification: strictest kind, union of everything else."""
    flags = frozenset().union(*(statement.flags for statement in statements))
    if len(statements) > 1:
        flags |= {"multi_statement"}
    return Classification(
        kind=strictest(statement.kind for statement in statements),
        flags=flags,
        tables=unique(table for statement in statements for table in statement.tables),
        functions=unique(name for statement in statements for name in statement.functions),
        statements=statements,
        fingerprint=fingerprint,
        reasons=unique(reason for statement in statements for reason in statement.reasons),
    )
