"""The two operator-log lines of every command, `command` and `command_done`, cheaply.

With the audit journal off, these lines are the record of what an agent ran (issue
2's gateway), so each command writes both at `info`. Encoding them as a dict each time
cost about a fifth of the gateway's CPU per pgbench transaction. Most of a `command`
line repeats from command to command: its second half (kind, flags, tables, decision,
reason, rule, policy version) follows from the decision, which the policy's memo
makes the same for every command of one shape. That half is encoded once per distinct
value and kept; only the command id, operation, database and statement are encoded
per line. A `command_done` line is four scalars. Both write exactly the text
`BoundLog.emit` would for the same fields (tests/unit/core/test_command_lines.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wardgate.eventlog import BoundLog, members, quote
from wardgate.seam import Command, Decision, Outcome

#: The levels a command's lines are written at (anything else works, a little slower).
LINE_LEVELS = ("info", "debug")
#: Encoded decision halves kept (a policy has a few dozen shapes; the memo is bounded).
MAX_TAILS = 4096

_tails: dict[tuple[Any, ...], str] = {}


def decision_tail(decision: Decision, tables: Sequence[str], policy_version: str) -> str:
    """`"kind": …, "flags": …, …, "policy_version": …` of a `command` line, encoded once."""
    key = (
        decision.kind,
        decision.flags,
        tuple(tables),
        decision.action._value_,  # (an Enum hashes through a Python-level __hash__)
        decision.reason,
        decision.rule,
        policy_version,
    )
    tail = _tails.get(key)
    if tail is None:
        tail = members(
            {
                "kind": decision.kind,
                "flags": sorted(decision.flags),
                "tables": list(tables),
                "decision": decision.action.value,
                "reason": decision.reason,
                "rule": decision.rule,
                "policy_version": policy_version,
            }
        )
        if len(_tails) >= MAX_TAILS:
            _tails.clear()
        _tails[key] = tail
    return tail


def _number(value: int) -> str:
    """An int as JSON writes it (anything else, e.g. a bool, through the encoder)."""
    return str(value) if type(value) is int else members({"": value})[4:]


class CommandLines:
    """One session's `command` and `command_done` lines, written to its bound log."""

    __slots__ = ("_command", "_done", "_limit", "_log", "_places")

    def __init__(self, log: BoundLog, max_statement_chars: int) -> None:
        self._log = log
        self._limit = max_statement_chars
        # The writers of the levels these lines take (routine lines may go to debug).
        self._command = {level: log.writer("command", level) for level in LINE_LEVELS}
        self._done = {level: log.writer("command_done", level) for level in LINE_LEVELS}
        self._places: dict[tuple[str, str], str] = {}  # (operation, database) → encoded

    def decided(
        self,
        level: str,
        command: Command,
        database: str,
        decision: Decision,
        tables: Sequence[str],
        policy_version: str,
    ) -> None:
        text = command.text
        if len(text) > self._limit:
            text = text[: self._limit] + "…"
        write = self._command.get(level)
        if write is None:
            write = self._log.writer("command", level)
        place = self._places.get((command.operation, database))
        if place is None:
            place = self._place(command.operation, database)
        write(
            f'"command_id": {quote(decision.command_id)}, {place}'
            f'"statement": {quote(text)}, ' + decision_tail(decision, tables, policy_version),
        )

    def _place(self, operation: str, database: str) -> str:
        place = f'"operation": {quote(operation)}, "database": {quote(database)}, '
        if len(self._places) < 64:  # a session uses a few operations and databases
            self._places[(operation, database)] = place
        return place

    def done(self, level: str, outcome: Outcome, masked: dict[str, int]) -> None:
        rows, size = outcome.rows, outcome.bytes_out
        encoded = (
            f'"command_id": {quote(outcome.command_id)}, '
            f'"rows": {rows if type(rows) is int else _number(rows)}, '
            f'"bytes": {size if type(size) is int else _number(size)}, '
            f'"status": {quote(outcome.status)}, '
            f'"error": {quote(outcome.error)}'
        )
        if masked:
            encoded += ", " + members({"masked": masked})
        write = self._done.get(level)
        if write is None:
            write = self._log.writer("command_done", level)
        write(encoded)
