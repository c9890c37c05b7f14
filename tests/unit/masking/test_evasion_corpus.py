"""The masking-evasion corpus (tests/data/masking_evasion_*.jsonl), one case per line.

Each case names a statement, the width of its result, the output positions that
must be masked (`masked`, optionally with the `strategy`), those that must stay
clear (`unmasked`), or `deny` when the statement must be refused before it runs.
Result columns are all derived here (PostgreSQL table OID 0, no MySQL org_table):
the statement's lineage alone has to catch every dodge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wardgate.catalog.index import CatalogIndex
from wardgate.masking.planner import MaskingEngine
from wardgate.seam import ResultColumn

DATA = Path(__file__).resolve().parents[2] / "data"


def _cases(dialect: str) -> list[Any]:
    lines = (DATA / f"masking_evasion_{dialect}.jsonl").read_text().splitlines()
    return [pytest.param(json.loads(line), id=f"{n}") for n, line in enumerate(lines) if line]


def _check(case: dict[str, Any], engine: MaskingEngine, index: CatalogIndex, dialect: str) -> None:
    lineage = engine.trace(case["sql"], dialect, index)
    if case.get("deny"):
        assert engine.verdict(lineage, index), case
        return
    columns = [ResultColumn(name=f"c{i}") for i in range(case["width"])]
    masks = {m.index: m.strategy for m in engine.plan(lineage, columns, index)}
    for position in case.get("masked", []):
        assert position in masks, (case, masks)
    for position, strategy in case.get("strategy", {}).items():
        assert masks[int(position)] == strategy, (case, masks)
    for position in case.get("unmasked", []):
        assert position not in masks, (case, masks)


@pytest.mark.parametrize("case", _cases("postgres"))
def test_postgres_evasions(
    case: dict[str, Any], engine: MaskingEngine, index: CatalogIndex
) -> None:
    _check(case, engine, index, "postgres")


@pytest.mark.parametrize("case", _cases("mysql"))
def test_mysql_evasions(
    case: dict[str, Any], engine: MaskingEngine, mysql_index: CatalogIndex
) -> None:
    _check(case, engine, mysql_index, "mysql")
