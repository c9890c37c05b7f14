"""Column lineage: which source columns feed each output column of a statement.

Theory of operation. A statement is parsed with sqlglot, views are replaced by
their (parsed) definitions — repeatedly, so views over views expand to base
tables — and `qualify` resolves names and stars against the catalog's schema.
Then every output column is traced through sqlglot's scope tree:

* a column reference resolves, in the scope where it appears (or an enclosing one
  for correlated references), to a base table column, or to the same-named output
  of a derived table / CTE / view, which is traced in turn (set operations: the
  output at the same position in every branch);
* a bare reference to a source alias (`row_to_json(c)`, `json_agg(c)`, `SELECT c
  FROM customers c`) is fed by every column of that source;
* every column mentioned anywhere inside an output expression feeds it — including
  the WHERE clause of a scalar subquery or an EXISTS in a CASE, so a value cannot
  be smuggled out through a nested query's predicate;
* a call to a function that is not a built-in of the server (or a table function
  in FROM) cannot be traced: it is *opaque*, fed by every masked column there is.

An output is *direct* when it is the source value itself (a column, possibly
aliased, cast or collated). Anything the tracer cannot follow makes the statement's
lineage unknown; the planner then takes the safe outcome. Nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from sqlglot import ErrorLevel, exp
from sqlglot import parse as sqlglot_parse
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from wardgate.catalog.index import CatalogIndex
from wardgate.classify.functions import builtins
from wardgate.masking.rules import Source

MAX_VIEW_DEPTH = 8
NOTIFY_FUNCTIONS = frozenset({"pg_notify"})


@dataclass(frozen=True, slots=True)
class Feed:
    """What feeds one output column."""

    sources: frozenset[Source] = frozenset()
    opaque: bool = False  # an untraceable function: fed by every masked column
    direct: bool = False  # the output is the source value itself (alias, cast, collate)

    def __or__(self, other: Feed) -> Feed:
        return Feed(self.sources | other.sources, self.opaque or other.opaque, False)


EMPTY = Feed()


@dataclass(frozen=True, slots=True)
class StatementLineage:
    outputs: tuple[Feed, ...] | None  # None: lineage unknown
    tables: frozenset[tuple[str, str]] | None  # base tables read; None: unknown
    reason: str = ""
    notify: Feed = EMPTY  # what pg_notify() arguments carry out of band


def unknown(reason: str, tables: frozenset[tuple[str, str]] | None = None) -> StatementLineage:
    return StatementLineage(None, tables, reason)


class Untraceable(Exception):
    pass


def parse_statements(sql: str, dialect: str) -> list[exp.Expr] | None:
    try:
        trees = sqlglot_parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
    except Exception:
        return None
    return [tree for tree in trees if tree is not None]


#: Statements sqlglot leaves unparsed whose results carry settings or metadata only.
NO_DATA_COMMANDS = frozenset(
    {
        "SET",
        "SHOW",
        "RESET",
        "BEGIN",
        "START",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "LISTEN",
        "UNLISTEN",
        "DISCARD",
        "DEALLOCATE",
        "VACUUM",
        "ANALYZE",
        "CHECKPOINT",
        "USE",
    }
)


def trace(tree: exp.Expr, dialect: str, index: CatalogIndex) -> StatementLineage:
    """Lineage of one parsed statement; unknown (never an exception) when it cannot."""
    if isinstance(tree, exp.Command):
        if tree.name.upper() in NO_DATA_COMMANDS:
            return StatementLineage((), frozenset())
        return unknown(f"{tree.name.upper()} is not traced")  # tables unknown: any
    try:
        tree = expand_views(tree.copy(), dialect, index)
        tables = _tables(tree, index)
    except Exception as exc:
        return unknown(f"views: {type(exc).__name__}")
    try:
        query = _query_part(tree)
        if query is None:
            return StatementLineage((), tables)
        qualified = qualify(
            query,
            schema=cast(dict[str, object], index.sqlglot_schema()),
            dialect=dialect,
            db=index.default_schema or None,
            validate_qualify_columns=False,
            identify=False,
        )
        tracer = _Tracer(qualified, index, dialect)
        return StatementLineage(tracer.root_outputs(), tables, notify=tracer.notify())
    except Exception as exc:  # any surprise: lineage unknown, the planner masks
        return unknown(f"{type(exc).__name__}: {exc}"[:200], tables)


def _query_part(tree: exp.Expr) -> exp.Expr | None:
    """The part of a statement whose rows are the result (None: no traceable rows)."""
    if isinstance(tree, exp.Query):
        return tree
    if isinstance(tree, exp.Copy):
        return _copy_query(tree)
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        returning = tree.args.get("returning")
        if returning is None:
            return None
        return _returning_query(tree, returning)
    if isinstance(tree, exp.Command):
        raise Untraceable(f"{tree.name} is not traced")
    return None


def _copy_query(tree: exp.Copy) -> exp.Expr:
    target = tree.this
    if isinstance(target, exp.Subquery):
        query: exp.Expr = target.this
        return query
    if isinstance(target, exp.Schema):
        table, names = target.this, [e.name for e in target.expressions]
        select = exp.select(*(exp.column(name) for name in names)) if names else exp.select("*")
        return select.from_(table.copy())
    return exp.select("*").from_(target.copy())


def _returning_query(tree: exp.Expr, returning: exp.Expr) -> exp.Expr:
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return exp.select(*(e.copy() for e in returning.expressions)).from_(target.copy())


def _tables(tree: exp.Expr, index: CatalogIndex) -> frozenset[tuple[str, str]] | None:
    """Base tables the statement reads; None when a table function hides them."""
    found = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            return None
        schema = table.db.lower() or index.default_schema
        found.add(index.find_table(table.db, table.name) or (schema, table.name.lower()))
    return frozenset(found)


def expand_views(tree: exp.Expr, dialect: str, index: CatalogIndex) -> exp.Expr:
    """Replace references to views by their definitions (depth-limited)."""
    if not index.views:
        return tree
    for _ in range(MAX_VIEW_DEPTH):
        replaced = False
        for table in list(tree.find_all(exp.Table)):
            definition = _view_definition(table, index)
            if definition is None:
                continue
            parsed = parse_statements(definition.rstrip().rstrip(";"), dialect)
            if not parsed or len(parsed) != 1:
                raise Untraceable(f"view {table.name} does not parse")
            alias = table.alias or table.name
            subquery = exp.Subquery(
                this=parsed[0], alias=exp.TableAlias(this=exp.to_identifier(alias))
            )
            if table is tree:
                return subquery
            table.replace(subquery)
            replaced = True
        if not replaced:
            return tree
    raise Untraceable("views nest too deeply")


def _view_definition(table: exp.Table, index: CatalogIndex) -> str | None:
    if not isinstance(table.this, exp.Identifier):
        return None
    schema = table.db.lower() or index.default_schema
    definition = index.views.get((schema, table.name.lower()))
    if definition is None and not table.db:
        matches = [v for (s, n), v in index.views.items() if n == table.name.lower()]
        definition = matches[0] if len(matches) == 1 else None
    return definition


class _Tracer:
    def __init__(self, tree: exp.Expr, index: CatalogIndex, dialect: str) -> None:
        self.root = build_scope(tree)
        if self.root is None:
            raise Untraceable("no scope")
        self.index = index
        self.builtins = builtins(dialect)
        self.scopes = {id(scope.expression): scope for scope in self.root.traverse()}
        self.memo: dict[int, tuple[Feed, ...]] = {}

    def root_outputs(self) -> tuple[Feed, ...]:
        assert self.root is not None
        return self.outputs(self.root)

    def outputs(self, scope: Scope) -> tuple[Feed, ...]:
        key = id(scope.expression)
        if key not in self.memo:
            self.memo[key] = self._outputs(scope)
        return self.memo[key]

    def _outputs(self, scope: Scope) -> tuple[Feed, ...]:
        node = scope.expression
        if isinstance(node, exp.SetOperation):
            left, right = self._branch(node.left), self._branch(node.right)
            if len(left) != len(right):
                raise Untraceable("set operation branches differ in width")
            return tuple(a | b for a, b in zip(left, right, strict=True))
        if not isinstance(node, exp.Select):
            raise Untraceable(f"cannot trace {type(node).__name__}")
        if any(isinstance(e, exp.Star) for e in node.selects):
            raise Untraceable("a star the catalog cannot expand")
        return tuple(self.expression(e, scope) for e in node.selects)

    def _branch(self, node: exp.Expr) -> tuple[Feed, ...]:
        while isinstance(node, exp.Subquery | exp.Paren):
            node = node.this
        scope = self.scopes.get(id(node))
        if scope is None:
            raise Untraceable("set operation branch without a scope")
        return self.outputs(scope)

    def expression(self, node: exp.Expr, scope: Scope) -> Feed:
        feed = EMPTY
        for column in node.find_all(exp.Column, exp.TableColumn):
            assert isinstance(column, exp.Column | exp.TableColumn)
            feed = feed | self.column(column, self._scope_of(column, scope))
        if self._opaque_call(node):
            feed = feed | Feed(opaque=True)
        return Feed(feed.sources, feed.opaque, _direct(node) and bool(feed.sources))

    def _opaque_call(self, node: exp.Expr) -> bool:
        for call in node.find_all(exp.Anonymous):
            name = call.name.lower()
            if name not in self.builtins or name in self.index.functions:
                return True
        return False

    def _scope_of(self, column: exp.Expr, default: Scope) -> Scope:
        select = column.find_ancestor(exp.Select)
        return self.scopes.get(id(select), default) if select is not None else default

    def column(self, column: exp.Column | exp.TableColumn, scope: Scope) -> Feed:
        name = column.name.lower()
        if isinstance(column, exp.TableColumn):  # a whole-row reference
            source = _find_source(scope, name)
            if source is None:
                raise Untraceable(f"cannot resolve row {name}")
            return self.whole(source)
        if isinstance(column.this, exp.Star):  # c.* inside an expression: the whole row
            source = _find_source(scope, column.table.lower())
            if source is None:
                raise Untraceable(f"cannot resolve {column.sql()}")
            return self.whole(source)
        if not column.table:
            source = _find_source(scope, name)
            if source is not None:  # a bare source alias: the whole row
                return self.whole(source)
            return self._unqualified(name, scope)
        source = _find_source(scope, column.table.lower())
        if source is None:
            raise Untraceable(f"cannot resolve {column.sql()}")
        return self.named(source, name)

    def _unqualified(self, name: str, scope: Scope) -> Feed:
        """A column qualify could not place: fed by every source that may hold it."""
        feed = EMPTY
        for source in scope.sources.values():
            table = None if isinstance(source, Scope) else self._table(source)
            if table is not None and table not in self.index.tables:  # catalog unknown
                feed = feed | Feed(frozenset({(*table, name)}), direct=len(scope.sources) == 1)
            else:
                feed = feed | self.whole(source)
        if not feed.sources and not feed.opaque:
            raise Untraceable(f"cannot place column {name}")
        return feed

    def named(self, source: exp.Expr | Scope, name: str) -> Feed:
        if isinstance(source, Scope):
            names = [s.alias_or_name.lower() for s in _first_select(source.expression).selects]
            if name not in names:
                raise Untraceable(f"no output {name} in a derived table")
            return self.outputs(source)[names.index(name)]
        table = self._table(source)
        if table is None:
            return Feed(opaque=True)
        return Feed(frozenset({(*table, name)}), direct=True)

    def whole(self, source: exp.Expr | Scope) -> Feed:
        if isinstance(source, Scope):
            feed = EMPTY
            for output in self.outputs(source):
                feed = feed | output
            return feed
        table = self._table(source)
        if table is None:
            return Feed(opaque=True)
        columns = self.index.tables.get(table)
        if columns is None:
            raise Untraceable(f"table {table[1]} is not in the catalog")
        return Feed(frozenset((*table, c) for c in columns))

    def _table(self, source: exp.Expr) -> tuple[str, str] | None:
        """(schema, table) of a base table source; None for a table function."""
        if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
            return None
        found = self.index.find_table(source.db, source.name)
        return found or (source.db.lower() or self.index.default_schema, source.name.lower())

    def notify(self) -> Feed:
        """What the arguments of pg_notify() calls anywhere in the statement carry."""
        assert self.root is not None
        feed = EMPTY
        for call in self.root.expression.find_all(exp.Anonymous):
            if call.name.lower() in NOTIFY_FUNCTIONS:
                scope = self._scope_of(call.find(exp.Column) or exp.Column(), self.root)
                for argument in call.expressions:
                    feed = feed | self.expression(argument, scope)
        return feed


def _find_source(scope: Scope | None, name: str) -> exp.Expr | Scope | None:
    while scope is not None:
        for key, source in scope.sources.items():
            if key.lower() == name:
                return source
        scope = scope.parent
    return None


def _first_select(node: exp.Expr) -> exp.Select:
    while isinstance(node, exp.SetOperation):
        node = node.left
    while isinstance(node, exp.Subquery | exp.Paren):
        node = node.this
    if not isinstance(node, exp.Select):
        raise Untraceable(f"cannot trace {type(node).__name__}")
    return node


def _direct(node: exp.Expr) -> bool:
    while isinstance(node, exp.Alias | exp.Cast | exp.Collate | exp.Paren):
        node = node.this
    return isinstance(node, exp.Column)


# -- cursors and prepared statements (kept per session by the planner) --------------

_DECLARE = re.compile(r"^\s*declare\s+(\S+)\s+.*?\bcursor\b.*?\bfor\s+(.+)$", re.I | re.S)
_FETCH = re.compile(r"^\s*fetch\b.*?(?:\b(?:from|in)\s+)?(\S+)\s*;?\s*$", re.I | re.S)
_PREPARE = re.compile(r"^\s*prepare\s+(\S+)\s*(?:\([^)]*\))?\s+as\s+(.+)$", re.I | re.S)
_EXECUTE = re.compile(r"^\s*execute\s+(\S+)", re.I)


def declared_cursor(sql: str) -> tuple[str, str] | None:
    match = _DECLARE.match(sql)
    return (_ident(match.group(1)), match.group(2)) if match else None


def fetched_cursor(sql: str) -> str | None:
    match = _FETCH.match(sql)
    return _ident(match.group(1)) if match else None


def prepared_statement(sql: str) -> tuple[str, str] | None:
    match = _PREPARE.match(sql)
    return (_ident(match.group(1)), match.group(2)) if match else None


def executed_statement(sql: str) -> str | None:
    match = _EXECUTE.match(sql)
    return _ident(match.group(1)) if match else None


def _ident(name: str) -> str:
    name = name.rstrip(";")
    return name[1:-1] if name.startswith('"') and name.endswith('"') else name.lower()
