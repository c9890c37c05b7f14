"""Fingerprint soundness: literal values never change the fingerprint or the verdict.

The cache is keyed by fingerprint, so two texts with the same fingerprint must
classify the same. These properties fill literal slots of statement templates with
random values (quoted the way each server quotes them) and random comments and
whitespace, and check that the fingerprint and the classification do not move.
"""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.classify import Classifier, ParseSettings, classify, statement_fingerprint
from wardgate.classify.lexer import lex

TEMPLATES = {
    "postgres": [
        "SELECT * FROM orders WHERE id = {n} AND note = {s}",
        "INSERT INTO t (a, b) VALUES ({n}, {s}), ({n}, {s})",
        "UPDATE t SET a = {s} WHERE id = {n}",
        "SELECT set_config({s}, {s}, false)",
        "SELECT pg_sleep({n})",
        "SET statement_timeout = {s}",
        "SET standard_conforming_strings = {s}",
        "COPY t TO {s}",
        "SELECT my_func({s}) FROM t LIMIT {n}",
        "SELECT {s} || {s}; DELETE FROM t WHERE a = {s}",
        "EXPLAIN SELECT * FROM t WHERE a = {s}",
        "DO {s}",
    ],
    "mysql": [
        "SELECT * FROM orders WHERE id = {n} AND note = {s}",
        "INSERT INTO t VALUES ({n}, {s}) ON DUPLICATE KEY UPDATE b = {s}",
        "SELECT SLEEP({n})",
        "SET sql_mode = {s}",
        "SET @a = {s}, autocommit = {n}",
        "SELECT a INTO OUTFILE {s} FROM t",
        "LOAD DATA INFILE {s} INTO TABLE t",
        "SELECT {s}; UPDATE t SET a = {s}",
        "SELECT 1 /*!50000 , SLEEP({n}) */",
    ],
}

TEXT = st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=30)
NUMBER = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.decimals(min_value=0, max_value=10**6, allow_nan=False, places=3).map(str),
)


def pg_string(value: str, style: int) -> str:
    if style == 0:
        return "'" + value.replace("'", "''") + "'"
    if style == 1:
        return "E'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    tag = "$q$"
    return (
        tag + value + tag
        if tag not in value and not value.endswith("$q")
        else "'" + value.replace("'", "''") + "'"
    )


def mysql_string(value: str, style: int) -> str:
    quote = "'" if style != 1 else '"'
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def fill(template: str, dialect: str, data: st.DataObject) -> str:
    quote = pg_string if dialect == "postgres" else mysql_string
    out = template
    while "{s}" in out or "{n}" in out:
        if "{s}" in out and (out.index("{s}") < out.index("{n}") if "{n}" in out else True):
            literal = quote(data.draw(TEXT), data.draw(st.integers(0, 2)))
            out = out.replace("{s}", literal, 1)
        else:
            out = out.replace("{n}", data.draw(NUMBER), 1)
    return out


CASES = [(dialect, template) for dialect, templates in TEMPLATES.items() for template in templates]


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_random_literals_keep_fingerprint_and_verdict(
    case: tuple[str, str], data: st.DataObject
) -> None:
    dialect, template = case
    reference = classify(template.replace("{s}", "'x'").replace("{n}", "1"), dialect)
    filled = classify(fill(template, dialect, data), dialect, classifier=Classifier())
    assert filled.fingerprint == reference.fingerprint
    assert filled.to_json() == reference.to_json()


COMMENTS = {
    "postgres": st.sampled_from([" ", "\n\t", " /* c */ ", " /* a /* nested */ b */ ", " -- x\n"]),
    "mysql": st.sampled_from([" ", "\n\t", " /* c */ ", " # x\n", " -- x\n"]),
}


PLAIN_CASES = [case for case in CASES if "/*" not in case[1]]  # no comments in comments


@settings(max_examples=100, deadline=None)
@given(case=st.sampled_from(PLAIN_CASES), data=st.data())
def test_comments_and_whitespace_do_not_change_the_fingerprint(
    case: tuple[str, str], data: st.DataObject
) -> None:
    dialect, template = case
    text = template.replace("{s}", "'x'").replace("{n}", "1")
    spaced = "".join(
        word + (data.draw(COMMENTS[dialect]) if index % 2 else " ")
        for index, word in enumerate(text.split(" "))
    )
    assert classify(spaced, dialect).to_json() == classify(text, dialect).to_json()


@given(st.text(alphabet=string.printable, max_size=60))
def test_any_text_classifies_without_raising(text: str) -> None:
    for dialect in ("postgres", "mysql"):
        result = classify(text, dialect, classifier=Classifier())
        assert result.kind.value in {"read", "write", "ddl", "admin", "session", "unknown"}


def test_fingerprint_replaces_literals_and_keeps_names() -> None:
    result = classify("SELECT a, 'x', 42, $$y$$ FROM \"T\" WHERE b = E'z'", "postgres")
    assert result.fingerprint == "select a , '?' , 0 , '?' from \"T\" where b = '?'"


def test_fingerprint_collapses_bulk_values_rows() -> None:
    one = classify("INSERT INTO t VALUES (1, 'a')", "postgres")
    many = classify("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, E'c')", "postgres")
    assert one.fingerprint == many.fingerprint == "insert into t values ( 0 , '?' )"


def test_mysql_prepare_keeps_its_sql_text() -> None:
    first = classify("PREPARE s FROM 'SELECT 1'", "mysql")
    second = classify("PREPARE s FROM 'DELETE FROM t'", "mysql")
    assert first.fingerprint != second.fingerprint
    assert (first.kind.value, second.kind.value) == ("read", "write")


def test_settings_change_the_cut_and_the_fingerprint() -> None:
    sql = "SELECT 'a\\'; DELETE FROM t; -- '"
    standard = classify(sql, "postgres")
    escaping = classify(sql, "postgres", settings=ParseSettings(standard_conforming_strings=False))
    assert len(standard.statements) == 2
    assert len(escaping.statements) == 1
    assert standard.fingerprint != escaping.fingerprint


def test_fingerprint_is_idempotent() -> None:
    for dialect, template in CASES:
        text = template.replace("{s}", "'x'").replace("{n}", "1")
        for statement in classify(text, dialect).statements:
            tokens = lex(statement.fingerprint, dialect, ParseSettings()).tokens
            assert statement_fingerprint(tokens, dialect) == statement.fingerprint
