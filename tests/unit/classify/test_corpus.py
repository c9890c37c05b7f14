"""Every line of the golden corpus (tests/data/classify_corpus.jsonl) through the classifier.

A line is one JSON object: ``dialect``, ``sql``, expected ``kind``, ``flags`` that must be
set; optionally ``absent_flags``, ``tables`` (exact, as [name, role] pairs), ``functions``
(must be reported), ``statements`` (count), ``prepared_name``, and the session facts
``settings``, ``catalog`` (name → volatility), ``registry`` (name → prepared SQL),
``database``. Grow the file whenever a bypass is found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wardgate.classify import (
    FLAGS,
    KINDS,
    Classification,
    Classifier,
    DictFunctionCatalog,
    DictPreparedRegistry,
    ParseSettings,
)

CORPUS = Path(__file__).resolve().parents[2] / "data" / "classify_corpus.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()
]


def _id(case: dict[str, Any]) -> str:
    return f"{case['dialect']}:{case['sql'][:60]}"


def run_case(case: dict[str, Any], classifier: Classifier) -> Classification:
    dialect = case["dialect"]
    settings = ParseSettings(**case.get("settings", {}))
    registry = None
    if "registry" in case:
        registry = DictPreparedRegistry(dialect)
        for name, sql in case["registry"].items():
            prepared = classifier.classify(sql, dialect, settings=settings)
            registry.register(name, prepared.statements[0])
    catalog = DictFunctionCatalog(case["catalog"]) if "catalog" in case else None
    return classifier.classify(
        case["sql"],
        dialect,
        settings=settings,
        catalog=catalog,
        registry=registry,
        database=case.get("database"),
    )


def test_corpus_is_large_and_well_formed() -> None:
    assert len(CASES) >= 150
    assert {case["dialect"] for case in CASES} == {"postgres", "mysql"}
    for case in CASES:
        assert case["kind"] in KINDS, case
        assert set(case["flags"]) <= FLAGS, case
        assert set(case.get("absent_flags", [])) <= FLAGS, case


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_corpus_case(case: dict[str, Any]) -> None:
    result = run_case(case, Classifier())
    got = result.to_json()
    assert result.kind.value == case["kind"], got
    assert set(case["flags"]) <= result.flags, got
    assert not set(case.get("absent_flags", [])) & result.flags, got
    if "tables" in case:
        assert {(t.name, t.role) for t in result.tables} == {tuple(t) for t in case["tables"]}, got
    if "functions" in case:
        assert set(case["functions"]) <= set(result.functions), got
    if "statements" in case:
        assert len(result.statements) == case["statements"], got
    if "prepared_name" in case:
        assert result.statements[0].prepared_name == case["prepared_name"], got


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_corpus_case_from_its_fingerprint(case: dict[str, Any]) -> None:
    """The fingerprint alone classifies the same: it is all the classifier ever reads."""
    classifier = Classifier()
    original = run_case(case, classifier)
    if not original.fingerprint or len(original.statements) != 1:
        return
    again = run_case({**case, "sql": original.fingerprint}, classifier)
    assert again.fingerprint == original.fingerprint
    assert (again.kind, again.flags, again.tables, again.functions) == (
        original.kind,
        original.flags,
        original.tables,
        original.functions,
    )
