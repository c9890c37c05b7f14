"""The fast shape key: equal keys must mean equal tokens, classifications and redactions.

The memos keyed by `fast_key` are only sound if the key determines the lexer's tokens
(fastkey.py). Every property here checks that directly — the text and the key's
canonical text (every mark replaced by ``0`` or ``'?'``) lex alike, or fail alike —
and then end to end: a text classified and redacted through a memo warmed by another
text of the same key gets exactly what the full path gives it. Inputs: the golden
corpus, literal-substituted variants of it, adversarial texts, and random texts built
from the fragments that make lexing hard.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wardgate.audit import statement
from wardgate.classify import Classifier, DictFunctionCatalog, ParseSettings
from wardgate.classify import classifier as classifier_module
from wardgate.classify.fastkey import MAX_CHARS, NUMBER_MARK, STRING_MARK, fast_key
from wardgate.classify.lexer import STRING, LexError, Token, lex

CORPUS = Path(__file__).resolve().parents[2] / "data" / "classify_corpus.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()
]
ON = ParseSettings()
OFF = ParseSettings(standard_conforming_strings=False)
MY = ParseSettings()
MY_NO_ESCAPES = ParseSettings(no_backslash_escapes=True)
MY_ANSI = ParseSettings(ansi_quotes=True)
SETTINGS = {"postgres": [ON, OFF], "mysql": [MY, MY_NO_ESCAPES, MY_ANSI]}


def canonical(key: str) -> str:
    return key.replace(NUMBER_MARK, "0").replace(STRING_MARK, "'?'")


def tokens(text: str, dialect: str, parse: ParseSettings) -> list[Token] | str:
    """The lexer's tokens, or its error message (which must not depend on literals).

    MySQL string tokens keep their source as `key` (for PREPARE … FROM); the fast key
    is refused for PREPARE texts, and the rest reads the canonical text only.
    """
    try:
        found = lex(text, dialect, parse)
    except LexError as error:
        return f"LexError: {error}"
    assert not found.conditional
    return [t._replace(key=t.text) if t.kind == STRING else t for t in found.tokens]


def assert_key_decides_tokens(text: str, dialect: str, parse: ParseSettings) -> str | None:
    key = fast_key(text, dialect, parse)
    if key is not None:
        twin = canonical(key)
        assert fast_key(twin, dialect, parse) == key
        assert tokens(text, dialect, parse) == tokens(twin, dialect, parse), (text, key)
    return key


def full(text: str, dialect: str, parse: ParseSettings, database: str | None) -> dict[str, Any]:
    result = Classifier(fast_keys=False).classify(text, dialect, settings=parse, database=database)
    return result.to_json()


def assert_memo_agrees(text: str, dialect: str = "postgres", parse: ParseSettings = ON) -> None:
    """Warm the memos with the canonical twin, then ask for `text`: same as the full path."""
    key = fast_key(text, dialect, parse)
    assert key is not None
    warm = Classifier()
    twin = canonical(key)
    warm.classify(twin, dialect, settings=parse, database="db")
    got = warm.classify(text, dialect, settings=parse, database="db")
    assert got.to_json() == full(text, dialect, parse, "db")
    assert got is warm.classify(twin, dialect, settings=parse, database="db")  # a memo hit
    if parse == ParseSettings():  # the redaction always lexes under the defaults
        statement.redact(twin, dialect)
        assert statement.redact(text, dialect) == statement._redact(text, dialect)


def assert_sound(text: str, dialect: str, parse: ParseSettings) -> str | None:
    key = assert_key_decides_tokens(text, dialect, parse)
    if key is not None:
        assert_memo_agrees(text, dialect, parse)
    return key


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case['dialect']}:{case['sql'][:50]}")
def test_corpus_key_decides_tokens(case: dict[str, Any]) -> None:
    dialect = case["dialect"]
    for parse in {ParseSettings(**case.get("settings", {})), *SETTINGS[dialect]}:
        assert_sound(case["sql"], dialect, parse)


def test_the_corpus_exercises_the_fast_path() -> None:
    for dialect in SETTINGS:
        cases = [case for case in CASES if case["dialect"] == dialect]
        keyed = [case for case in cases if fast_key(case["sql"], dialect, ParseSettings())]
        assert len(keyed) >= len(cases) // 4, dialect
    pgbench = "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;"
    assert fast_key(pgbench, "postgres", ON) == (
        "SELECT abalance FROM pgbench_accounts WHERE aid = \x00;"
    )


# ----------------------------------------------------------------- literal variants

STRING_VALUE = st.lists(
    st.sampled_from([*"ab '\"\\$-/*;#`@\n\t\x01é€E", "''", "--", "/*", "$$", "*/", "/*!"]),
    max_size=12,
).map("".join)
NUMBER_VALUE = st.one_of(
    st.integers(min_value=0, max_value=10**15).map(str),
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)).map(lambda p: f"{p[0]}.{p[1]}"),
)


def quote(value: str, dialect: str, parse: ParseSettings) -> str:
    if dialect == "mysql" and not parse.no_backslash_escapes:
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"


def fill(key: str, dialect: str, parse: ParseSettings, data: st.DataObject) -> str:
    out: list[str] = []
    for char in key:
        if char == NUMBER_MARK:
            out.append(data.draw(NUMBER_VALUE))
        elif char == STRING_MARK:
            out.append(quote(data.draw(STRING_VALUE), dialect, parse))
        else:
            out.append(char)
    return "".join(out)


KEYED = [
    (case["dialect"], parse, case["sql"], key)
    for case in CASES
    for parse in SETTINGS[case["dialect"]]
    if (key := fast_key(case["sql"], case["dialect"], parse)) is not None
    and (NUMBER_MARK in key or STRING_MARK in key)
]


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(KEYED), data=st.data())
def test_random_literal_values_keep_the_key_and_every_answer(
    case: tuple[str, ParseSettings, str, str], data: st.DataObject
) -> None:
    dialect, parse, original, key = case
    variant = fill(key, dialect, parse, data)
    if "\x00" in variant or "\x01" in variant:  # a drawn string held a mark character
        assert fast_key(variant, dialect, parse) is None
        return
    if dialect == "postgres" and not parse.standard_conforming_strings and "\\" in variant:
        assert fast_key(variant, dialect, parse) is None
        return
    assert fast_key(variant, dialect, parse) == key
    assert_key_decides_tokens(variant, dialect, parse)
    assert full(variant, dialect, parse, None) == full(original, dialect, parse, None)
    assert_memo_agrees(variant, dialect, parse)


# ----------------------------------------------------------------- adversarial texts

FALLS_BACK = [
    "SELECT \"x 'a' y\" FROM t",
    "SELECT `x 'a' y` FROM t",
    "SELECT 'abc' {",
    "SELECT 1e5",
    "SELECT .5",
    "SELECT 1.",
    "SELECT 0x1F",
    "SELECT 0o17, 0b101",
    "SELECT 1_000",
    "SELECT 1..2",
    "SELECT t.5",
    "SELECT E'\\''",
    "SELECT e'a'",
    "SELECT U&'d\\0061t\\+000061'",
    "SELECT U&'a' UESCAPE '!'",
    "SELECT B'101', X'1F'",
    "SELECT N'abc'",
    "SELECT $$a 'b' c$$",
    "SELECT $tag$ ' $tag$",
    "SELECT $1",
    'SELECT "it\'s" FROM t',
    "SELECT \"a\" FROM t WHERE x = 'y'",
    "SELECT 1 -- ' comment hides a quote",
    "SELECT 1 /* ' */, 2",
    "SELECT 1 /* a /* nested */ b */",
    "SELECT '--' -- x",
    "SELECT 1--1",
    "SELECT 'a'1",
    "SELECT 1'a'",
    "SELECT 'a' 'b",
    "SELECT 'unterminated",
    "SELECT 'a''",
    "SELECT t1.'a'",
    "SELECT a&'b'",
    "SELECT {1}",
    "SELECT `a`",
    "SELECT '\x00'",
    "SELECT 1 \x00",
    "SELECT \x01",
    "SELECT 1\u00a0",
    "SÉLECT 1",
    "SELECT 1 \\",
    "SELECT 'a\\' OR 1=1 --'",
]


@pytest.mark.parametrize("text", FALLS_BACK)
def test_what_the_regex_does_not_understand_falls_back(text: str) -> None:
    assert fast_key(text, "postgres", ON) is None or "\\" in text
    assert fast_key(text, "postgres", OFF) is None


KEYED_ADVERSARIAL = [
    "SELECT 'it''s', '', '''', 'a'''",
    "SELECT '\\' FROM t WHERE a = '\\'",  # standard strings: backslash is a character
    "SELECT 'a' || 'b' FROM t1 WHERE c2 = -1 AND d = +2.5",
    "SELECT * FROM t WHERE a='--' AND b='/*' AND c='$$' AND d='\"'",
    "SELECT a FROM t WHERE b IN (1, 2, 3) AND c = ANY(ARRAY[1,2])",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')",
    "SELECT 1::int, '2'::text, x[1:2]",
    "SELECT a=-1, b<>-2, c>=3, d!=4, e*-5, f/6, g%7, h^8",
    "select\t1\n;\r\nselect\f2\v",
    "SELECT uescape FROM t WHERE a = 1",
    "SELECT 1;DELETE FROM t WHERE a = 'x'",
    "UPDATE t SET a = 'x' WHERE id = 1",
    "SELECT pg_sleep(10)",
    "SELECT set_config('search_path', '', false)",
    "SET statement_timeout = 100",
    "SET standard_conforming_strings = 'off'",
    "SELECT 'a'b",
    "SELECT (1)",
    "'x'",
    "1",
    "",
]


@pytest.mark.parametrize("text", KEYED_ADVERSARIAL)
def test_literals_the_regex_understands_are_blanked_soundly(text: str) -> None:
    assert assert_sound(text, "postgres", ON) is not None


MY_FALLS_BACK = [
    "SELECT `x 'a' y` FROM t",
    "SELECT \"x 'a' y\" FROM t",
    "SELECT 'abc' [",
    "SELECT 'abc' ]",
    "SELECT 'abc' #",
    "SELECT 1 # ' comment",
    "SELECT 1 -- ' comment",
    "SELECT 1--1",
    "SELECT 1 /*! , SLEEP(1) */",
    "SELECT 1 /*!50000 , SLEEP(1) */",
    "SELECT 1 /*M! , SLEEP(1) */",
    "SELECT /*+ SET_VAR(sort_buffer_size = 16M) */ 1",
    'SELECT "it\'s" FROM t',
    "SELECT `a'b` FROM t",
    "SELECT @'x', @\"y\"",
    "SELECT @1",
    "SELECT @a.'b'",
    "SELECT \\N",
    "SELECT N'abc', _utf8'abc', x'1F', b'01'",
    "SELECT 0x1F, 0b01, 1e5, .5, 1.",
    "SELECT 1abc",
    "PREPARE s FROM 'DELETE FROM t'",
    "prepare s from 'SELECT 1'",
    "SELECT 'a' FROM t WHERE b = 1 #",
    "SELECT a[1]",
    "SELECT {d '2020-01-01'}",
    "SELECT $1",
]


@pytest.mark.parametrize("text", MY_FALLS_BACK)
def test_what_the_regex_does_not_understand_falls_back_in_mysql(text: str) -> None:
    for parse in SETTINGS["mysql"]:
        assert assert_sound(text, "mysql", parse) is None or parse.no_backslash_escapes


MY_KEYED = [
    "SELECT 'a\\\nb' FROM t",
    "SELECT * FROM t WHERE a = 'it''s' AND b = 'it\\'s' AND c = 1.5",
    "SELECT 'a\\\\', 'b\\n', '--', '/*!', '#', '\"', '`' FROM t",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') ON DUPLICATE KEY UPDATE b = 'z'",
    "SET @a := 1, @b = 'x', autocommit = 0",
    "SELECT @@session.sql_mode, @a1 FROM t1 WHERE c2 = -1",
    "SELECT SLEEP(10)",
    "SET sql_mode = 'ANSI_QUOTES'",
    "SELECT a INTO OUTFILE '/tmp/x' FROM t",
    "SELECT 1;UPDATE t SET a = 'x'",
    "SELECT a FROM t WHERE b IN (1, 2, 3) LIMIT 10, 20",
    "SELECT a <=> 1, b != 2, c <> 3, d && e, f || g, ~h, i ^ 4, j & 5, k | 6",
    "SELECT ? , ? FROM t",
]


@pytest.mark.parametrize("text", MY_KEYED)
def test_mysql_literals_the_regex_understands_are_blanked_soundly(text: str) -> None:
    assert assert_sound(text, "mysql", MY) is not None
    for parse in SETTINGS["mysql"]:
        assert_sound(text, "mysql", parse)


def test_keys_tell_strings_from_numbers_and_keep_names() -> None:
    def key(text: str) -> str | None:
        return fast_key(text, "postgres", ON)

    assert key("SELECT 1") != key("SELECT '1'")
    assert key("SELECT t1 FROM t") != key("SELECT t2 FROM t")
    assert key("SELECT 1 FROM t") == key("SELECT 2.75 FROM t")
    assert key("SELECT 'a' FROM t") == key("SELECT 'it''s -- /* $$' FROM t")


def test_backslashes_fall_back_only_when_they_may_escape() -> None:
    text = "SELECT 'a\\' FROM t"
    assert fast_key(text, "postgres", ON) is not None
    assert fast_key(text, "postgres", OFF) is None


def test_long_texts_and_other_dialects_have_no_key() -> None:
    assert fast_key("SELECT 1" + " " * MAX_CHARS, "postgres", ON) is None
    assert fast_key("SELECT 1", "sqlite", ParseSettings()) is None


def test_mysql_backslashes_follow_the_sql_mode() -> None:
    text = "SELECT 'a\\'; DELETE FROM t; -- '"  # one string, or a DELETE and a comment
    assert fast_key(text, "mysql", MY) == "SELECT \x01"
    assert fast_key(text, "mysql", MY_NO_ESCAPES) is None
    assert_sound(text, "mysql", MY)
    text = "SELECT 'a\\' FROM t WHERE b = '"  # one string, or two strings and a quote
    assert fast_key(text, "mysql", MY) == "SELECT \x01"
    assert fast_key(text, "mysql", MY_NO_ESCAPES) is None


def test_a_classifier_with_a_small_max_chars_still_refuses_by_length() -> None:
    short = Classifier(max_chars=10)
    assert short.classify("SELECT 1 FROM t", "postgres").kind.value == "unknown"


# ----------------------------------------------------------------- random texts

FRAGMENTS = [
    "'",
    "''",
    '"',
    "$",
    "$$",
    "$1",
    "--",
    "-",
    "/*",
    "*/",
    "/",
    "*",
    "\\",
    "E",
    "e",
    "U&",
    "N",
    "x",
    "b",
    "t1",
    "1",
    "12",
    "1e5",
    ".",
    ".5",
    "0x1F",
    "_",
    " ",
    "\n",
    "(",
    ")",
    ",",
    ";",
    "::",
    "=",
    "<>",
    "|",
    "SELECT ",
    " FROM ",
    "a",
    "é",
    "\x00",
    "\x01",
    "{",
    "uescape",
]
RANDOM_TEXT = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=RANDOM_TEXT, standard=st.booleans())
@example(text="SELECT 1e+5.5", standard=True)
@example(text="SELECT 1e+5", standard=True)
def test_random_texts_key_decides_tokens(text: str, standard: bool) -> None:
    assert_sound(text, "postgres", ON if standard else OFF)


MY_FRAGMENTS = [
    *FRAGMENTS,
    "#",
    "`",
    "@",
    "@@",
    "/*!",
    "/*!50000",
    "/*M!",
    "/*+",
    "-- ",
    "\\N",
    "_utf8",
    "PREPARE s FROM ",
    "?",
    ":=",
    "{",
    "0b1",
    "1abc",
    "[",
    "]",
    "}",
    " 'x' ",
]
MY_RANDOM_TEXT = st.lists(st.sampled_from(MY_FRAGMENTS), max_size=25).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=MY_RANDOM_TEXT, parse=st.sampled_from(SETTINGS["mysql"]))
@example(text="SELECT @1", parse=MY)
@example(text="PREPARE s FROM 'DELETE FROM t'", parse=MY)
def test_random_mysql_texts_key_decides_tokens(text: str, parse: ParseSettings) -> None:
    assert_sound(text, "mysql", parse)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), dialect=st.sampled_from(["postgres", "mysql"]))
def test_arbitrary_unicode_key_decides_tokens(text: str, dialect: str) -> None:
    assert_key_decides_tokens(text, dialect, ParseSettings())


# ----------------------------------------------------------------- the memos


def test_the_memo_is_dropped_with_the_analysis_cache_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warm = Classifier()
    first = warm.classify("SELECT a FROM t WHERE b = 1", "postgres")
    assert warm.classify("SELECT a FROM t WHERE b = 2", "postgres") is first
    warm.cache.clear()
    assert warm.classify("SELECT a FROM t WHERE b = 3", "postgres") is not first
    monkeypatch.setattr(classifier_module, "FAST_MEMO_ENTRIES", 2)
    for n in range(5):
        warm.classify(f"SELECT a{n} FROM t WHERE b = 1", "postgres")
        assert len(warm._fast) <= 2


def test_a_catalog_or_a_registry_bypasses_the_memo() -> None:
    warm = Classifier()
    plain = warm.classify("SELECT f(1) FROM t", "postgres")
    assert plain.kind.value == "write"  # an unknown function may write
    catalog = DictFunctionCatalog({"f": "stable"})
    assert warm.classify("SELECT f(2) FROM t", "postgres", catalog=catalog).kind.value == "read"
