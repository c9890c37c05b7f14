"""Compiled masking rules: which rule protects a source column, which detectors run.

A column glob has one to three dot-separated parts matched (case-insensitively,
`fnmatch` style) against the tail of `schema.table.column`: `password` and
`*.password` match that column in any table, `customers.email` in any schema, and
`crm.customers.email` only there. The first rule in file order that matches wins.

A field glob is matched against a value's dotted document path (`data.0.email`:
array items are their index) and every ancestor's, so a rule on an object masks
everything in it. A glob without a dot names a key at any depth (`password`); a
dotted one is matched from the root, `*` spanning dots (`*.password`: any nested
`password`, `customer.email`, `data.*.card`). Case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from wardgate.masking.config import STRICTNESS, CustomDetector, MaskingRule
from wardgate.masking.detectors import BUILTIN, Detector, custom

#: (schema, table, column), lowercased; schema is "" when unknown.
Source = tuple[str, str, str]
#: Keys and array indexes from a document's root to a value.
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class RuleRef:
    name: str
    strategy: str
    keep: int
    on_unknown: str = "mask"

    def stricter(self, other: RuleRef | None) -> RuleRef:
        if other is None or STRICTNESS[self.strategy] > STRICTNESS[other.strategy]:
            return self
        return other


def strictest(rules: Iterable[RuleRef | None]) -> RuleRef | None:
    best: RuleRef | None = None
    for rule in rules:
        if rule is not None:
            best = rule.stricter(best)
    return best


def _ref(rule: MaskingRule) -> RuleRef:
    return RuleRef(rule.name, rule.strategy, rule.keep, rule.on_unknown)


def _glob_matches(glob: str, source: Source) -> bool:
    """Match the glob's parts against the tail of `source`; an unknown schema matches any."""
    parts = glob.split(".")
    target = source[3 - len(parts) :]
    return all(
        (not value and index == 0 and len(parts) == 3) or fnmatchcase(value, pattern)
        for index, (value, pattern) in enumerate(zip(target, parts, strict=True))
    )


class MaskingRules:
    """The `masking` section, compiled; `rule_for` is cached per source column."""

    def __init__(self, rules: Iterable[MaskingRule]) -> None:
        self.rules = tuple(rules)
        self._column_rules = [(_ref(r), r.columns) for r in self.rules if r.columns]
        self._field_rules = [(_ref(r), r.fields) for r in self.rules if r.fields]
        self.detectors, self.detector_rules = _detectors(self.rules)
        self.rule_for = lru_cache(maxsize=65536)(self._rule_for)
        self.field_rule = lru_cache(maxsize=65536)(self._field_rule)

    @property
    def empty(self) -> bool:
        return not self.rules

    @property
    def has_columns(self) -> bool:
        return bool(self._column_rules)

    @property
    def has_fields(self) -> bool:
        return bool(self._field_rules)

    def _field_rule(self, path: FieldPath) -> RuleRef | None:
        """The first rule whose field globs match `path` or one of its ancestors."""
        if not self._field_rules:
            return None
        names = [str(part).lower() for part in path]
        dotted = [".".join(names[: end + 1]) for end in range(len(names))]
        for rule, globs in self._field_rules:
            for glob in globs:
                targets = dotted if "." in glob else names
                if any(fnmatchcase(target, glob) for target in targets):
                    return rule
        return None

    def _rule_for(self, source: Source) -> RuleRef | None:
        normalized = (source[0].lower(), source[1].lower(), source[2].lower())
        for rule, globs in self._column_rules:
            if any(_glob_matches(glob, normalized) for glob in globs):
                return rule
        return None

    def table_may_hold(self, schema: str, table: str) -> RuleRef | None:
        """Without a catalog: the strictest rule whose globs could match a column of it."""
        found: list[RuleRef] = []
        for rule, globs in self._column_rules:
            for glob in globs:
                parts = glob.split(".")
                scope = (
                    (schema.lower(), table.lower())[-(len(parts) - 1) :] if len(parts) > 1 else ()
                )
                patterns = parts[:-1]
                if all(fnmatchcase(v, p) for v, p in zip(scope, patterns, strict=True)):
                    found.append(rule)
        return strictest(found)

    def strictest_column_rule(self) -> RuleRef | None:
        return strictest(rule for rule, _ in self._column_rules)


def _detectors(rules: tuple[MaskingRule, ...]) -> tuple[list[Detector], list[RuleRef]]:
    """One entry per detector name; a detector in several rules takes the strictest."""
    chosen: dict[str, tuple[Detector, RuleRef]] = {}
    for rule in rules:
        ref = _ref(rule)
        for spec in rule.detectors:
            detector = (
                custom(spec.name, spec.regex, spec.prefix)
                if isinstance(spec, CustomDetector)
                else BUILTIN[spec]
            )
            previous = chosen.get(detector.name)
            if previous is None or (ref.stricter(previous[1]) is ref and ref != previous[1]):
                chosen[detector.name] = (detector, ref)
    return [d for d, _ in chosen.values()], [r for _, r in chosen.values()]
