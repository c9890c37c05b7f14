"""Classifying protocol-neutral commands: SQL through the classifier, the rest by shape.

The policy decides on classifications; this module turns a `Command` into one.
SQL commands go through the fingerprint-keyed cache of `wardgate.classify`;
parse-relevant server settings the plugin reports in `Command.attributes` select
how the text is lexed:

- ``standard_conforming_strings`` (PostgreSQL, from ParameterStatus),
- ``no_backslash_escapes`` (MySQL, from the SERVER_STATUS_NO_BACKSLASH_ESCAPES flag),
- ``ansi_quotes`` (MySQL, from ``@@sql_mode``).

Each is ``on``/``off``, or ``either`` when the plugin cannot know the value the server
will use (a pipelined command behind one that may change it): the text is then
classified under every candidate setting and the strictest reading decides.

A database switch (`init_db`) is a session command that touches another database.
Commands of any other shape are `unknown` — never `read`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import product
from types import MappingProxyType

from wardgate.classify.classifier import Classifier
from wardgate.classify.context import FunctionCatalog, ParseSettings
from wardgate.classify.model import (
    Classification,
    Kind,
    StatementClassification,
    combine,
    unique,
)
from wardgate.seam import Command

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: `SET NAMES` to a character set in which every ASCII byte is a whole character, as
#: drivers send at connect (PyMySQL). Any other character-set change stays `admin`:
#: it would change how the server reads the bytes the classifier reads.
_SAFE_SET_NAMES = re.compile(
    r"\s*SET\s+NAMES\s+'?(utf8mb4|utf8mb3|utf8|latin1|ascii|binary)'?"
    r"(\s+COLLATE\s+'?[a-z0-9_]+'?)?\s*;?\s*",
    re.IGNORECASE | re.ASCII,
)
#: Attribute value meaning "the server may use either value" (classify both ways).
EITHER = "either"
_SETTINGS = (
    ("standard_conforming_strings", True),
    ("no_backslash_escapes", False),
    ("ansi_quotes", False),
)


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("on", "true", "1", "yes")


def _candidates(value: str | None, default: bool) -> tuple[bool, ...]:
    if value is None:
        return (default,)
    if value.strip().lower() == EITHER:
        return (default, not default)
    return (_truthy(value),)


#: `settings_variants` per reported values (a handful in practice; cleared when full).
_VARIANTS_ENTRIES = 256
_variants: dict[tuple[str | None, ...], tuple[ParseSettings, ...]] = {}
#: The last read-only mapping asked about and its answer: a plugin that shares one
#: `MappingProxyType` of attributes per setting value (PostgreSQL) asks about the same
#: object command after command. Only a proxy is remembered: a plain dict could be
#: changed under the same identity.
_last: tuple[Mapping[str, str], tuple[ParseSettings, ...]] | None = None


def settings_variants(attributes: Mapping[str, str]) -> tuple[ParseSettings, ...]:
    """Every lexing setting the server may apply to this command (usually one)."""
    global _last
    last = _last
    if last is not None and last[0] is attributes:  # a plugin's shared mapping, again
        return last[1]
    values = tuple([attributes.get(name) for name, _ in _SETTINGS])
    known = _variants.get(values)
    if known is None:
        known = _settings_variants(values)
        if len(_variants) >= _VARIANTS_ENTRIES:
            _variants.clear()
        _variants[values] = known
    if type(attributes) is MappingProxyType:
        _last = (attributes, known)  # held here, so no other object takes its identity
    return known


def _settings_variants(values: tuple[str | None, ...]) -> tuple[ParseSettings, ...]:
    choices = [
        _candidates(value, default) for value, (_, default) in zip(values, _SETTINGS, strict=True)
    ]
    return tuple(ParseSettings(*settings) for settings in product(*choices))


def parse_settings(attributes: Mapping[str, str]) -> ParseSettings:
    """The lexing settings a plugin reported for its session (defaults: the server's)."""
    return settings_variants(attributes)[0]


def _single(kind: Kind, flags: frozenset[str] = frozenset(), reason: str = "") -> Classification:
    statement = StatementClassification(kind=kind, flags=flags, reasons=(reason,) if reason else ())
    return Classification(
        kind=kind,
        flags=flags,
        tables=(),
        functions=(),
        statements=(statement,),
        fingerprint="",
        reasons=statement.reasons,
    )


def strictest_reading(readings: list[Classification]) -> Classification:
    """One classification from several lexings of the same text: all must be allowed.

    Readings that cut the text alike are one; otherwise every statement of every
    reading is kept, so the policy sees the strictest of them.
    """
    if len({reading.fingerprint for reading in readings}) == 1:
        return readings[0]
    statements = unique(s for reading in readings for s in reading.statements)
    whole = combine(statements, " | ".join(reading.fingerprint for reading in readings))
    note = "the server's parse settings are not known yet: classified under each"
    return Classification(
        kind=whole.kind,
        flags=whole.flags,
        tables=whole.tables,
        functions=whole.functions,
        statements=whole.statements,
        fingerprint=whole.fingerprint,
        reasons=(*whole.reasons, note),
    )


def _database_switch(command: Command) -> Classification:
    """COM_INIT_DB: a session command; `cross_db` when it leaves the current database."""
    current = command.attributes.get("current_database", "")
    target = command.database or command.text
    flags = frozenset({"cross_db"}) if target != current else frozenset()
    return _single(Kind.SESSION, flags, reason=f"switches to database {target}")


class CommandClassifier:
    def __init__(self, classifier: Classifier | None = None) -> None:
        self._classifier = classifier or Classifier()

    @property
    def classifier(self) -> Classifier:
        return self._classifier

    def __call__(
        self, command: Command, functions: FunctionCatalog | None = None
    ) -> Classification:
        if command.operation == "init_db":
            return _database_switch(command)
        if command.dialect:
            return self._sql(command, functions)
        method = command.attributes.get("method", "")
        if method:
            kind = Kind.READ if method.upper() in READ_METHODS else Kind.WRITE
            return _single(kind, reason=f"HTTP {method.upper()}")
        return _single(Kind.UNKNOWN, reason=f"no classifier for operation {command.operation!r}")

    def _sql(self, command: Command, functions: FunctionCatalog | None) -> Classification:
        if command.dialect == "mysql" and _SAFE_SET_NAMES.fullmatch(command.text):
            return _single(Kind.SESSION, reason="SET NAMES to an ASCII-safe character set")
        attributes = command.attributes
        variants = settings_variants(attributes)
        if len(variants) == 1 and command.dialect != "mysql":  # the usual case, directly
            return self._classifier.classify(
                command.text,
                command.dialect,
                settings=variants[0],
                catalog=functions,
                database=command.database or None,
            )
        readings = self._readings(command, variants, functions)
        if command.dialect == "mysql" and _may_change_lexing_midway(readings):
            # MySQL parses each statement of a multi-statement string only after running
            # the one before: a SET sql_mode early in the string changes how the rest
            # is cut. Read the string under every setting; the strictest decides.
            unsure = {**attributes, "no_backslash_escapes": EITHER, "ansi_quotes": EITHER}
            readings += self._readings(command, settings_variants(unsure), functions)
        return readings[0] if len(readings) == 1 else strictest_reading(readings)

    def _readings(
        self,
        command: Command,
        variants: tuple[ParseSettings, ...],
        functions: FunctionCatalog | None,
    ) -> list[Classification]:
        return [
            self._classifier.classify(
                command.text,
                command.dialect,
                settings=settings,
                catalog=functions,
                database=command.database or None,
            )
            for settings in variants
        ]


def _may_change_lexing_midway(readings: list[Classification]) -> bool:
    """Several statements, one of which may change settings (admin or unknown)."""
    return any(
        "multi_statement" in reading.flags
        and any(s.kind in (Kind.ADMIN, Kind.UNKNOWN) for s in reading.statements[:-1])
        for reading in readings
    )
