"""One statement: find its rule by leading keywords, apply it, then the lexical checks.

Theory of operation. `RULES` maps each dialect's leading keyword sequences to a
handler (longest match wins); a statement whose leading keywords have no rule is
unknown. After the handler, two checks run over *every* token of the statement
whatever the handler decided, so no handler can forget them:

- `FLOORS`: keyword sequences that raise the kind wherever they appear
  (``FOR UPDATE`` → write + locking, ``INTO OUTFILE`` → admin + file_access,
  ``SONAME`` → admin + program_exec, an untrusted ``LANGUAGE`` …);
- the lexical call scan (functions.py): deny-listed and database-defined functions.

EXPLAIN without ANALYZE runs nothing, so its draft is reduced to a read at the end
(flags and tables kept for the record).
"""

from __future__ import annotations

from wardgate.classify import handlers as h
from wardgate.classify import mysql_handlers as my
from wardgate.classify import set_rules
from wardgate.classify.draft import Draft
from wardgate.classify.functions import scan_calls
from wardgate.classify.lexer import (
    HINT,
    OP,
    PG_BUILTIN_OPERATORS,
    PUNCT,
    QIDENT,
    STRING,
    WORD,
    Token,
)
from wardgate.classify.model import Kind, TableRef, words
from wardgate.classify.parsing import Env

K = Kind
_TX = "transaction control"

_COMMON: dict[tuple[str, ...], h.Handler] = {
    ("SELECT",): h.parsed,
    ("WITH",): h.parsed,
    ("(",): h.parsed,
    ("VALUES",): h.parsed,
    ("TABLE",): h.parsed,
    ("INSERT",): h.parsed,
    ("UPDATE",): h.parsed,
    ("DELETE",): h.parsed,
    ("CREATE",): h.schema_change,
    ("ALTER",): h.schema_change,
    ("DROP",): h.schema_change,
    ("TRUNCATE",): h.parsed,
    ("GRANT",): h.fixed(K.ADMIN, "GRANT changes privileges"),
    ("REVOKE",): h.fixed(K.ADMIN, "REVOKE changes privileges"),
    ("CALL",): h.call,
    ("BEGIN",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("START", "TRANSACTION"): h.fixed(K.SESSION, _TX, tail="simple", skip=2),
    ("COMMIT",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("ROLLBACK",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("SAVEPOINT",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("RELEASE",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("DEALLOCATE",): h.fixed(K.SESSION, "DEALLOCATE drops a prepared statement", tail="simple"),
}

_POSTGRES: dict[tuple[str, ...], h.Handler] = {
    **_COMMON,
    ("MERGE",): h.parsed,
    ("COMMENT",): h.parsed,
    ("EXPLAIN",): h.pg_explain,
    ("SET",): set_rules.pg_set,
    ("RESET",): set_rules.pg_reset,
    ("SHOW",): h.fixed(K.READ, "SHOW reads a setting", tail="simple"),
    ("END",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("ABORT",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("COMMIT", "PREPARED"): h.fixed(K.ADMIN, "finishes a two-phase transaction", tail="simple"),
    ("ROLLBACK", "PREPARED"): h.fixed(K.ADMIN, "finishes a two-phase transaction", tail="simple"),
    ("PREPARE", "TRANSACTION"): h.fixed(K.ADMIN, "starts a two-phase commit", tail="simple"),
    ("PREPARE",): h.pg_prepare,
    ("EXECUTE",): h.pg_execute,
    ("DECLARE",): h.pg_declare,
    ("FETCH",): h.fixed(K.READ, "FETCH reads rows of an open cursor", tail="simple"),
    ("MOVE",): h.fixed(K.SESSION, "MOVE repositions a cursor", tail="simple"),
    ("CLOSE",): h.fixed(K.SESSION, "CLOSE closes a cursor", tail="simple"),
    ("LISTEN",): h.fixed(K.SESSION, "LISTEN subscribes to notifications", tail="simple"),
    ("UNLISTEN",): h.fixed(K.SESSION, "UNLISTEN unsubscribes", tail="simple"),
    ("NOTIFY",): h.fixed(K.WRITE, "NOTIFY signals other sessions", tail="simple"),
    ("DISCARD",): h.fixed(K.SESSION, "DISCARD resets session state", tail="simple"),
    ("COPY",): h.pg_copy,
    ("DO",): h.pg_do,
    ("LOCK",): h.pg_lock,
    ("VACUUM",): h.fixed(K.ADMIN, "VACUUM is maintenance"),
    ("ANALYZE",): h.fixed(K.ADMIN, "ANALYZE is maintenance"),
    ("ANALYSE",): h.fixed(K.ADMIN, "ANALYZE is maintenance"),
    ("CHECKPOINT",): h.fixed(K.ADMIN, "CHECKPOINT is maintenance", tail="none"),
    ("CLUSTER",): h.fixed(K.ADMIN, "CLUSTER rewrites tables"),
    ("REINDEX",): h.fixed(K.ADMIN, "REINDEX is maintenance"),
    ("LOAD",): h.fixed(K.ADMIN, "LOAD loads a shared library", "program_exec"),
    ("REFRESH", "MATERIALIZED", "VIEW"): h.fixed(
        K.WRITE, "REFRESH MATERIALIZED VIEW rewrites its rows", tail="simple", skip=3
    ),
    ("SECURITY", "LABEL"): h.fixed(K.ADMIN, "SECURITY LABEL changes access control"),
    ("IMPORT", "FOREIGN", "SCHEMA"): h.fixed(K.DDL, "IMPORT FOREIGN SCHEMA defines tables"),
    ("REASSIGN", "OWNED"): h.fixed(K.ADMIN, "REASSIGN OWNED changes ownership"),
}

_MYSQL: dict[tuple[str, ...], h.Handler] = {
    **_COMMON,
    ("SELECT",): my.query,
    ("WITH",): my.query,
    ("(",): my.query,
    ("INSERT",): my.dml,
    ("REPLACE",): my.dml,
    ("UPDATE",): my.dml,
    ("DELETE",): my.dml,
    ("SET",): set_rules.mysql_set,
    ("SHOW",): my.show,
    ("EXPLAIN",): my.explain,
    ("DESCRIBE",): my.explain,
    ("DESC",): my.explain,
    ("ANALYZE",): my.analyze,
    ("USE",): my.use,
    ("HELP",): h.fixed(K.READ, "HELP reads the manual", tail="simple"),
    ("RENAME", "TABLE"): h.fixed(K.DDL, "RENAME TABLE changes the schema", tail="simple", skip=2),
    ("RENAME", "USER"): h.fixed(K.ADMIN, "RENAME USER changes accounts"),
    ("XA",): h.fixed(K.SESSION, _TX, tail="simple"),
    ("START",): h.fixed(K.ADMIN, "START controls replication or the server"),
    ("STOP",): h.fixed(K.ADMIN, "STOP controls replication or the server"),
    ("LOCK",): my.lock,
    ("UNLOCK",): h.fixed(K.SESSION, "UNLOCK releases this session's locks", tail="simple"),
    ("HANDLER",): my.handler,
    ("LOAD", "DATA"): my.load_data,
    ("LOAD", "XML"): my.load_data,
    ("PREPARE",): my.prepare,
    ("EXECUTE",): my.execute,
    ("DO",): my.do,
    ("GET", "DIAGNOSTICS"): h.fixed(K.SESSION, "reads diagnostics"),
    ("CHECKSUM",): h.fixed(K.READ, "CHECKSUM TABLE reads tables", tail="simple"),
    ("INSTALL",): h.fixed(K.ADMIN, "INSTALL loads server code", "program_exec"),
    ("UNINSTALL",): h.fixed(K.ADMIN, "UNINSTALL unloads server code"),
    **{
        (verb,): h.fixed(K.ADMIN, f"{verb} is server administration")
        for verb in sorted(
            words(
                "KILL FLUSH RESET PURGE CHANGE SHUTDOWN RESTART CLONE BINLOG IMPORT CACHE "
                "OPTIMIZE REPAIR CHECK BACKUP"
            )
        )
    },
    ("LOAD", "INDEX"): h.fixed(K.ADMIN, "LOAD INDEX is server administration"),
}

RULES: dict[str, dict[tuple[str, ...], h.Handler]] = {"postgres": _POSTGRES, "mysql": _MYSQL}

#: Keyword sequences that raise the kind wherever they appear: (words, kind, flags, why).
FLOORS: dict[str, list[tuple[tuple[str, ...], Kind, tuple[str, ...], str]]] = {
    "postgres": [
        (("FOR", "UPDATE"), K.WRITE, ("locking",), "FOR UPDATE locks rows"),
        (("FOR", "NO", "KEY", "UPDATE"), K.WRITE, ("locking",), "FOR NO KEY UPDATE locks rows"),
        (("FOR", "SHARE"), K.WRITE, ("locking",), "FOR SHARE locks rows"),
        (("FOR", "KEY", "SHARE"), K.WRITE, ("locking",), "FOR KEY SHARE locks rows"),
    ],
    "mysql": [
        (("FOR", "UPDATE"), K.WRITE, ("locking",), "FOR UPDATE locks rows"),
        (("FOR", "SHARE"), K.WRITE, ("locking",), "FOR SHARE locks rows"),
        (("LOCK", "IN", "SHARE", "MODE"), K.WRITE, ("locking",), "LOCK IN SHARE MODE locks rows"),
        (("INTO", "OUTFILE"), K.ADMIN, ("file_access",), "INTO OUTFILE writes a server file"),
        (("INTO", "DUMPFILE"), K.ADMIN, ("file_access",), "INTO DUMPFILE writes a server file"),
        (("SONAME",), K.ADMIN, ("program_exec",), "SONAME loads a shared library"),
        (("DEFINER", "="), K.ADMIN, (), "DEFINER = runs code as another account"),
        (("DATA", "DIRECTORY"), K.ADMIN, ("file_access",), "DATA DIRECTORY places files"),
        (("INDEX", "DIRECTORY"), K.ADMIN, ("file_access",), "INDEX DIRECTORY places files"),
        (("WITH", "READ", "LOCK"), K.ADMIN, ("locking",), "takes a global read lock"),
        (("NEXT", "VALUE", "FOR"), K.WRITE, ("side_effect_function",), "advances a sequence"),
    ],
}

#: PostgreSQL procedural languages that can reach the operating system.
UNTRUSTED_LANGUAGES = words(
    "c internal plpythonu plpython2u plpython3u plperlu pltclu plsh plr javau"
)

#: Statements that name objects (``FUNCTION f(int)``) rather than call them.
_OBJECT_VERBS = words("CREATE ALTER DROP COMMENT TRUNCATE RENAME GRANT REVOKE SECURITY")


def analyze_statement(tokens: list[Token], env: Env) -> Draft:
    """Classify one statement's tokens (no ``;``) into a draft."""
    draft = Draft()
    if not tokens:
        return draft
    handler = _find_handler(tokens, env.dialect)
    if handler is None:
        draft.unknown(f"no rule for a statement starting with {tokens[0].text.upper()}")
        return draft
    unknown_operator = _unknown_operator(tokens, env.dialect)
    if unknown_operator:
        draft.unknown(f"operator {unknown_operator} is not a built-in operator")
        return draft
    handler(tokens, env, draft)
    _apply_floors(tokens, env.dialect, draft)
    ddl = tokens[0].key in _OBJECT_VERBS
    scan_calls(tokens, env.dialect, draft, ddl=ddl, names=frozenset(draft.aliases))
    if draft.plan_only:
        _plan_only(draft)
    return draft


def _unknown_operator(tokens: list[Token], dialect: str) -> str:
    if dialect != "postgres":
        return ""  # the MySQL lexer only produces MySQL's fixed operator set
    return next((t.text for t in tokens if t.kind == OP and t.text not in PG_BUILTIN_OPERATORS), "")


def _find_handler(tokens: list[Token], dialect: str) -> h.Handler | None:
    first = tokens[0]
    if first.kind not in (WORD, PUNCT):
        return None
    rules = RULES[dialect]
    for length in (3, 2, 1):
        if len(tokens) < length or any(t.kind not in (WORD, PUNCT) for t in tokens[:length]):
            continue
        handler = rules.get(tuple(t.key for t in tokens[:length]))
        if handler is not None:
            return handler
    return None


def _apply_floors(tokens: list[Token], dialect: str, draft: Draft) -> None:
    keys = [t.key if t.kind == WORD else t.text for t in tokens]
    for sequence, kind, flags, why in FLOORS[dialect]:
        if _contains(keys, sequence):
            draft.at_least(kind, why)
            draft.flag(*flags)
    if dialect == "postgres":
        _language_floor(tokens, draft)
    else:
        _hint_floor(tokens, draft)


def _contains(keys: list[str], words: tuple[str, ...]) -> bool:
    width = len(words)
    return any(tuple(keys[i : i + width]) == words for i in range(len(keys) - width + 1))


def _language_floor(tokens: list[Token], draft: Draft) -> None:
    for index, token in enumerate(tokens[:-1]):
        if token.kind == WORD and token.key == "LANGUAGE":
            nxt = tokens[index + 1]
            language = nxt.key if nxt.kind == QIDENT else nxt.text.lower()
            if nxt.kind == STRING or language in UNTRUSTED_LANGUAGES:
                draft.at_least(K.ADMIN, "code in a language that can reach the operating system")
                draft.flag("program_exec")


#: MySQL optimizer hints that change session state for the statement.
_ADMIN_HINTS = ("SET_VAR", "RESOURCE_GROUP")


def _hint_floor(tokens: list[Token], draft: Draft) -> None:
    for token in tokens:
        if token.kind == HINT and any(name in token.text.upper() for name in _ADMIN_HINTS):
            draft.at_least(K.ADMIN, "an optimizer hint changes session variables or resources")


def _plan_only(draft: Draft) -> None:
    """EXPLAIN without ANALYZE: nothing runs; keep the record, drop the effects."""
    if draft.kind is Kind.UNKNOWN:
        return
    draft.kind = Kind.READ
    draft.reasons = ["EXPLAIN without ANALYZE plans the statement but does not run it"]
    draft.user_functions.clear()
    draft.executes.clear()
    draft.tables = {TableRef(ref.name, "read"): None for ref in draft.tables}
