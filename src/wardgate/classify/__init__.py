"""Statement classification: one vocabulary of kinds and risk flags for every dialect.

Public API::

    classify(sql, dialect, *, settings=None, catalog=None, registry=None,
             database=None, classifier=None) -> Classification
    cli_payload(sql, dialect, **same) -> dict      # what `wardgate classify` prints

`Classifier` holds the fingerprint cache (`ClassificationCache`); `classify()` uses a
process-wide default one unless given another. See docs/classification.md.
"""

from __future__ import annotations

from typing import Any

from wardgate.classify.cache import ClassificationCache
from wardgate.classify.classifier import Classifier, parse_with_sqlglot, statement_fingerprint
from wardgate.classify.context import (
    DictFunctionCatalog,
    DictPreparedRegistry,
    FunctionCatalog,
    ParseSettings,
    PreparedRegistry,
    Volatility,
)
from wardgate.classify.model import (
    DIALECTS,
    FLAGS,
    Classification,
    Kind,
    StatementClassification,
    TableRef,
)

__all__ = [
    "DIALECTS",
    "FLAGS",
    "KINDS",
    "Classification",
    "ClassificationCache",
    "Classifier",
    "DictFunctionCatalog",
    "DictPreparedRegistry",
    "FunctionCatalog",
    "Kind",
    "ParseSettings",
    "PreparedRegistry",
    "StatementClassification",
    "TableRef",
    "Volatility",
    "classify",
    "cli_payload",
    "default_classifier",
    "parse_with_sqlglot",
    "statement_fingerprint",
]

#: Every kind, least strict first.
KINDS: tuple[str, ...] = tuple(kind.value for kind in Kind)

_default: Classifier | None = None


def default_classifier() -> Classifier:
    """The process-wide classifier (and cache) `classify` uses by default."""
    global _default
    if _default is None:
        _default = Classifier()
    return _default


def classify(
    sql: str,
    dialect: str,
    *,
    settings: ParseSettings | None = None,
    catalog: FunctionCatalog | None = None,
    registry: PreparedRegistry | None = None,
    database: str | None = None,
    classifier: Classifier | None = None,
) -> Classification:
    """Classify `sql` as the `dialect` server ("postgres" or "mysql") would run it.

    Never raises for any text (anything it cannot see through is ``unknown``); raises
    ValueError only for an unsupported `dialect`.
    """
    return (classifier or default_classifier()).classify(
        sql, dialect, settings=settings, catalog=catalog, registry=registry, database=database
    )


def cli_payload(sql: str, dialect: str, **options: Any) -> dict[str, Any]:
    """The JSON object ``wardgate classify`` prints for `sql`."""
    payload = {"dialect": dialect, **classify(sql, dialect, **options).to_json()}
    return payload
