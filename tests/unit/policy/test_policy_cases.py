"""The policy corpus: every case of tests/data/policy_cases.jsonl through `wardgate policy test`.

Each line names an identity (with `groups`), a resource of policy_cases.yaml and a
statement, and the decision expected: `action`, `rule`, and optionally `kind`,
`flags` (a subset of the reported flags) and `max_rows`. Grow it whenever a rule
surprises someone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wardgate.cli.main import cli

DATA = Path(__file__).resolve().parents[2] / "data"
CONFIG = DATA / "policy_cases.yaml"
CASES = [json.loads(line) for line in (DATA / "policy_cases.jsonl").read_text().splitlines()]


def policy_test(case: dict[str, Any]) -> dict[str, Any]:
    args = ["policy", "test", "-c", str(CONFIG), "--identity", case["identity"]]
    args += ["--groups", case["groups"], "--resource", case["resource"], case["sql"]]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.mark.parametrize("case", CASES, ids=[case["note"][:60] for case in CASES])
def test_policy_case(case: dict[str, Any]) -> None:
    decision = policy_test(case)
    assert (decision["action"], decision["rule"]) == (case["action"], case["rule"]), decision
    if "kind" in case:
        assert decision["kind"] == case["kind"], decision
    assert set(case.get("flags", ())) <= set(decision["flags"]), decision
    if "max_rows" in case:
        assert decision["max_rows"] == case["max_rows"]


def test_policy_test_prints_the_contract_fields() -> None:
    decision = policy_test(CASES[0])
    for key in ("action", "rule", "kind", "flags", "masking", "policy_version", "reason"):
        assert key in decision
    assert len(decision["policy_version"]) == 16


def test_corpus_covers_every_action_and_protocol() -> None:
    assert {case["action"] for case in CASES} == {"allow", "deny", "review"}
    assert {case["resource"] for case in CASES} >= {"orders", "shop"}
