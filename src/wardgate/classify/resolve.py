"""Answer an analysis's open questions for one session (cheap; runs on every call).

An `Analysis` (cached by fingerprint) leaves three facts open because they depend on
the session, not on the text:

- calls to functions not known to be read-only → the `FunctionCatalog`'s volatility;
  without a catalog, or with no answer, or if the lookup fails, the call makes the
  statement ``write`` + ``side_effect_function``;
- ``EXECUTE name`` → the `PreparedRegistry`; a name it does not know is ``unknown``;
- databases named by qualified references → ``cross_db`` unless it is the session's
  database (MySQL ``information_schema`` is exempt: it is metadata filtered by the
  caller's own privileges, like PostgreSQL's ``information_schema`` schema).
"""

from __future__ import annotations

from wardgate.classify.context import READ_ONLY_VOLATILITIES, FunctionCatalog, PreparedRegistry
from wardgate.classify.draft import Analysis, Draft
from wardgate.classify.model import Kind, StatementClassification

_EXEMPT_DATABASES = frozenset({"information_schema"})


def is_static(analysis: Analysis) -> bool:
    """Whether the analysis has no open questions (the hot path skips resolution)."""
    return not (analysis.user_functions or analysis.executes or analysis.databases)


def as_statement(analysis: Analysis) -> StatementClassification:
    return StatementClassification(
        kind=analysis.kind,
        flags=analysis.flags,
        tables=analysis.tables,
        functions=analysis.functions,
        reasons=analysis.reasons,
        fingerprint=analysis.fingerprint,
        prepared_name=analysis.prepared_name,
    )


def resolve(
    analysis: Analysis,
    catalog: FunctionCatalog | None,
    registry: PreparedRegistry | None,
    database: str | None,
) -> StatementClassification:
    if is_static(analysis):
        return as_statement(analysis)
    draft = Draft()
    draft.merge(analysis)
    draft.prepared_name = analysis.prepared_name
    for name in analysis.user_functions:
        _function(name, catalog, draft)
    for name in analysis.executes:
        _execute(name, registry, draft)
    for name in analysis.databases:
        if name != database and name.lower() not in _EXEMPT_DATABASES:
            draft.flag("cross_db")
    draft.user_functions.clear()
    draft.executes.clear()
    frozen = draft.freeze(analysis.fingerprint)
    return as_statement(frozen)


def _function(name: str, catalog: FunctionCatalog | None, draft: Draft) -> None:
    volatility = None
    if catalog is not None:
        try:
            volatility = catalog.volatility(name)
        except Exception:  # a failing catalog answers nothing: fail closed below
            volatility = None
    if volatility in READ_ONLY_VOLATILITIES:
        return
    draft.at_least(Kind.WRITE, f"calls {name}, which is not known to be read-only")
    draft.flag("side_effect_function")


def _execute(name: str, registry: PreparedRegistry | None, draft: Draft) -> None:
    prepared = registry.lookup(name) if registry is not None else None
    if prepared is None:
        draft.unknown(f"EXECUTE {name}: not a statement this session prepared")
        return
    draft.at_least(prepared.kind, f"EXECUTE {name} runs a prepared {prepared.kind.value}")
    draft.flags.update(prepared.flags)
    for ref in prepared.tables:
        draft.table(ref.name, ref.role)
    for function in prepared.functions:
        draft.function(function)
