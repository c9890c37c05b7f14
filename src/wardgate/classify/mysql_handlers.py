"""MySQL / MariaDB statement handlers.

Notable decisions (docs/classification.md has the full table):

- ``SELECT … INTO OUTFILE/DUMPFILE`` writes a server file: ``admin`` + ``file_access``;
  ``SELECT … INTO @var`` only sets session variables: ``session``. The INTO clause is
  cut out before sqlglot parses the rest (it models neither form).
- ``INSERT``/``UPDATE``/``DELETE`` modifiers sqlglot misreads (``UPDATE LOW_PRIORITY t``
  would become a table named LOW_PRIORITY) are dropped; ``REPLACE`` is parsed as the
  ``INSERT`` it is.
- ``PREPARE s FROM '<sql>'`` is classified as the SQL it prepares (the literal stays in
  the fingerprint); ``FROM @var`` is dynamic SQL the classifier cannot see: unknown.
- ``LOAD DATA`` reads a file (server or client side): ``admin`` + ``file_access``.
- ``HANDLER`` reads rows of one table: ``read``; ``DO expr`` is a SELECT without rows.
"""

from __future__ import annotations

from wardgate.classify.draft import Draft
from wardgate.classify.fingerprint import split_statements
from wardgate.classify.handlers import explain_inner, parsed
from wardgate.classify.lexer import (
    PUNCT,
    QIDENT,
    STRING,
    VAR,
    WORD,
    Token,
    decode_mysql_string,
    lex,
)
from wardgate.classify.model import Kind, words
from wardgate.classify.parsing import (
    Env,
    at,
    name_value,
    parse_expressions,
    parse_into,
    punct,
    qualified_name,
    split_top_level,
    word,
)

_DML_MODIFIERS = frozenset({"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "QUICK", "IGNORE"})
_OUTFILE_OPTIONS = words(
    "CHARACTER SET CHARSET FIELDS COLUMNS TERMINATED ENCLOSED ESCAPED OPTIONALLY LINES STARTING BY"
)


def query(tokens: list[Token], env: Env, draft: Draft) -> None:
    """SELECT / WITH / parenthesised query, with its INTO clause taken out."""
    depth = 0
    for index, token in enumerate(tokens):
        if token.kind == PUNCT and token.text in "()":
            depth += 1 if token.text == "(" else -1
        elif depth == 0 and word(token, "INTO"):
            end = _into_clause(tokens, index + 1, draft)
            parse_into(tokens[:index] + tokens[end:], env, draft)
            return
    parse_into(tokens, env, draft)


def _into_clause(tokens: list[Token], index: int, draft: Draft) -> int:
    """Classify an INTO clause starting after INTO; return the index after it."""
    target = at(tokens, index)
    if (
        target is not None
        and word(target, "OUTFILE", "DUMPFILE")
        and _is_string(at(tokens, index + 1))
    ):
        draft.at_least(Kind.ADMIN, f"SELECT … INTO {target.key} writes a server file")
        draft.flag("file_access")
        index += 2
        while word(at(tokens, index), *_OUTFILE_OPTIONS) or _is_string(at(tokens, index)):
            index += 2 if word(at(tokens, index), "SET", "CHARSET") else 1
        return index
    if target is not None and target.kind == VAR:
        draft.at_least(Kind.SESSION, "SELECT … INTO sets session variables")
        while punct(at(tokens, index + 1), ","):
            index += 2
            if not _is_var(at(tokens, index)):
                draft.unknown("unrecognised INTO variable list")
        return index + 1
    draft.unknown("unrecognised INTO clause")
    return index


def _is_var(token: Token | None) -> bool:
    return token is not None and token.kind == VAR


def _is_string(token: Token | None) -> bool:
    return token is not None and token.kind == STRING


def dml(tokens: list[Token], env: Env, draft: Draft) -> None:
    """INSERT / REPLACE / UPDATE / DELETE without the modifiers sqlglot misreads."""
    verb = tokens[0]
    if verb.key == "REPLACE":
        verb = Token(WORD, "INSERT", "INSERT")
    index = 1
    while word(at(tokens, index), *_DML_MODIFIERS):
        index += 1
    parsed([verb, *tokens[index:]], env, draft)


def explain(tokens: list[Token], env: Env, draft: Draft) -> None:
    """EXPLAIN / DESCRIBE / DESC: of a statement, of a table, or of a connection."""
    index, analyze = 1, False
    while True:
        token = at(tokens, index)
        if word(token, "ANALYZE"):
            analyze, index = True, index + 1
        elif word(token, "EXTENDED", "PARTITIONS"):
            index += 1
        elif word(token, "FORMAT") and punct(at(tokens, index + 1), "="):
            index += 3
        else:
            break
    if word(at(tokens, index), "FOR") and word(at(tokens, index + 1), "CONNECTION"):
        draft.at_least(Kind.ADMIN, "EXPLAIN FOR CONNECTION inspects another session")
    elif word(
        at(tokens, index),
        "SELECT",
        "WITH",
        "TABLE",
        "INSERT",
        "UPDATE",
        "DELETE",
        "REPLACE",
        "VALUES",
    ) or punct(at(tokens, index), "("):
        explain_inner(tokens[index:], analyze, env, draft)
    else:
        _describe_table(tokens, index, draft)


def _describe_table(tokens: list[Token], index: int, draft: Draft) -> None:
    parts, after = qualified_name(tokens, index)
    rest = tokens[after:]
    if not parts or len(rest) > 1 or (rest and rest[0].kind not in (WORD, QIDENT, STRING)):
        draft.unknown("unrecognised DESCRIBE form")
        return
    _table(parts, "read", draft)
    draft.at_least(Kind.READ, "describes a table")


def _table(parts: list[str], role: str, draft: Draft) -> None:
    draft.table(".".join(parts), role)
    if len(parts) > 1:
        draft.databases.append(parts[0])


def analyze(tokens: list[Token], env: Env, draft: Draft) -> None:
    """ANALYZE TABLE updates statistics; MariaDB's ANALYZE <statement> runs it."""
    if word(at(tokens, 1), "TABLE", "NO_WRITE_TO_BINLOG", "LOCAL"):
        draft.at_least(Kind.ADMIN, "ANALYZE TABLE is maintenance")
        return
    index = 1
    if word(at(tokens, 1), "FORMAT") and punct(at(tokens, 2), "="):
        index = 4
    explain_inner(tokens[index:], True, env, draft)


def show(tokens: list[Token], env: Env, draft: Draft) -> None:
    """SHOW reads metadata; a WHERE condition is an expression like any other."""
    draft.at_least(Kind.READ, "SHOW reads metadata")
    for index, token in enumerate(tokens):
        if word(token, "WHERE"):
            parse_into(
                [Token(WORD, "SELECT", "SELECT"), Token("number", "0", "0"), *tokens[index:]],
                env,
                draft,
            )
            return
        if token.kind in (WORD, QIDENT) and punct(at(tokens, index + 1), "."):
            draft.databases.append(name_value(token))  # SHOW CREATE TABLE db.t
        elif word(token, "FROM", "IN") and at(tokens, index + 1) is not None:
            parts, _ = qualified_name(tokens, index + 1)
            if len(parts) == 1 and _names_database(tokens, index):
                draft.databases.append(parts[0])


def _names_database(tokens: list[Token], index: int) -> bool:
    """In SHOW TABLES FROM db (and a second FROM of SHOW COLUMNS) the name is a database."""
    earlier = [t for t in tokens[:index] if word(t, "FROM", "IN")]
    return bool(earlier) or not any(
        word(t, "COLUMNS", "FIELDS", "INDEX", "INDEXES", "KEYS") for t in tokens
    )


def use(tokens: list[Token], env: Env, draft: Draft) -> None:
    target = at(tokens, 1)
    if target is None or target.kind not in (WORD, QIDENT) or len(tokens) != 2:
        draft.unknown("unrecognised USE form")
        return
    draft.at_least(Kind.SESSION, "USE switches the current database")
    draft.databases.append(name_value(target))


def lock(tokens: list[Token], env: Env, draft: Draft) -> None:
    if word(at(tokens, 1), "INSTANCE"):
        draft.at_least(Kind.ADMIN, "LOCK INSTANCE blocks server-wide operations")
        draft.flag("locking")
        return
    if not word(at(tokens, 1), "TABLES", "TABLE"):
        draft.unknown("unrecognised LOCK form")
        return
    for item in split_top_level(tokens[2:]):
        parts, _ = qualified_name(item, 0)
        if not parts:
            draft.unknown("unrecognised LOCK TABLES item")
            return
        _table(parts, "write", draft)
    draft.at_least(Kind.WRITE, "LOCK TABLES takes table locks")
    draft.flag("locking")


def load_data(tokens: list[Token], env: Env, draft: Draft) -> None:
    draft.at_least(Kind.ADMIN, f"LOAD {tokens[1].key if len(tokens) > 1 else ''} reads a file")
    draft.flag("file_access")
    for index, token in enumerate(tokens):
        if word(token, "INTO") and word(at(tokens, index + 1), "TABLE"):
            parts, _ = qualified_name(tokens, index + 2)
            if parts:
                _table(parts, "write", draft)


def handler(tokens: list[Token], env: Env, draft: Draft) -> None:
    parts, _ = qualified_name(tokens, 1)
    if not parts:
        draft.unknown("unrecognised HANDLER form")
        return
    _table(parts, "read", draft)
    draft.at_least(Kind.READ, "HANDLER reads rows of one table")


def do(tokens: list[Token], env: Env, draft: Draft) -> None:
    parse_expressions(tokens[1:], env, draft)


def keeps_literal(tokens: list[Token]) -> bool:
    """``PREPARE name FROM '<sql>'``: the literal decides, so the fingerprint keeps it."""
    return (
        len(tokens) == 4
        and word(tokens[0], "PREPARE")
        and word(tokens[2], "FROM")
        and tokens[3].kind == STRING
    )


def prepare(tokens: list[Token], env: Env, draft: Draft) -> None:
    name, source = at(tokens, 1), at(tokens, 3)
    if name is None or name.kind not in (WORD, QIDENT) or not word(at(tokens, 2), "FROM"):
        draft.unknown("unrecognised PREPARE form")
    elif source is not None and source.kind == VAR and len(tokens) == 4:
        draft.unknown("PREPARE … FROM a variable is SQL the classifier cannot see")
        draft.flag("dynamic_sql")
    elif keeps_literal(tokens) and source is not None and source.key[-1:] in "'\"":
        _prepare_body(decode_mysql_string(source.key, env.settings), env, draft)
        draft.prepared_name = name_value(name).lower()
    else:
        draft.unknown("unrecognised PREPARE source")


def _prepare_body(body: str, env: Env, draft: Draft) -> None:
    lexed = lex(body, "mysql", env.settings, conditional=True)
    statements = split_statements(lexed.tokens)
    if lexed.conditional or len(statements) != 1:
        draft.unknown("prepared text is not exactly one plain statement")
        return
    draft.merge(env.sub(statements[0]))
    draft.at_least(draft.kind, "PREPARE is classified as the statement it prepares")


def execute(tokens: list[Token], env: Env, draft: Draft) -> None:
    name = at(tokens, 1)
    if word(name, "IMMEDIATE"):
        draft.unknown("EXECUTE IMMEDIATE runs SQL the classifier cannot see")
        draft.flag("dynamic_sql")
        return
    rest = tokens[2:]
    using_vars = word(at(rest, 0), "USING") and all(
        t.kind == VAR or punct(t, ",") for t in rest[1:]
    )
    if name is None or name.kind not in (WORD, QIDENT) or (rest and not using_vars):
        draft.unknown("unrecognised EXECUTE form")
        return
    draft.executes.append(name_value(name).lower())
