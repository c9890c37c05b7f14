"""Lexer vectors: where each server says a literal, comment or statement ends."""

from __future__ import annotations

import pytest

from wardgate.classify import ParseSettings
from wardgate.classify.fingerprint import render, split_statements
from wardgate.classify.lexer import HINT, OP, QIDENT, LexError, decode_mysql_string, lex

PG = ParseSettings()
MY = ParseSettings()


def fp(text: str, dialect: str = "postgres", settings: ParseSettings = PG) -> str:
    return render(lex(text, dialect, settings).tokens)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1 /* a /* nested */ b */ + 2", "select 0 + 0"),
        ("SELECT $$a;b$$, $x$ $$ $x$", "select '?' , '?'"),
        ("SELECT E'it\\'s'", "select '?'"),
        ("SELECT 'it''s'", "select '?'"),
        ("SELECT B'0101', X'ff', N'n'", "select '?' , '?' , '?'"),
        ("SELECT a=-1", "select a = - 0"),
        ("SELECT a @- b", "select a @- b"),
        ("SELECT 1 +-- comment\n 2", "select 0 + 0"),
        ("SELECT foo$bar, $1", "select foo$bar , $1"),
        ('SELECT "Mixed""Case"', 'select "Mixed""Case"'),
        ('SELECT U&"\\0041B"', 'select "AB"'),
        ("SELECT U&\"!0041B\" UESCAPE '!'", 'select "AB"'),
        ("SELECT U&'\\0041' UESCAPE '\\'", "select '?'"),
        ("SELECT a::int, t.*", "select a :: int , t.*"),
        ("Select CamelCase", "select camelcase"),
    ],
)
def test_postgres_vectors(text: str, expected: str) -> None:
    assert fp(text) == expected


def test_postgres_truncates_long_identifiers_like_the_server() -> None:
    name = "a" * 70
    assert fp(f"SELECT * FROM {name}") == f"select * from {'a' * 63}"


def test_postgres_standard_conforming_strings_decides_backslashes() -> None:
    text = "SELECT 'a\\'; DELETE FROM t; --'"
    assert len(split_statements(lex(text, "postgres", PG).tokens)) == 2
    escaping = ParseSettings(standard_conforming_strings=False)
    assert len(split_statements(lex(text, "postgres", escaping).tokens)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 'open",
        "SELECT /* open",
        "SELECT /* a /* b */",
        "SELECT $q$ open",
        'SELECT ""',
        "SELECT 1 \\g",
        "SELECT U&\"x\" /**/ UESCAPE '!'",
        'SELECT U&"\\D800"',
        "SELECT U&\"x\" UESCAPE '+'",
        "SELECT '\x00'",
    ],
)
def test_postgres_rejects(text: str) -> None:
    with pytest.raises(LexError):
        lex(text, "postgres", PG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1 -- c\n", "SELECT 0"),
        ("SELECT 1 --1", "SELECT 0 - - 0"),
        ("SELECT 1 # c\n+ 2", "SELECT 0 + 0"),
        ("SELECT 'a\\'b', \"c\"", "SELECT '?' , '?'"),
        ("SELECT `we``ird`", "SELECT `we``ird`"),
        ("SELECT 1abc, 0x1F, b'01', X'ab'", "SELECT 1abc , 0 , '?' , '?'"),
        ("SELECT @a, @@global.x, @'q'", "SELECT @a , @@global.x , @'q'"),
        ("SELECT ?", "SELECT ?"),
        ("SELECT 2*/*c*/3", "SELECT 0 * 0"),
        ("SELECT \\N", "SELECT NULL"),
    ],
)
def test_mysql_vectors(text: str, expected: str) -> None:
    assert fp(text, "mysql", MY) == expected


def test_mysql_executable_comments() -> None:
    always = lex("SELECT 1 /*! , 2 */", "mysql", MY)
    assert render(always.tokens) == "SELECT 0 , 0"
    assert not always.conditional
    versioned = lex("SELECT 1 /*!50000 , 2 */", "mysql", MY)
    assert render(versioned.tokens) == "SELECT 0 , 0"
    assert versioned.conditional
    absent = lex("SELECT 1 /*!50000 , 2 */", "mysql", MY, conditional=False)
    assert render(absent.tokens) == "SELECT 0"
    assert render(lex("SELECT 1 /*M!100100 , 2 */", "mysql", MY).tokens) == "SELECT 0 , 0"


def test_mysql_optimizer_hints_are_kept() -> None:
    tokens = lex("SELECT /*+  MAX_EXECUTION_TIME(10) */ 1", "mysql", MY).tokens
    assert tokens[1].kind == HINT
    assert tokens[1].text == "/*+ MAX_EXECUTION_TIME(10) */"


def test_mysql_sql_mode_settings() -> None:
    text = "SELECT 'a\\'; DELETE FROM t; #'"
    assert len(split_statements(lex(text, "mysql", MY).tokens)) == 1
    no_backslash = ParseSettings(no_backslash_escapes=True)
    assert len(split_statements(lex(text, "mysql", no_backslash).tokens)) == 2
    ansi = lex('SELECT "col"', "mysql", ParseSettings(ansi_quotes=True)).tokens
    assert ansi[1].kind == QIDENT
    assert ansi[1].text == "`col`"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 'open",
        "SELECT /* open",
        "SELECT 1 /*!50000 open",
        "SELECT 1 /*!50000 /* nested */ */",
        "SELECT 1 /*!1234567 x */",
        "SELECT '\x00'",
        "SELECT 1 \U0001f600",
    ],
)
def test_mysql_rejects(text: str) -> None:
    with pytest.raises(LexError):
        lex(text, "mysql", MY)


def test_mysql_string_decoding() -> None:
    assert decode_mysql_string("'a\\'b\\n''c'", MY) == "a'b\n'c"
    assert decode_mysql_string("'a\\%'", MY) == "a\\%"
    assert decode_mysql_string("'a\\b'", ParseSettings(no_backslash_escapes=True)) == "a\\b"
    assert decode_mysql_string('N"x""y"', MY) == 'x"y'


def test_postgres_operators_are_single_tokens() -> None:
    tokens = lex("SELECT a ->> 'k', b #>> '{x}', c <-> d", "postgres", PG).tokens
    assert [t.text for t in tokens if t.kind == OP] == ["->>", "#>>", "<->"]
