"""The `policy` section of wardgate.yaml (DESIGN.md, "Configuration", "Decisions").

Rules are ordered; the first whose `when` matches decides. Inside a rule the
`deny`, `review` and `allow` lists are checked in that order (strictest first),
each entry being a kind, a flag, `all`, or a mapping that combines kinds, flags,
tables and functions. Unknown kinds, flags and keys are configuration errors, so a
typo never weakens a policy.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from wardgate.classify.model import FLAGS as CLASSIFIER_FLAGS
from wardgate.classify.model import Kind

# The classifier owns the vocabulary; policy only refers to it.
KINDS: tuple[str, ...] = tuple(kind.value for kind in Kind)
FLAGS: tuple[str, ...] = tuple(sorted(CLASSIFIER_FLAGS))
ActionName = Literal["allow", "deny", "review"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """`30`, `30s`, `5m`, `2h`, `1d` → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration like 30s, 5m or 2h, got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


Duration = Annotated[float, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_word(value: str) -> str:
    if value != "all" and value not in KINDS and value not in FLAGS:
        raise ValueError(
            f"{value!r} is not a kind ({', '.join(KINDS)}), a flag ({', '.join(FLAGS)}) or 'all'"
        )
    return value


def _check_names(values: tuple[str, ...], vocabulary: tuple[str, ...], what: str) -> None:
    unknown = [value for value in values if value not in vocabulary]
    if unknown:
        known = ", ".join(vocabulary)
        raise ValueError(f"unknown {what} {', '.join(unknown)} (known: {known})")


class Matcher(Strict):
    """All given keys must hold; inside a key, any listed value may."""

    kinds: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()  # glob patterns over table names as written
    writes: tuple[str, ...] = ()  # glob patterns over tables the statement writes
    functions: tuple[str, ...] = ()  # glob patterns over function names

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        _check_names(values, KINDS, "kind")
        return values

    @field_validator("flags")
    @classmethod
    def _flags(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        _check_names(values, FLAGS, "flag")
        return values

    @field_validator("tables", "writes", "functions")
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(value.lower() for value in values)


def _parse_entry(value: object) -> object:
    """One error per bad entry: a word is checked as a word, a mapping as a Matcher."""
    if isinstance(value, str):
        return _check_word(value)
    if isinstance(value, dict):
        try:
            return Matcher.model_validate(value)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}, got {error['input']!r}"
                for error in exc.errors()
            )
            raise ValueError(f"bad matcher ({details})") from None
    raise ValueError("an entry is a kind, a flag, 'all', or a mapping of kinds/flags/tables/…")


Entry = Annotated[str | Matcher, BeforeValidator(_parse_entry)]


class When(Strict):
    """When a rule applies; every given key must match (any value within a key)."""

    groups: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()  # HTTP methods
    paths: tuple[str, ...] = ()  # HTTP path globs
    models: tuple[str, ...] = ()  # LLM API requests: globs over the requested model
    apis: tuple[str, ...] = ()  # LLM API shape the HTTP plugin recognised (openai.chat …)


class Rule(Strict):
    name: Annotated[str, Field(min_length=1)]
    when: When = When()
    allow: tuple[Entry, ...] = ()
    review: tuple[Entry, ...] = ()
    deny: tuple[Entry, ...] = ()
    review_by: tuple[str, ...] = ()
    review_timeout: Duration = 300.0
    min_approvals: Annotated[int, Field(ge=1)] = 1
    max_rows: Annotated[int, Field(ge=0)] | None = None


class PolicyConfig(Strict):
    default: ActionName = "deny"
    rules: tuple[Rule, ...] = ()

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        names = [rule.name for rule in rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule names: {', '.join(duplicates)}")
        return rules


def policy_version(policy: PolicyConfig) -> str:
    """A short stable hash of the *normalized* policy section, logged with decisions.

    Computed from the validated model (defaults filled in, durations in seconds,
    key order and YAML formatting irrelevant), so two files that mean the same
    policy have the same version, and editing anything outside `policy` (resources,
    tokens, logging) does not look like a policy change.
    """
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
