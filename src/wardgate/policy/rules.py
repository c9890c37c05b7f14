"""Matching commands against rules: `when` against who/where, entries against what.

Pure functions over the policy model and a classification; no I/O, no wire data.
Globs use `fnmatch` semantics, case-insensitive for tables and functions, and a
table pattern matches the name as written or its last component (`customers`
matches `public.customers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from wardgate.policy.model import FLAGS, Entry, Matcher, Rule, When
from wardgate.seam import Action, Identity


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule entry may look at for one statement."""

    kind: str
    flags: frozenset[str]
    tables: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subject:
    """What a rule's `when` may look at."""

    identity: Identity
    resource: str
    method: str = ""
    path: str = ""
    model: str = ""
    api: str = ""


def _any_glob(patterns: Iterable[str], value: str) -> bool:
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def when_matches(when: When, subject: Subject) -> bool:
    identity = subject.identity
    if when.groups and not identity.groups.intersection(when.groups):
        return False
    if when.identities and not _any_glob(when.identities, identity.name):
        return False
    if when.resources and not _any_glob(when.resources, subject.resource):
        return False
    if when.methods and subject.method.upper() not in {m.upper() for m in when.methods}:
        return False
    if when.models and not _any_glob(when.models, subject.model):
        return False
    if when.apis and not _any_glob(when.apis, subject.api):
        return False
    return not when.paths or _any_glob(when.paths, subject.path)


def _table_matches(patterns: tuple[str, ...], tables: tuple[str, ...]) -> bool:
    for table in tables:
        name = table.lower()
        short = name.rsplit(".", 1)[-1]
        if any(fnmatchcase(name, p) or fnmatchcase(short, p) for p in patterns):
            return True
    return False


def _matcher_matches(matcher: Matcher, facts: Facts) -> bool:
    if matcher.kinds and facts.kind not in matcher.kinds:
        return False
    if matcher.flags and not facts.flags.intersection(matcher.flags):
        return False
    if matcher.tables and not _table_matches(matcher.tables, facts.tables):
        return False
    if matcher.writes and not _table_matches(matcher.writes, facts.written):
        return False
    functions = tuple(name.lower() for name in facts.functions)
    return not matcher.functions or any(_any_glob(matcher.functions, f) for f in functions)


def entry_matches(entry: Entry, facts: Facts) -> bool:
    if isinstance(entry, Matcher):
        return _matcher_matches(entry, facts)
    if entry == "all":
        return True
    if entry in FLAGS:
        return entry in facts.flags
    return entry == facts.kind


def rule_action(rule: Rule, facts: Facts, default: Action) -> tuple[Action, str]:
    """The rule's action for one statement (strictest list first) and why."""
    for action, entries in ((Action.DENY, rule.deny), (Action.REVIEW, rule.review)):
        for entry in entries:
            if entry_matches(entry, facts):
                return action, f"{action.value}: {_describe(entry)}"
    for entry in rule.allow:
        if entry_matches(entry, facts):
            return Action.ALLOW, f"allow: {_describe(entry)}"
    return default, f"{facts.kind} is not listed in the rule; policy default {default.value}"


def _describe(entry: Entry) -> str:
    if isinstance(entry, Matcher):
        parts = [f"{key}={','.join(value)}" for key, value in entry.model_dump().items() if value]
        return "{" + " ".join(parts) + "}"
    return entry


STRICTNESS = {Action.ALLOW: 0, Action.REVIEW: 1, Action.DENY: 2}
