"""Which functions a statement calls, and what each call may do.

Theory of operation. sqlglot maps many function names onto its own expression
classes (MySQL ``LEN(x)`` becomes ``Length``), losing the name as written — and a
name that is not a built-in of the real server resolves to a stored function the
agent may have defined. So calls are found *lexically*, on the server's own tokens:
every name (qualified or not) directly followed by ``(`` is a call candidate, unless
the position makes it a table, an alias or syntax (``INSERT INTO t (a)``,
``AS x (a, b)``, ``IN (…)``). Each call is then judged by name:

1. on the deny-list (function_data.py): the statement gets the entry's kind floor
   and flags, whatever else is known;
2. a built-in of the dialect known to be read-only (unqualified, or ``pg_catalog.``):
   reported, nothing else;
3. anything else is a function defined in the database: its volatility is an open
   question for the `FunctionCatalog` (resolve.py); without an answer the call makes
   the statement ``write`` with ``side_effect_function``.

Names sqlglot knows but the server does not have built in ("shadow" names) are
never excused by position, and the tree walk (tree.py) reports every call sqlglot
leaves anonymous, so a name hidden from one view is caught by the other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from wardgate.classify.draft import Draft
from wardgate.classify.function_data import (
    MYSQL_BUILTINS,
    MYSQL_DENY,
    MYSQL_DENY_PREFIXES,
    POSTGRES_BUILTINS,
    POSTGRES_DENY,
    TYPE_NAMES,
    DenyEntry,
)
from wardgate.classify.lexer import NUMBER, PUNCT, QIDENT, STRING, WORD, Token
from wardgate.classify.model import words

#: Words followed by "(" that are syntax, never a call.
NON_CALL_KEYWORDS: frozenset[str] = words("""
    IN EXISTS ANY SOME ALL VALUES AS OVER FILTER USING ON AND OR NOT WHERE SELECT FROM
    JOIN LATERAL BY THEN ELSE WHEN RETURNING INTO TABLE LIKE ILIKE IS BETWEEN CASE
    DISTINCT SETS CUBE ROLLUP THAN WITH RECURSIVE HAVING LIMIT OFFSET UNION INTERSECT
    EXCEPT SET UPDATE DELETE INSERT REPLACE REFERENCES PRIMARY KEY UNIQUE CHECK FOREIGN
    CONSTRAINT DEFAULT GENERATED ESCAPE CONFLICT DO NOTHING PARTITION OVERRIDING EXCLUDE
    INCLUDE WINDOW ORDER FOR OF ROWS RANGE GROUPS AGAINST MATCHED NATURAL CROSS INNER
    OUTER FULL MODE SHARE LOCK FORCE IGNORE USE INDEX STRAIGHT_JOIN TABLESAMPLE
    REPEATABLE ORDINALITY ONLY COLUMNS NESTED PATH GROUP RETURNS LANGUAGE CALLED STRICT
    SIMILAR ARRAY ROW TRUE FALSE NULL ELSIF IF WHILE RETURN ALTER ADD DROP MODIFY
    COLUMN FIELDS LINES EXPLAIN ANALYZE ANALYSE VERBOSE FORMAT OPTIONS
    WITHIN UESCAPE SUBPARTITION HASH LIST STORED VIRTUAL ALWAYS IDENTITY OPERATOR
    """)

#: A name right after these words is a table, an alias or an object name, not a call.
_TABLE_POSITION = words(
    "INTO REFERENCES TABLE AS INSERT REPLACE IGNORE LOW_PRIORITY DELAYED HIGH_PRIORITY PREPARE "
    "EXECUTE"
)
#: In DDL statements, names after these are objects being defined.
_DDL_TABLE_POSITION = words("""
    ON USING EXISTS FUNCTION PROCEDURE VIEW AGGREGATE INDEX KEY TYPE TRIGGER CONSTRAINT
    SEQUENCE SCHEMA DOMAIN CAST OPERATOR STATISTICS POLICY RULE EXTENSION FOREIGN
    """)

_PARTITION_METHODS = words("LIST RANGE HASH KEY LINEAR")

#: Schemas whose functions are the server's built-ins.
_BUILTIN_SCHEMAS = {"postgres": ("pg_catalog",), "mysql": ()}


def deny_entry(name: str, dialect: str) -> DenyEntry | None:
    """The deny-list entry for a function's last name part, if any."""
    if dialect == "postgres":
        return POSTGRES_DENY.get(name)
    entry = MYSQL_DENY.get(name)
    if entry is None:
        for prefix, prefixed in MYSQL_DENY_PREFIXES.items():
            if name.startswith(prefix):
                return prefixed
    return entry


def builtins(dialect: str) -> frozenset[str]:
    return POSTGRES_BUILTINS if dialect == "postgres" else MYSQL_BUILTINS


@functools.cache
def shadow_names(dialect: str) -> frozenset[str]:
    """Names sqlglot parses into known classes that are not built-ins of the server."""
    from sqlglot.dialects.dialect import Dialect

    parser = Dialect.get_or_raise(dialect).parser_class
    known = {name.lower() for name in (*parser.FUNCTIONS, *parser.FUNCTION_PARSERS)}
    return frozenset(known - builtins(dialect) - TYPE_NAMES[dialect])


def _part(token: Token) -> str:
    return token.key if token.kind == QIDENT else token.text.lower()


def call_sites(tokens: list[Token]) -> Iterator[tuple[tuple[str, ...], int]]:
    """Each name directly followed by "(": its parts and the index it starts at."""
    for index in range(1, len(tokens)):
        token = tokens[index]
        if token.kind != PUNCT or token.text != "(":
            continue
        start = index - 1
        if tokens[start].kind not in (WORD, QIDENT):
            continue
        parts = [_part(tokens[start])]
        while (
            start >= 2
            and tokens[start - 1].text == "."
            and tokens[start - 2].kind
            in (
                WORD,
                QIDENT,
            )
        ):
            start -= 2
            parts.insert(0, _part(tokens[start]))
        yield tuple(parts), start


#: Words sqlglot also knows as functions that the servers reserve (never a call).
_RESERVED = words("AND OR CASE ARRAY LIKE")


def _is_syntax(
    tokens: list[Token], start: int, parts: tuple[str, ...], shadows: frozenset[str]
) -> bool:
    """A keyword followed by "(" as syntax (``IN (``, ``VALUES (``), not a call.

    A keyword sqlglot would parse as one of its functions (MySQL ``mode(x)`` becomes
    ``Mode``) is only syntax if the server reserves it: otherwise the server may
    call a stored function of that name, so the call is judged.
    """
    token = tokens[start]
    if start == 0:
        return True
    if len(parts) != 1 or token.kind != WORD or token.key not in NON_CALL_KEYWORDS:
        return False
    return token.key in _RESERVED or token.key.lower() not in shadows


def _certain_non_call(tokens: list[Token], start: int, ddl: bool) -> bool:
    """The name at `start` is a table, alias, column list or clause by position alone."""
    previous = tokens[start - 1]
    if previous.kind == PUNCT and previous.text == ")":
        return True  # FROM f() g(x): an alias column list; count(*) FILTER (…)
    if previous.kind in (STRING, NUMBER):
        return True  # JSON_TABLE('…', '$' COLUMNS (…)): no call follows a literal
    if ddl and previous.key == "BY" and tokens[start].key in _PARTITION_METHODS:
        return True  # PARTITION BY LIST (…)
    return previous.kind == WORD and previous.key in _TABLE_POSITION


def _likely_non_call(
    tokens: list[Token], start: int, parts: tuple[str, ...], ddl: bool, names: frozenset[str]
) -> bool:
    """A DDL object position, or a CTE/alias name from the tree: excused unless listed."""
    previous = tokens[start - 1]
    if ddl and previous.kind == WORD and previous.key in _DDL_TABLE_POSITION:
        return True
    return len(parts) == 1 and parts[0] in names


def judge_name(parts: tuple[str, ...], dialect: str, draft: Draft) -> None:
    """Record a call of `parts` (a name as written) and what it implies."""
    name = ".".join(parts)
    last = parts[-1].lower()
    if len(parts) == 1 and last in TYPE_NAMES[dialect]:
        return  # a type modifier or a cast, not a call
    draft.function(name)
    if len(parts) == (3 if dialect == "postgres" else 2):
        draft.databases.append(parts[0])  # a routine of another database
    entry = deny_entry(last, dialect)
    if entry is not None:
        kind, flags, why = entry
        draft.at_least(kind, f"calls {last}: {why}")
        draft.flag(*flags)
        return
    qualifier = tuple(part.lower() for part in parts[:-1])
    builtin_schema = not qualifier or qualifier in {(s,) for s in _BUILTIN_SCHEMAS[dialect]}
    if builtin_schema and last in builtins(dialect):
        return
    if name not in draft.user_functions:
        draft.user_functions.append(name)


def scan_calls(
    tokens: list[Token], dialect: str, draft: Draft, ddl: bool, names: frozenset[str]
) -> None:
    """Judge every lexical call site; `names` are CTE/alias names from the parse tree."""
    shadows = shadow_names(dialect)
    for parts, start in call_sites(tokens):
        if _is_syntax(tokens, start, parts, shadows) or _certain_non_call(tokens, start, ddl):
            continue
        last = parts[-1].lower()
        listed = deny_entry(last, dialect) is not None or last in shadows
        if not listed and _likely_non_call(tokens, start, parts, ddl, names):
            continue
        judge_name(parts, dialect, draft)
