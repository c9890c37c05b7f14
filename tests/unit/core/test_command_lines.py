"""The per-command log lines write exactly what `BoundLog.emit` writes for their fields."""

from __future__ import annotations

import io
import json
import time
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.eventlog import EventLog
from wardgate.gate import command_lines
from wardgate.gate.command_lines import CommandLines, decision_tail
from wardgate.seam import Action, Command, Decision, Outcome

NOW = 1795641212.123456
BOUND = {
    "resource": "pg",
    "protocol": "postgres",
    "session": "3e0c0a832d8b986d",
    "identity": "bench",
    "client": "127.0.0.1:36300",
}

texts = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "SELECT 'é' -- \"q\" \\ \n\t\x00\u2028", "select abalance from a where aid=5"]
)
names = st.lists(texts, max_size=3)
decisions = st.builds(
    Decision,
    action=st.sampled_from(list(Action)),
    rule=texts,
    reason=texts,
    command_id=texts,
    kind=st.sampled_from(["read", "write", "ddl", "unknown"]) | texts,
    flags=st.frozensets(texts, max_size=3),
)
outcomes = st.builds(
    Outcome,
    command_id=texts,
    rows=st.integers(min_value=0, max_value=2**63),
    bytes_out=st.integers(min_value=0, max_value=2**63),
    error=texts,
    status=texts,
)


def pair(level: str = "info") -> tuple[io.StringIO, EventLog, io.StringIO, CommandLines]:
    expected, actual = io.StringIO(), io.StringIO()
    return (
        expected,
        EventLog(expected, level=level),
        actual,
        CommandLines(EventLog(actual, level=level).bind(**BOUND), max_statement_chars=12),
    )


def command_fields(
    command: Command, database: str, decision: Decision, tables: list[str], version: str
) -> dict[str, Any]:
    """What `GatewaySession` logged before the lines were encoded from cached pieces."""
    text = command.text if len(command.text) <= 12 else command.text[:12] + "…"
    return {
        "command_id": decision.command_id,
        "operation": command.operation,
        "database": database,
        "statement": text,
        "kind": decision.kind,
        "flags": sorted(decision.flags),
        "tables": tables,
        "decision": decision.action.value,
        "reason": decision.reason,
        "rule": decision.rule,
        "policy_version": version,
    }


@settings(max_examples=300)
@given(
    operation=texts,
    statement=texts,
    database=texts,
    decision=decisions,
    tables=names,
    version=texts,
)
def test_a_command_line_is_the_emitted_line(
    operation: str,
    statement: str,
    database: str,
    decision: Decision,
    tables: list[str],
    version: str,
) -> None:
    expected, log, actual, lines = pair()
    command = Command(operation, statement, "postgres")
    with patch.object(time, "time", lambda: NOW):  # the same clock for both lines
        log.bind(**BOUND).emit(
            "command", **command_fields(command, database, decision, tables, version)
        )
        lines.decided("info", command, database, decision, tables, version)
    assert actual.getvalue() == expected.getvalue()
    json.loads(actual.getvalue())


@settings(max_examples=300)
@given(outcome=outcomes, masked=st.dictionaries(texts, st.integers(0, 99), max_size=2))
def test_a_command_done_line_is_the_emitted_line(outcome: Outcome, masked: dict[str, int]) -> None:
    expected, log, actual, lines = pair()
    fields: dict[str, Any] = {
        "command_id": outcome.command_id,
        "rows": outcome.rows,
        "bytes": outcome.bytes_out,
        "status": outcome.status,
        "error": outcome.error,
    }
    if masked:
        fields["masked"] = masked
    with patch.object(time, "time", lambda: NOW):
        log.bind(**BOUND).emit("command_done", **fields)
        lines.done("info", outcome, masked)
    assert actual.getvalue() == expected.getvalue()


def test_the_same_decision_half_is_encoded_once_and_reused() -> None:
    decision = Decision(Action.ALLOW, "bench-read", "allow: read", "s-1", kind="read")
    first = decision_tail(decision, ["pgbench_accounts"], "v1")
    renumbered = Decision(Action.ALLOW, "bench-read", "allow: read", "s-2", kind="read")
    assert decision_tail(renumbered, ["pgbench_accounts"], "v1") is first
    assert decision_tail(renumbered, ["pgbench_accounts"], "v2") != first  # a reload shows
    assert decision_tail(renumbered, ["other"], "v1") != first


def test_the_kept_halves_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command_lines, "MAX_TAILS", 8)
    monkeypatch.setattr(command_lines, "_tails", {})
    for n in range(50):
        decision_tail(Decision(Action.DENY, "r", f"reason {n}"), [], "v")
    assert len(command_lines._tails) <= 8


def test_lines_below_the_level_are_not_written() -> None:
    _, _, actual, lines = pair(level="warning")
    decision = Decision(Action.ALLOW, "r", command_id="s-1")
    lines.decided("info", Command("query", "select 1"), "db", decision, [], "v")
    lines.done("info", Outcome("s-1", rows=1), {})
    assert actual.getvalue() == ""
