"""Classifying protocol-neutral commands: SQL through the classifier, the rest by shape.

The policy decides on classifications; this module turns a `Command` into one.
SQL commands go through the fingerprint-keyed cache of `wardgate.classify`;
parse-relevant server settings the plugin reports (`standard_conforming_strings`,
`no_backslash_escapes`, `ansi_quotes`) select how the text is lexed. A database
switch (`init_db`) is a session command that touches another database. Commands
of any other shape are `unknown` — never `read`.
"""

from __future__ import annotations

from collections.abc import Mapping

from wardgate.classify.classifier import Classifier
from wardgate.classify.context import ParseSettings
from wardgate.classify.model import Classification, Kind, StatementClassification
from wardgate.seam import Command

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("on", "true", "1", "yes")


def parse_settings(attributes: Mapping[str, str]) -> ParseSettings:
    """The lexing settings a plugin reported for its session (defaults: the server's)."""
    defaults = ParseSettings()
    return ParseSettings(
        standard_conforming_strings=_truthy(
            attributes.get(
                "standard_conforming_strings",
                "on" if defaults.standard_conforming_strings else "off",
            )
        ),
        no_backslash_escapes=_truthy(attributes.get("no_backslash_escapes", "off"))
        or defaults.no_backslash_escapes,
        ansi_quotes=_truthy(attributes.get("ansi_quotes", "off")) or defaults.ansi_quotes,
    )


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


class CommandClassifier:
    def __init__(self, classifier: Classifier | None = None) -> None:
        self._classifier = classifier or Classifier()

    def __call__(self, command: Command) -> Classification:
        if command.dialect and command.operation != "init_db":
            settings = parse_settings(command.attributes)
            return self._classifier.classify(
                command.text,
                command.dialect,
                settings=settings,
                database=command.database or None,
            )
        if command.operation == "init_db":
            return _single(Kind.SESSION, reason="database switch")
        method = command.attributes.get("method", "")
        if method:
            kind = Kind.READ if method.upper() in READ_METHODS else Kind.WRITE
            return _single(kind, reason=f"HTTP {method.upper()}")
        return _single(Kind.UNKNOWN, reason=f"no classifier for operation {command.operation!r}")
