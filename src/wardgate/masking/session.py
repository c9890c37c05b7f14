"""`MaskingSession`: masking state of one client session.

At decision time (`prepare`, async: it may read the catalog) the command is
traced and may be denied (a rule's `on_unknown: deny`, a pg_notify payload fed by
masked columns). Per result shape (`plan`, sync: called from the plugin's row
path) a `MaskingPlan` is built from the cached analysis. Cursors (`DECLARE …
CURSOR FOR`) and SQL-level prepared statements (`PREPARE … AS`) remember the
lineage of their query, so a later `FETCH` / `EXECUTE` is masked like the query.
Any failure while planning masks every column: a broken masker never leaks.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from wardgate.catalog.index import CatalogIndex
from wardgate.masking import lineage as lin
from wardgate.masking.masker import CommandMasker
from wardgate.masking.planner import CommandLineage, MaskingEngine
from wardgate.seam import (
    NO_MASKING,
    Action,
    ColumnMask,
    Command,
    Decision,
    MaskingPlan,
    Outcome,
    ResultColumn,
)

log = logging.getLogger("wardgate.masking")
IndexFor = Callable[[str], Awaitable[CatalogIndex]]
Count = Callable[[str, int], None]
Invalidate = Callable[[str], None]
MAX_COMMANDS = 256  # analyses kept for commands whose results are still streaming
UNDESCRIBED = (
    "wardgate: this result's columns were never described, so it cannot be masked; "
    "describe the statement or portal before executing it"
)


@dataclass(slots=True)
class _Analysis:
    lineage: CommandLineage
    index: CatalogIndex
    masker: CommandMasker
    database: str
    kind: str = ""


class MaskingSession:
    def __init__(
        self,
        engine: MaskingEngine,
        index_for: IndexFor,
        database: str,
        count: Count,
        invalidate: Invalidate,
    ) -> None:
        self._engine = engine
        self._index_for = index_for
        self._database = database
        self._count = count
        self._invalidate = invalidate
        self._commands: dict[str, _Analysis] = {}
        self._named: dict[str, CommandLineage] = {}  # cursors and prepared statements
        rules = engine.rules  # the session's plan for free text and documents (HTTP bodies)
        self._messages = MaskingPlan(
            detectors=bool(rules.detectors), masker=engine.masker(), fields=rules.has_fields
        )

    async def check(self, command: Command, decision: Decision) -> Decision:
        """Analyse an allowed command before it runs; deny it when masking says so."""
        try:
            reason = await self.prepare(decision.command_id, command, decision.kind)
        except Exception as exc:  # fail closed: the masker could not analyse it
            log.exception("masking analysis failed")
            reason = f"masking analysis failed ({type(exc).__name__})"
        if not reason:
            return decision
        return replace(decision, action=Action.DENY, rule="masking", reason=reason)

    async def prepare(self, command_id: str, command: Command, kind: str = "") -> str:
        """Analyse a command about to run; returns a reason to deny it, or ""."""
        if not command.dialect:
            return ""
        database = command.database or self._database
        index = await self._index_for(database)
        lineage = self._lineage(command.text, command.dialect, index)
        if len(self._commands) >= MAX_COMMANDS:
            self._commands.pop(next(iter(self._commands)))
        analysis = _Analysis(lineage, index, self._engine.masker(), database, kind)
        self._commands[command_id] = analysis
        return self._engine.verdict(lineage, index)

    def _lineage(self, sql: str, dialect: str, index: CatalogIndex) -> CommandLineage:
        named = lin.declared_cursor(sql) or lin.prepared_statement(sql)
        if named is not None:
            self._named[named[0]] = self._engine.trace(named[1], dialect, index)
            return CommandLineage((lin.StatementLineage((), frozenset()),), None, dialect)
        used = lin.fetched_cursor(sql) if sql.lstrip()[:5].lower() == "fetch" else None
        used = used or lin.executed_statement(sql)
        if used is not None:
            unknown = CommandLineage((lin.unknown(f"{used} unknown"),), None, dialect)
            return self._named.get(used) or unknown
        return self._engine.trace(sql, dialect, index)

    def plan(self, command_id: str, columns: Sequence[ResultColumn]) -> MaskingPlan:
        analysis = self._commands.get(command_id)
        if analysis is None:
            return self._messages if not command_id else self._unknown_command(columns)
        try:
            masks = self._engine.plan(analysis.lineage, columns, analysis.index)
        except Exception:  # fail closed: mask every column with the strictest rule
            log.exception("masking plan failed")
            masks = self._mask_all(columns)
        if not masks and not self._engine.rules.detectors:
            return MaskingPlan(masker=analysis.masker)
        detectors = bool(self._engine.rules.detectors)
        return MaskingPlan(masks, detectors, analysis.masker)

    def _unknown_command(self, columns: Sequence[ResultColumn]) -> MaskingPlan:
        if not columns:
            return MaskingPlan(masker=self._messages.masker, withhold=UNDESCRIBED)
        masks = self._mask_all(columns)
        return MaskingPlan(masks, bool(self._engine.rules.detectors), self._messages.masker)

    def _mask_all(self, columns: Sequence[ResultColumn]) -> tuple[ColumnMask, ...]:
        rule = self._engine.rules.strictest_column_rule()
        if rule is None:
            return ()
        return tuple(
            ColumnMask(i, rule.name, rule.strategy, rule.keep) for i in range(len(columns))
        )

    def scrub(self, outcome: Outcome) -> Outcome:
        """The outcome as evidence may keep it: a server error can echo masked values."""
        if not outcome.error:
            return outcome
        return replace(outcome, error=self._engine.masker().message(outcome.error))

    def finish(self, outcome: Outcome) -> dict[str, int]:
        """The command ended: count its masked values per rule; DDL refreshes the catalog."""
        analysis = self._commands.pop(outcome.command_id, None)
        counts = Counter(analysis.masker.counts) if analysis is not None else Counter()
        messages = self._messages.masker
        if isinstance(messages, CommandMasker) and messages.counts:
            counts.update(messages.counts)
            messages.counts.clear()
        for rule, count in counts.items():
            self._count(rule, count)
        if analysis is not None and analysis.kind == "ddl" and not outcome.error:
            self._invalidate(analysis.database)  # the schema changed: re-read the catalog
        return dict(counts)

    def tables_read(self, command_id: str) -> frozenset[tuple[str, str]] | None:
        analysis = self._commands.get(command_id)
        return analysis.lineage.tables if analysis is not None else None


__all__ = ["NO_MASKING", "MaskingSession"]
