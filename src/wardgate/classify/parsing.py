"""What statement handlers share: the environment, sqlglot access, token helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wardgate.classify.context import ParseSettings
from wardgate.classify.draft import Draft
from wardgate.classify.fingerprint import render
from wardgate.classify.lexer import (
    NUMBER,
    OP,
    PG_BUILTIN_OPERATORS,
    PUNCT,
    QIDENT,
    STRING,
    WORD,
    Token,
)
from wardgate.classify.tree import analyze_tree

#: Parses one statement's canonical text with sqlglot; raises on anything it cannot.
ParseFn = Callable[[str, str], Any]


@dataclass(frozen=True, slots=True)
class Env:
    """One analysis: dialect, settings, the parser, and recursion into sub-statements."""

    dialect: str
    settings: ParseSettings
    parse: ParseFn
    analyze: Callable[[list[Token], Env], Draft]

    def sub(self, tokens: list[Token]) -> Draft:
        """Analyse an embedded statement (EXPLAIN's, PREPARE's, COPY's query …)."""
        return self.analyze(tokens, self)


def parse_into(tokens: list[Token], env: Env, draft: Draft) -> None:
    """Parse `tokens` with sqlglot and fold the tree's facts into `draft`."""
    if env.dialect == "postgres":
        tokens = for_sqlglot(tokens)
    try:
        tree = env.parse(render(tokens, drop_hints=True), env.dialect)
    except Exception as error:  # any parser failure is an unknown statement
        draft.unknown(f"sqlglot cannot parse it ({type(error).__name__})")
        return
    if tree is None:
        draft.unknown("sqlglot returned no statement")
        return
    draft.aliases.update(analyze_tree(tree, env.dialect, draft))


def parse_expressions(tokens: list[Token], env: Env, draft: Draft) -> None:
    """Analyse a list of expressions (procedure arguments, SET values) as a SELECT."""
    if tokens:
        parse_into([Token(WORD, "SELECT", "SELECT"), *tokens], env, draft)


def word(token: Token | None, *keys: str) -> bool:
    """Whether `token` is an unquoted word among `keys` (any word if none given)."""
    return token is not None and token.kind == WORD and (not keys or token.key in keys)


def punct(token: Token | None, text: str) -> bool:
    return token is not None and token.kind in (PUNCT, OP) and token.text == text


def at(tokens: list[Token], index: int) -> Token | None:
    return tokens[index] if 0 <= index < len(tokens) else None


def closing_paren(tokens: list[Token], index: int) -> int:
    """Index of the ``)`` matching the ``(`` at `index`; ValueError if unbalanced."""
    depth = 0
    for position in range(index, len(tokens)):
        token = tokens[position]
        if token.kind == PUNCT and token.text == "(":
            depth += 1
        elif token.kind == PUNCT and token.text == ")":
            depth -= 1
            if depth == 0:
                return position
    raise ValueError("unbalanced parentheses")


def split_top_level(tokens: list[Token], separator: str = ",") -> list[list[Token]]:
    """Split at `separator` tokens outside parentheses."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == PUNCT and token.text in "([":
            depth += 1
        elif token.kind == PUNCT and token.text in ")]":
            depth -= 1
        if depth == 0 and token.kind == PUNCT and token.text == separator:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def name_value(token: Token) -> str:
    """The identifier a WORD or QIDENT token names."""
    return token.key if token.kind == QIDENT else token.text


def qualified_name(tokens: list[Token], index: int) -> tuple[list[str], int]:
    """A dotted name starting at `index`: its parts and the index after it."""
    parts: list[str] = []
    position = index
    while position < len(tokens) and tokens[position].kind in (WORD, QIDENT):
        parts.append(name_value(tokens[position]))
        if not punct(at(tokens, position + 1), "."):
            return parts, position + 1
        position += 2
    return parts, position


_SIMPLE_KINDS = frozenset({WORD, QIDENT, STRING, NUMBER})
_SIMPLE_TEXT = frozenset({",", ".", "=", "*", "-", "+"})


def simple_tail(tokens: list[Token]) -> bool:
    """Only names, literals and separators: nothing that could call or compute."""
    return all(t.kind in _SIMPLE_KINDS or t.text in _SIMPLE_TEXT for t in tokens)


def call_name(tokens: list[Token], index: int) -> tuple[tuple[str, ...], int]:
    """A routine name starting at `index`, parts as functions.py spells them."""
    parts, end = qualified_name(tokens, index)
    spelled = tuple(
        part if tokens[index + 2 * n].kind == QIDENT else part.lower()
        for n, part in enumerate(parts)
    )
    return spelled, end


_TEXT_TYPE = Token(WORD, "text", "TEXT")


def for_sqlglot(tokens: list[Token]) -> list[Token]:
    """Rewrite PostgreSQL forms sqlglot cannot read into equivalents it can.

    Only forms whose rewrite changes nothing the classifier looks at:
    ``OPERATOR(pg_catalog.~)`` (psql's catalog queries) becomes the built-in ``~``,
    and an array cast to a type sqlglot does not know (``$1::oid[]``, asyncpg's type
    introspection) is read as ``text[]`` — the target type decides no rule.
    """
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        window = [t.text for t in tokens[index : index + 6]]
        if (
            word(token, "OPERATOR")
            and window[1:3] == ["(", "pg_catalog"]
            and window[3:4] == ["."]
            and window[5:6] == [")"]
            and window[4] in PG_BUILTIN_OPERATORS
        ):
            out.append(tokens[index + 4])
            index += 6
            continue
        if (
            token.kind == WORD
            and [t.text for t in tokens[index + 1 : index + 3]] == ["[", "]"]
            and index > 0
            and (tokens[index - 1].text == "::" or word(tokens[index - 1], "AS"))
        ):
            token = _TEXT_TYPE
        out.append(token)
        index += 1
    return out
