"""Statement handlers shared by both dialects, and the PostgreSQL-only ones.

A handler gets the statement's tokens (``tokens[0]`` is the leading keyword), the
environment and the draft to fill. It either decides from the tokens (statements
sqlglot does not model: EXPLAIN, COPY, PREPARE/EXECUTE, LOCK …) or hands the
statement or a part of it to sqlglot through `parse_into`. Whatever a handler does
not recognise it reports as unknown.
"""

from __future__ import annotations

from collections.abc import Callable

from wardgate.classify.draft import Draft
from wardgate.classify.functions import judge_name
from wardgate.classify.lexer import QIDENT, STRING, WORD, Token
from wardgate.classify.model import Kind, words
from wardgate.classify.parsing import (
    Env,
    at,
    call_name,
    closing_paren,
    name_value,
    parse_expressions,
    parse_into,
    punct,
    qualified_name,
    simple_tail,
    split_top_level,
    word,
)

Handler = Callable[[list[Token], Env, Draft], None]


def fixed(kind: Kind, reason: str, *flags: str, tail: str = "any", skip: int = 1) -> Handler:
    """A handler that decides from the leading keywords alone.

    `tail` says what may follow the first `skip` keywords: ``"none"``, ``"simple"``
    (names, literals and separators only — required below ``ddl`` so nothing that
    computes can ride along) or ``"any"``.
    """

    def handle(tokens: list[Token], env: Env, draft: Draft) -> None:
        rest = tokens[skip:]
        if (tail == "none" and rest) or (tail == "simple" and not simple_tail(rest)):
            draft.unknown(f"unexpected text after {' '.join(t.key for t in tokens[:skip])}")
            return
        draft.at_least(kind, reason)
        draft.flag(*flags)

    return handle


#: What the leading keyword alone guarantees, whatever tree sqlglot returns.
_VERB_FLOORS = {
    "INSERT": Kind.WRITE,
    "UPDATE": Kind.WRITE,
    "DELETE": Kind.WRITE,
    "MERGE": Kind.WRITE,
    "REPLACE": Kind.WRITE,
    "TRUNCATE": Kind.DDL,
    "COMMENT": Kind.DDL,
}


def parsed(tokens: list[Token], env: Env, draft: Draft) -> None:
    """Hand the whole statement to sqlglot (the leading keyword sets a floor)."""
    draft.at_least(_VERB_FLOORS.get(tokens[0].key, Kind.READ))
    parse_into(tokens, env, draft)


# --------------------------------------------------------------------------- CREATE/ALTER/DROP

_PG_ADMIN_OBJECTS = words("""
    DATABASE EXTENSION ROLE USER GROUP SERVER TABLESPACE PUBLICATION SUBSCRIPTION
    LANGUAGE EVENT POLICY SYSTEM DEFAULT OWNED ACCESS
    """)
_PG_DDL_OBJECTS = words("""
    TABLE VIEW INDEX SEQUENCE FUNCTION PROCEDURE ROUTINE TRIGGER TYPE DOMAIN SCHEMA
    AGGREGATE CAST COLLATION OPERATOR RULE STATISTICS MATERIALIZED TEXT CONVERSION
    TRANSFORM LARGE
    """)
_PG_MODIFIERS = words(
    "OR REPLACE TEMP TEMPORARY UNLOGGED GLOBAL LOCAL UNIQUE RECURSIVE TRUSTED PROCEDURAL CONSTRAINT"
)
_MY_ADMIN_OBJECTS = words(
    "DATABASE SCHEMA USER ROLE SERVER TABLESPACE LOGFILE RESOURCE EVENT SPATIAL INSTANCE UNDO"
)
_MY_DDL_OBJECTS = words("TABLE VIEW INDEX FUNCTION PROCEDURE TRIGGER SEQUENCE")
_MY_MODIFIERS = words(
    "OR REPLACE TEMPORARY UNIQUE FULLTEXT SPATIAL ONLINE OFFLINE IGNORE AGGREGATE"
)
_MY_VALUED_MODIFIERS = frozenset({"ALGORITHM", "DEFINER", "SQL"})


def _object_word(tokens: list[Token], dialect: str) -> tuple[int, str]:
    """Index and key of the object kind after CREATE/ALTER/DROP and its modifiers."""
    modifiers = _PG_MODIFIERS if dialect == "postgres" else _MY_MODIFIERS
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if word(token, *modifiers) and not (
            dialect == "mysql"
            and token.key == "SPATIAL"
            and word(at(tokens, index + 1), "REFERENCE")
        ):
            index += 1
        elif dialect == "mysql" and word(token, *_MY_VALUED_MODIFIERS):
            index = _skip_valued_modifier(tokens, index)
        else:
            return index, token.key if token.kind == WORD else ""
    return index, ""


def _skip_valued_modifier(tokens: list[Token], index: int) -> int:
    """Skip ``ALGORITHM = x``, ``DEFINER = user@host``, ``SQL SECURITY x``."""
    if word(tokens[index], "SQL"):
        return index + 3
    index += 2  # keyword and "="
    while index < len(tokens) and not word(tokens[index], *_MY_DDL_OBJECTS, *_MY_ADMIN_OBJECTS):
        index += 1
    return index


def schema_change(tokens: list[Token], env: Env, draft: Draft) -> None:
    """CREATE / ALTER / DROP: admin objects decided here, schema objects parsed."""
    index, kind = _object_word(tokens, env.dialect)
    postgres = env.dialect == "postgres"
    admin = _PG_ADMIN_OBJECTS if postgres else _MY_ADMIN_OBJECTS
    ddl = _PG_DDL_OBJECTS if postgres else _MY_DDL_OBJECTS
    verb = tokens[0].key
    if kind == "FOREIGN":
        kind = "TABLE" if word(at(tokens, index + 1), "TABLE") else "SERVER"
    if kind in admin:
        draft.at_least(Kind.ADMIN, f"{verb} {kind} changes the server, roles or privileges")
    elif kind in ddl:
        draft.at_least(Kind.DDL, f"{verb} {kind} changes the schema")
        parse_into(_without(tokens, 1, index), env, draft)
    else:
        draft.unknown(f"no rule for {verb} {kind or '…'}")


def _without(tokens: list[Token], start: int, end: int) -> list[Token]:
    """`tokens` minus MySQL valued modifiers sqlglot does not read (DEFINER = …)."""
    kept = tokens[start:end]
    if any(word(t, *_MY_VALUED_MODIFIERS) for t in kept):
        kept = [t for t in kept if word(t, "OR", "REPLACE", "TEMPORARY", "UNIQUE")]
    return [tokens[0], *kept, *tokens[end:]]


# --------------------------------------------------------------------------- EXPLAIN

_EXPLAINABLE = words(
    "SELECT WITH VALUES TABLE INSERT UPDATE DELETE MERGE EXECUTE DECLARE CREATE REPLACE"
)


def pg_explain(tokens: list[Token], env: Env, draft: Draft) -> None:
    index, analyze = 1, False
    if punct(at(tokens, 1), "("):
        end = closing_paren(tokens, 1)
        analyze = any(word(t, "ANALYZE", "ANALYSE") for t in tokens[2:end])
        index = end + 1
    else:
        while word(at(tokens, index), "ANALYZE", "ANALYSE", "VERBOSE"):
            analyze = analyze or tokens[index].key != "VERBOSE"
            index += 1
    explain_inner(tokens[index:], analyze, env, draft)


def explain_inner(inner: list[Token], analyze: bool, env: Env, draft: Draft) -> None:
    """EXPLAIN ANALYZE runs the statement; plain EXPLAIN only plans it."""
    if not inner:
        draft.unknown("EXPLAIN without a statement")
        return
    draft.merge(env.sub(inner))
    explainable = word(inner[0], *_EXPLAINABLE) or punct(inner[0], "(")
    if analyze:
        draft.at_least(Kind.READ, "EXPLAIN ANALYZE runs the statement it explains")
    elif explainable:
        draft.plan_only = True


# --------------------------------------------------------------------------- PREPARE/EXECUTE


def pg_prepare(tokens: list[Token], env: Env, draft: Draft) -> None:
    name = at(tokens, 1)
    index = 2
    if punct(at(tokens, 2), "("):
        index = closing_paren(tokens, 2) + 1
    if name is None or name.kind not in (WORD, QIDENT) or not word(at(tokens, index), "AS"):
        draft.unknown("unrecognised PREPARE form")
        return
    draft.merge(env.sub(tokens[index + 1 :]))
    draft.prepared_name = name_value(name)
    draft.at_least(draft.kind, "PREPARE is classified as the statement it prepares")


def pg_execute(tokens: list[Token], env: Env, draft: Draft) -> None:
    name = at(tokens, 1)
    if name is None or name.kind not in (WORD, QIDENT):
        draft.unknown("unrecognised EXECUTE form")
        return
    if punct(at(tokens, 2), "("):
        end = closing_paren(tokens, 2)
        if end != len(tokens) - 1:
            draft.unknown("unexpected text after EXECUTE arguments")
            return
        parse_expressions(tokens[3:end], env, draft)
    elif len(tokens) > 2:
        draft.unknown("unexpected text after EXECUTE name")
        return
    draft.executes.append(name_value(name))


def pg_declare(tokens: list[Token], env: Env, draft: Draft) -> None:
    for index, token in enumerate(tokens):
        if word(token, "FOR") and any(word(t, "CURSOR") for t in tokens[:index]):
            draft.merge(env.sub(tokens[index + 1 :]))
            return
    draft.unknown("unrecognised DECLARE form")


# --------------------------------------------------------------------------- COPY


def pg_copy(tokens: list[Token], env: Env, draft: Draft) -> None:
    index = 2 if word(at(tokens, 1), "BINARY") else 1
    source: Draft | None = None
    table = ""
    if punct(at(tokens, index), "("):
        end = closing_paren(tokens, index)
        source = env.sub(tokens[index + 1 : end])
        index = end + 1
    else:
        parts, index = qualified_name(tokens, index)
        table = ".".join(parts)
        if punct(at(tokens, index), "("):
            index = closing_paren(tokens, index) + 1
    direction, target = at(tokens, index), at(tokens, index + 1)
    if (not table and source is None) or not word(direction, "FROM", "TO") or target is None:
        draft.unknown("unrecognised COPY form")
        return
    _copy_target(direction.key if direction else "", target, at(tokens, index + 2), draft)
    if source is not None:
        draft.merge(source)
    elif table:
        draft.table(table, "write" if word(direction, "FROM") else "read")


def _copy_target(direction: str, target: Token, after: Token | None, draft: Draft) -> None:
    if word(target, "STDIN") and direction == "FROM":
        draft.at_least(Kind.WRITE, "COPY FROM STDIN loads rows")
    elif word(target, "STDOUT") and direction == "TO":
        draft.at_least(Kind.READ, "COPY TO STDOUT returns rows")
    elif word(target, "PROGRAM") and after is not None and after.kind == STRING:
        draft.at_least(Kind.ADMIN, "COPY … PROGRAM runs an operating system command")
        draft.flag("program_exec")
    elif target.kind == STRING:
        draft.at_least(Kind.ADMIN, "COPY to or from a server file")
        draft.flag("file_access")
    else:
        draft.unknown("unrecognised COPY target")


# --------------------------------------------------------------------------- CALL, DO, LOCK


def call(tokens: list[Token], env: Env, draft: Draft) -> None:
    parts, index = call_name(tokens, 1)
    if not parts:
        draft.unknown("CALL without a procedure name")
        return
    if punct(at(tokens, index), "("):
        end = closing_paren(tokens, index)
        if end != len(tokens) - 1:
            draft.unknown("unexpected text after CALL arguments")
            return
        parse_expressions(tokens[index + 1 : end], env, draft)
    elif index != len(tokens):
        draft.unknown("unexpected text after CALL")
        return
    judge_name(parts, env.dialect, draft)
    name = ".".join(parts)
    if name not in draft.user_functions:
        draft.user_functions.append(name)
    draft.at_least(Kind.READ, "CALL runs a stored procedure")


def pg_lock(tokens: list[Token], env: Env, draft: Draft) -> None:
    index = 2 if word(at(tokens, 1), "TABLE") else 1
    if word(at(tokens, index), "ONLY"):
        index += 1
    for item in split_top_level(_until(tokens[index:], "IN", "NOWAIT")):
        parts, after = qualified_name(item, 0)
        if not parts or not simple_tail(item[after:]):
            draft.unknown("unrecognised LOCK form")
            return
        draft.table(".".join(parts), "write")
    draft.at_least(Kind.WRITE, "LOCK takes table locks")
    draft.flag("locking")


def _until(tokens: list[Token], *keys: str) -> list[Token]:
    for index, token in enumerate(tokens):
        if word(token, *keys):
            return tokens[:index]
    return tokens


def pg_do(tokens: list[Token], env: Env, draft: Draft) -> None:
    draft.unknown("DO runs an anonymous code block that can do anything")
    draft.flag("dynamic_sql")
