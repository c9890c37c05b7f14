"""Classify a sqlglot parse tree: every node must have a rule, or the statement is unknown.

Theory of operation. The root decides the base kind (`ROOT_KINDS`). Then *every* node
of the tree is visited — subqueries, CTEs, function arguments included — and must be
one of:

- a node with a rule (`_RULES`): data-modifying statements anywhere (a ``DELETE`` in a
  CTE is a write), ``SELECT … INTO``, locking clauses, assignments to user variables;
- a function call (judged by name in functions.py; ``Anonymous`` is how sqlglot
  spells a name it does not know, which on a real server is a user-defined function);
- a node known to be inert (`SAFE_NODES`, binary and unary operators);
- inside DDL, any node that is not itself a statement (column definitions and table
  properties are many and harmless; the statement is ``ddl`` already).

Anything else — sqlglot's ``Command`` fallback, custom ``OPERATOR(…)``, a node type
added by a future sqlglot — makes the statement unknown. Tables are reported with
the role the statement gives them; names defined by a CTE are not tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from wardgate.classify.draft import Draft
from wardgate.classify.functions import judge_name
from wardgate.classify.model import Kind

_READ_ROOTS = ("Select", "Union", "Intersect", "Except", "Values", "Subquery")
_WRITE_ROOTS = ("Insert", "Update", "Delete", "Merge")
_DDL_ROOTS = ("Create", "Drop", "Alter", "TruncateTable", "Comment")


def _classes(names: str | tuple[str, ...]) -> tuple[type[exp.Expr], ...]:
    """sqlglot classes by name; names a given sqlglot version lacks are skipped."""
    listed = names.split() if isinstance(names, str) else names
    found = (getattr(exp, name, None) for name in listed)
    return tuple(cls for cls in found if isinstance(cls, type))


ROOT_KINDS: dict[type[exp.Expr], Kind] = {
    **{cls: Kind.READ for cls in _classes(_READ_ROOTS)},
    **{cls: Kind.WRITE for cls in _classes(_WRITE_ROOTS)},
    **{cls: Kind.DDL for cls in _classes(_DDL_ROOTS)},
}

#: Inert nodes: names, literals, clauses and operators that cannot change anything.
SAFE_NODES: frozenset[type[exp.Expr]] = frozenset(
    _classes(
        """
        Alias Aliases All Any Between Boolean Bracket CTE Column ColumnDef Distinct Except
        Exists From Group GroupingSets Cube Rollup Having Identifier In Interval
        IntervalSpan Introducer Join JoinHint Lateral Limit LimitOptions Literal National
        Null Offset Order Ordered Placeholder Parameter Select Star Subquery Table
        TableAlias Tuple Union Intersect Values Var Where Window WindowSpec With DataType
        DataTypeParam Fetch Filter IgnoreNulls RespectNulls WithinGroup Unnest
        TableSample Slice Partition IndexTableHint Returning OnConflict Schema When Whens
        PseudoType ObjectIdentifier JSONPath JSONPathKey JSONPathRoot JSONPathSubscript
        JSONPathWildcard JSONPathSlice JSONPathSelector JSONPathUnion JSONPathFilter
        JSONPathRecursive JSONPathScript JSONColumnDef JSONSchema HexString BitString
        ByteString RawString UnicodeString SessionParameter Hint ColumnPrefix
        PositionalColumn FormatJson Qualify Check CharacterSet Collate Escape Kwarg
        ConstraintColumnConstraint JSONKeyValue TableFromRows Variadic Version
        """
    )
)

#: Statement nodes that make no sense inside another statement, even inside DDL.
STATEMENT_NODES: frozenset[type[exp.Expr]] = frozenset(
    _classes(
        """
        Command Set SetItem Transaction Commit Rollback Use Kill Grant Revoke LoadData
        Copy Execute ExecuteSql Pragma Install Attach Detach Export Put Get Cache Uncache
        Refresh Show Describe Analyze Block IfBlock WhileBlock LoopBlock RepeatBlock
        StoredProcedure Declare Return Iterate Leave ConditionalInsert MultitableInserts
        Operator Summarize SwapTable Undrop LockingStatement Semicolon Heredoc
        """
    )
)

_TABLE_OBJECTS = frozenset({"TABLE", "VIEW", "SEQUENCE", "MATERIALIZED VIEW"})


@dataclass(slots=True)
class _Walk:
    dialect: str
    draft: Draft
    ddl: bool
    writes: set[int] = field(default_factory=set)
    skipped: set[int] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    ctes: bool = False


def analyze_tree(root: exp.Expr, dialect: str, draft: Draft) -> frozenset[str]:
    """Fold `root`'s facts into `draft`; return CTE and alias names (not functions)."""
    base = ROOT_KINDS.get(type(root))
    if base is None:
        draft.unknown(f"no rule for a {type(root).__name__} statement")
        return frozenset()
    draft.at_least(base)
    walk = _Walk(dialect, draft, ddl=base is Kind.DDL)
    for node in root.walk():
        _visit(node, walk)
    _collect_tables(root, walk)
    return frozenset(walk.names)


def _visit(node: exp.Expr, walk: _Walk) -> None:
    rule = _RULES.get(type(node))
    if rule is not None:
        rule(node, walk)
    elif isinstance(node, exp.Func):
        _function(node, walk)
    elif type(node) in STATEMENT_NODES:
        walk.draft.unknown(f"no rule for {type(node).__name__} inside a statement")
    elif type(node) in SAFE_NODES or isinstance(node, (exp.Binary, exp.Unary)) or walk.ddl:
        return
    else:
        walk.draft.unknown(f"unsupported syntax: {type(node).__name__}")


def _function(node: exp.Func, walk: _Walk) -> None:
    if type(node).__name__.startswith("Anonymous"):
        if walk.ddl and node.find_ancestor(exp.TriggerExecute, exp.Property) is not None:
            walk.draft.function(".".join(_call_name(node)))  # defined, not run now
            return
        judge_name(_call_name(node), walk.dialect, walk.draft)
    elif isinstance(node, exp.NextValueFor):
        walk.draft.at_least(Kind.WRITE, "NEXT VALUE FOR advances a sequence")
        walk.draft.flag("side_effect_function")


def _call_name(node: exp.Func) -> tuple[str, ...]:
    this = node.this
    name = this.this if isinstance(this, exp.Identifier) else str(this)
    quoted = isinstance(this, exp.Identifier) and this.quoted
    parts = [name if quoted else name.lower()]
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        parts[:0] = [part.name for part in _dot_parts(parent.this)]
    elif isinstance(parent, exp.Table) and parent.this is node:  # FROM schema.f(…)
        parts[:0] = [part.name for part in parent.parts[:-1]]
    return tuple(parts)


def _dot_parts(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Dot):
        return [*_dot_parts(node.this), *_dot_parts(node.expression)]
    if isinstance(node, exp.Column):
        return list(node.parts)
    return [node]


# --------------------------------------------------------------------------- node rules


def _dml(node: exp.Expr, walk: _Walk) -> None:
    walk.draft.at_least(Kind.WRITE, f"{type(node).__name__.upper()} changes rows")
    targets: list[exp.Expr | None] = [node.this]
    targets.extend(node.args.get("tables") or [])  # MySQL multi-table DELETE
    for target in targets:
        if target is not None:
            _mark_writes(target, walk, joins=isinstance(node, exp.Update))
    in_merge = isinstance(node.parent, exp.When)  # MERGE's ON clause is its filter
    if isinstance(node, (exp.Update, exp.Delete)) and not in_merge and _unfiltered(node):
        walk.draft.flag("no_where")


def _mark_writes(target: exp.Expr, walk: _Walk, joins: bool) -> None:
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        return
    walk.writes.add(id(target))
    if joins:  # MySQL multi-table UPDATE: every joined table may be written
        for join in target.args.get("joins") or []:
            _mark_writes(join.this, walk, joins=False)


def _unfiltered(node: exp.Expr) -> bool:
    where = node.args.get("where")
    if where is None:
        return True
    # A condition on no column at all (WHERE 1=1, WHERE true) filters nothing.
    return where.find(exp.Column, exp.Subquery, exp.Select, exp.Exists) is None


def _ddl(node: exp.Expr, walk: _Walk) -> None:
    kind = str(node.args.get("kind") or "").upper()
    verb = {"TruncateTable": "TRUNCATE"}.get(type(node).__name__, type(node).__name__.upper())
    walk.draft.at_least(Kind.DDL, " ".join(filter(None, [verb, kind, "changes the schema"])))
    objects_are_tables = isinstance(node, (exp.TruncateTable, exp.Alter)) or kind in _TABLE_OBJECTS
    if kind == "INDEX" and isinstance(node, exp.Create):
        objects_are_tables = True  # the table an index is built on; its name is no Table
    for table in _outside_queries(node):
        (walk.writes if objects_are_tables else walk.skipped).add(id(table))


def _outside_queries(node: exp.Expr) -> list[exp.Table]:
    """Tables a DDL statement defines or changes: not those it reads (query, REFERENCES, LIKE)."""
    return [
        table
        for table in node.find_all(exp.Table)
        if not isinstance(
            table.find_ancestor(
                exp.Query, exp.Reference, exp.LikeProperty, exp.UserDefinedFunction
            ),
            (exp.Query, exp.Reference, exp.LikeProperty),
        )
    ]


def _into(node: exp.Expr, walk: _Walk) -> None:
    target = node.this
    if isinstance(target, exp.Table):
        walk.draft.at_least(Kind.DDL, "SELECT … INTO creates a table")
        walk.writes.add(id(target))
    else:
        walk.draft.at_least(Kind.SESSION, "SELECT … INTO sets session variables")


def _lock(node: exp.Expr, walk: _Walk) -> None:
    walk.draft.at_least(Kind.WRITE, "a locking clause locks rows")
    walk.draft.flag("locking")
    select = node.parent
    if isinstance(select, exp.Select):
        joins = select.args.get("joins") or []
        for source in [select.args.get("from_") or select.args.get("from"), *joins]:
            if source is not None and isinstance(source.this, exp.Table):
                walk.writes.add(id(source.this))


def _property_eq(node: exp.Expr, walk: _Walk) -> None:
    if isinstance(node.this, (exp.Parameter, exp.SessionParameter)):
        walk.draft.at_least(Kind.SESSION, "assigns a user variable")


def _cte(node: exp.Expr, walk: _Walk) -> None:
    walk.names.add(node.alias_or_name.lower())
    walk.ctes = True


def _table_alias(node: exp.Expr, walk: _Walk) -> None:
    walk.names.add(node.name.lower())


def _udf(node: exp.Expr, walk: _Walk) -> None:
    if isinstance(node.this, exp.Table):
        walk.skipped.add(id(node.this))


def _reject(node: exp.Expr, walk: _Walk) -> None:
    walk.draft.unknown(f"no rule for {type(node).__name__}")


_RuleFn = Callable[["exp.Expr", _Walk], None]
_RULES: dict[type[exp.Expr], _RuleFn] = {
    **{cls: _dml for cls in _classes(_WRITE_ROOTS)},
    **{cls: _ddl for cls in _classes(_DDL_ROOTS)},
    exp.Into: _into,
    exp.Lock: _lock,
    exp.PropertyEQ: _property_eq,
    exp.CTE: _cte,
    exp.TableAlias: _table_alias,
    exp.UserDefinedFunction: _udf,
    exp.Operator: _reject,
    exp.Command: _reject,
}


# --------------------------------------------------------------------------- tables


def _collect_tables(root: exp.Expr, walk: _Walk) -> None:
    for table in root.find_all(exp.Table):
        if id(table) in walk.skipped or not isinstance(table.this, exp.Identifier):
            continue
        if walk.dialect == "mysql" and not table.db and table.name.lower() == "dual":
            continue  # MySQL's DUAL is syntax, not a table
        parts = [part for part in table.parts if isinstance(part, exp.Identifier)]
        if (
            walk.ctes
            and len(parts) == 1
            and _cte_reference(table, _norm(parts[0], walk.dialect), walk.dialect)
        ):
            continue  # a CTE name, not a table
        role = "write" if id(table) in walk.writes else "read"
        walk.draft.table(display_name(parts, walk.dialect), role)
        database = table.catalog if walk.dialect == "postgres" else table.db
        if database:
            walk.draft.databases.append(database)


def _norm(identifier: exp.Identifier, dialect: str) -> str:
    # PostgreSQL names arrive canonical (folded by the lexer); MySQL CTE names ignore case.
    return identifier.name if dialect == "postgres" else identifier.name.lower()


def _cte_names(ctes: list[exp.Expr], dialect: str) -> set[str]:
    return {_norm(cte.args["alias"].this, dialect) for cte in ctes if cte.args.get("alias")}


def _cte_reference(table: exp.Table, name: str, dialect: str) -> bool:
    """Whether `table` names a CTE visible where it stands (SQL scoping rules).

    A CTE body sees the CTEs listed before it (all of them, itself included, under
    RECURSIVE); a query sees all CTEs of its own WITH and of enclosing queries.
    """
    child: exp.Expr = table
    parent = table.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = list(parent.expressions)
            position = next(i for i, cte in enumerate(ctes) if cte is child)
            listed = ctes if parent.args.get("recursive") else ctes[:position]
            if name in _cte_names(listed, dialect):
                return True
            owner = parent.parent  # its CTEs are accounted for; continue above it
            child, parent = (owner, owner.parent) if owner is not None else (parent, None)
            continue
        with_ = parent.args.get("with_") or parent.args.get("with")
        if (
            isinstance(with_, exp.With)
            and with_ is not child
            and name in _cte_names(list(with_.expressions), dialect)
        ):
            return True
        child, parent = parent, parent.parent
    return False


def display_name(parts: list[exp.Identifier], dialect: str) -> str:
    """A qualified name as the server resolves it, quoted only where needed."""
    return ".".join(_display_part(part.name, part.quoted, dialect) for part in parts)


def _display_part(name: str, quoted: bool, dialect: str) -> str:
    plain = name.replace("_", "a").replace("$", "a").isalnum() and not name[:1].isdigit()
    if dialect == "postgres":
        if quoted and not (plain and name == name.lower()):
            return '"' + name.replace('"', '""') + '"'
        return name
    if "." in name or "`" in name:
        return "`" + name.replace("`", "``") + "`"
    return name
