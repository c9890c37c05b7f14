"""`MaskingEngine`: from a command and a result shape to the columns to mask.

Per command (at decision time, off the row path) the statement text is traced
(`lineage`) against the catalog; per result shape the plan combines, column by
column:

1. the source the protocol reports — PostgreSQL table OID + attnum through the
   catalog, MySQL `org_table`/`org_name` — with views traced to their base columns;
2. the statement's lineage for that output position;
3. when neither is known: every masked column of the tables the statement reads
   (all masked columns when those are unknown too) — the safe outcome.

The strictest rule feeding a column wins; a derived (not direct) output of a
`partial` column is redacted instead, since a substring would defeat the tail.
Both steps are cached: lineage by (text, dialect, catalog version), plans by
(lineage key, shape). The planner never raises into a plugin: a failure masks
every column (see `MaskingSession.plan`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlglot import exp

from wardgate.catalog.index import CatalogIndex
from wardgate.masking import lineage as lin
from wardgate.masking.detectors import Scanner
from wardgate.masking.lineage import EMPTY, Feed, StatementLineage
from wardgate.masking.masker import CommandMasker
from wardgate.masking.rules import MaskingRules, RuleRef, Source, strictest
from wardgate.masking.strategies import Strategies
from wardgate.seam import ColumnMask, ResultColumn

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        if len(self._data) > self._size:
            self._data.popitem(last=False)
        return value


@dataclass(frozen=True, slots=True)
class CommandLineage:
    statements: tuple[StatementLineage, ...]
    key: tuple[object, ...] | None = None  # None: depends on session state, not cached
    dialect: str = "postgres"

    def output(self, position: int, width: int) -> Feed | None:
        """The feed of output `position` (None: unknown) over statements of this width."""
        feed: Feed | None = None
        for statement in self.statements:
            if statement.outputs is None:
                return None
            if len(statement.outputs) == width:
                found = statement.outputs[position]
                feed = found if feed is None else feed | found
        return feed

    @property
    def tables(self) -> frozenset[tuple[str, str]] | None:
        found: set[tuple[str, str]] = set()
        for statement in self.statements:
            if statement.tables is None:
                return None
            found |= statement.tables
        return frozenset(found)


class MaskingEngine:
    def __init__(self, rules: MaskingRules, key: bytes) -> None:
        self.rules = rules
        self.strategies = Strategies(key)
        self.scanner = Scanner(rules.detectors)
        self._lineage: LRU[tuple[object, ...], CommandLineage] = LRU(2048)
        self._plans: LRU[tuple[object, ...], tuple[ColumnMask, ...]] = LRU(4096)
        self._views: LRU[tuple[object, ...], Feed] = LRU(1024)

    @property
    def active(self) -> bool:
        return not self.rules.empty

    def masker(self) -> CommandMasker:
        echo = self.rules.strictest_column_rule()
        return CommandMasker(
            self.strategies, self.scanner, self.rules.detector_rules, echo, self.rules.field_rule
        )

    # -- lineage ----------------------------------------------------------------------

    def trace(self, sql: str, dialect: str, index: CatalogIndex) -> CommandLineage:
        key = (sql, dialect, index.version, index.default_schema)
        cached = self._lineage.get(key)
        if cached is not None:
            return cached
        trees = lin.parse_statements(sql, dialect)
        if not trees:
            unknown = CommandLineage((lin.unknown("does not parse"),), key, dialect)
            return self._lineage.put(key, unknown)
        traced = tuple(lin.trace(tree, dialect, index) for tree in trees)
        return self._lineage.put(key, CommandLineage(traced, key, dialect))

    # -- decisions before execution -------------------------------------------------------

    def verdict(self, lineage: CommandLineage, index: CatalogIndex) -> str:
        """A reason to deny the command before it runs, or ""."""
        for statement in lineage.statements:
            if statement.outputs is None:
                denying = [
                    r for r in self.table_rules(statement.tables, index) if r.on_unknown == "deny"
                ]
                if denying:
                    return (
                        f'masking rule "{denying[0].name}": the columns of this result cannot be '
                        f"traced ({statement.reason or 'unknown lineage'}) and it reads masked data"
                    )
            if self.feed_rule(statement.notify, index) is not None:
                return "masking: a pg_notify() payload would carry masked column values"
        return ""

    # -- plans per result shape -------------------------------------------------------------

    def plan(
        self, lineage: CommandLineage, columns: Sequence[ResultColumn], index: CatalogIndex
    ) -> tuple[ColumnMask, ...]:
        shape = tuple(
            (c.table_oid, c.column_number, c.source_table, c.source_column) for c in columns
        )
        key = None if lineage.key is None else (lineage.key, shape)
        cached = self._plans.get(key) if key is not None else None
        if cached is not None:
            return cached
        masks = tuple(self._masks(lineage, columns, index))
        return self._plans.put(key, masks) if key is not None else masks

    def _masks(
        self, lineage: CommandLineage, columns: Sequence[ResultColumn], index: CatalogIndex
    ) -> Iterable[ColumnMask]:
        for position, column in enumerate(columns):
            rule = self.column_rule(lineage, position, column, index, len(columns))
            if rule is not None:
                yield ColumnMask(position, rule.name, rule.strategy, rule.keep)

    def column_rule(
        self,
        lineage: CommandLineage,
        position: int,
        column: ResultColumn,
        index: CatalogIndex,
        width: int,
    ) -> RuleRef | None:
        source = self.source_feed(column, index, lineage.dialect)
        traced = lineage.output(position, width)
        feed = (source or EMPTY) | (traced or EMPTY)
        direct = source.direct if source is not None else bool(traced and traced.direct)
        rule = self.feed_rule(feed, index)
        if traced is None and (source is None or not source.direct):
            # Neither lineage nor a base column the catalog vouches for: the safe outcome.
            unknown = strictest(self.table_rules(lineage.tables, index))
            rule, direct = strictest((rule, unknown)), False
        if rule is not None and rule.strategy == "partial" and not direct:
            return RuleRef(rule.name, "redact", rule.keep, rule.on_unknown)
        return rule

    def source_feed(self, column: ResultColumn, index: CatalogIndex, dialect: str) -> Feed | None:
        source = _reported_source(column, index)
        if source is None:
            return None
        if (source[0], source[1]) in index.views:
            return self._view_feed(source, index, dialect)
        known = index.known and (source[0], source[1]) in index.tables
        return Feed(frozenset({source}), direct=known)  # not direct: unvouched (a view?)

    def _view_feed(self, source: Source, index: CatalogIndex, dialect: str) -> Feed | None:
        """A view column's feed (None: untraceable); views report their own OID/name."""
        key = (index.version, dialect, *source)
        found = self._views.get(key)
        if found is not None:
            return found
        schema, view, name = source
        names = index.tables.get((schema, view), [])
        query = exp.select("*").from_(exp.table_(view, db=schema)).sql(dialect)
        lineage = self.trace(query, dialect, index)
        feed = lineage.output(names.index(name), len(names)) if name in names else None
        return self._views.put(key, feed) if feed is not None else None

    def feed_rule(self, feed: Feed, index: CatalogIndex) -> RuleRef | None:
        rule = strictest(self.rules.rule_for(source) for source in feed.sources)
        if feed.opaque:
            rule = strictest((rule, self.all_masked_rule(index)))
        return rule

    def all_masked_rule(self, index: CatalogIndex) -> RuleRef | None:
        if not index.known:
            return self.rules.strictest_column_rule()
        return strictest(self.table_rules(frozenset(index.tables), index))

    def table_rules(
        self, tables: frozenset[tuple[str, str]] | None, index: CatalogIndex
    ) -> list[RuleRef]:
        """Rules of masked columns the tables hold (all rules when tables are unknown)."""
        if tables is None:
            rule = (
                self.all_masked_rule(index) if index.known else self.rules.strictest_column_rule()
            )
            return [rule] if rule is not None else []
        found: list[RuleRef] = []
        for schema, table in tables:
            names = index.tables.get((schema, table)) if index.known else None
            if names is None:
                held = self.rules.table_may_hold(schema, table)
                found += [held] if held is not None else []
                continue
            found += [r for r in (self.rules.rule_for((schema, table, n)) for n in names) if r]
        return found


def _reported_source(column: ResultColumn, index: CatalogIndex) -> Source | None:
    if column.table_oid:
        return index.resolve_oid(column.table_oid, column.column_number)
    if column.source_table and column.source_column:
        schema, _, table = column.source_table.rpartition(".")
        found = index.find_table(schema, table)
        schema, table = found or (schema.lower() or index.default_schema, table.lower())
        return (schema, table, column.source_column.lower())
    return None


def describe_plan(
    engine: MaskingEngine, sql: str, dialect: str, index: CatalogIndex
) -> list[dict[str, object]]:
    """The masking plan of each output column, as `wardgate policy test` prints it."""
    lineage = engine.trace(sql, dialect, index)
    described: list[dict[str, object]] = []
    for number, statement in enumerate(lineage.statements):
        if statement.outputs is None:
            rule = strictest(engine.table_rules(statement.tables, index))
            described.append(
                {
                    "statement": number,
                    "lineage": "unknown",
                    "reason": statement.reason,
                    "rule": rule.name if rule else None,
                    "strategy": _unknown_strategy(rule),
                }
            )
            continue
        single = CommandLineage((statement,), None, dialect)
        columns = [ResultColumn(name="") for _ in statement.outputs]
        for position, feed in enumerate(statement.outputs):
            rule = engine.column_rule(single, position, columns[position], index, len(columns))
            described.append(
                {
                    "statement": number,
                    "column": position,
                    "sources": sorted(".".join(part for part in s if part) for s in feed.sources),
                    "opaque": feed.opaque,
                    "rule": rule.name if rule else None,
                    "strategy": rule.strategy if rule else None,
                }
            )
    return described


def _unknown_strategy(rule: RuleRef | None) -> str | None:
    if rule is None:
        return None
    return (
        "deny"
        if rule.on_unknown == "deny"
        else ("redact" if rule.strategy == "partial" else rule.strategy)
    )
