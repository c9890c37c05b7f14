"""The fingerprint cache: a repeated shape never reaches the parser again."""

from __future__ import annotations

from typing import Any

import pytest

from wardgate.classify import ClassificationCache, Classifier, ParseSettings, parse_with_sqlglot


class CountingParser:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, sql: str, dialect: str) -> Any:
        self.calls.append(sql)
        return parse_with_sqlglot(sql, dialect)


def test_a_repeated_shape_is_parsed_once() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    for n in range(50):
        classifier.classify(f"SELECT * FROM orders WHERE id = {n} AND note = 'n{n}'", "postgres")
    assert len(parser.calls) == 1
    assert classifier.cache.stats.hits == 49


def test_each_statement_of_a_string_is_cached_on_its_own() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    classifier.classify("SELECT 1; DELETE FROM t WHERE id = 1", "postgres")
    classifier.classify("DELETE FROM t WHERE id = 2; SELECT 2", "postgres")
    assert len(parser.calls) == 2


def test_nested_statements_are_not_reparsed_on_a_hit() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    classifier.classify("EXPLAIN ANALYZE DELETE FROM t WHERE id = 1", "postgres")
    first = len(parser.calls)
    classifier.classify("EXPLAIN ANALYZE DELETE FROM t WHERE id = 99", "postgres")
    assert first >= 1
    assert len(parser.calls) == first


def test_settings_and_dialect_are_part_of_the_key() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    classifier.classify("SELECT 'a'", "postgres")
    classifier.classify(
        "SELECT 'a'", "postgres", settings=ParseSettings(standard_conforming_strings=False)
    )
    classifier.classify("SELECT 'a'", "mysql")
    assert len(parser.calls) == 3
    assert len(classifier.cache) == 3


def test_session_facts_are_applied_after_the_cache() -> None:
    classifier = Classifier()
    first = classifier.classify("SELECT * FROM other.t", "mysql", database="shop")
    second = classifier.classify("SELECT * FROM other.t", "mysql", database="other")
    assert "cross_db" in first.flags
    assert "cross_db" not in second.flags
    assert classifier.cache.stats.hits == 1


def test_the_cache_is_bounded() -> None:
    cache = ClassificationCache(max_entries=2)
    classifier = Classifier(cache=cache)
    for table in ("a", "b", "c"):
        classifier.classify(f"SELECT * FROM {table}", "postgres")
    assert len(cache) == 2
    assert cache.stats.evictions == 1


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ClassificationCache(max_entries=0)


def test_unknown_results_are_cached_too() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    for n in range(3):
        assert classifier.classify(f"SELECT {n} %%% 2", "postgres").kind.value == "unknown"
        assert classifier.classify(f"MERGE weird {n}", "mysql").kind.value == "unknown"
    assert len(parser.calls) == 0
    assert classifier.cache.stats.hits == 4


def test_huge_fingerprints_are_not_kept() -> None:
    classifier = Classifier(cache=ClassificationCache(max_key_chars=50))
    classifier.classify("SELECT a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p FROM t", "postgres")
    classifier.classify("SELECT 1", "postgres")
    assert len(classifier.cache) == 1


def test_literal_lists_and_bulk_rows_share_a_fingerprint() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    for size in range(1, 30):
        values = ", ".join(f"({n}, 'v{n}', NULL)" for n in range(size))
        classifier.classify(f"INSERT INTO t VALUES {values}", "postgres")
        in_list = ", ".join(str(n) for n in range(size))
        classifier.classify(f"SELECT * FROM t WHERE id IN ({in_list})", "postgres")
    assert len(parser.calls) == 2


def test_the_shape_memo_answers_as_a_fresh_classifier_does() -> None:
    warm = Classifier()
    texts = [
        "SELECT abalance FROM pgbench_accounts WHERE aid = 1",
        "SELECT abalance FROM pgbench_accounts WHERE aid = 2",
        "select abalance from pgbench_accounts where aid = 3; DELETE FROM t WHERE id = 4",
        "SELECT abalance FROM pgbench_accounts WHERE aid = 'x'",
        "UPDATE t SET a = 5 WHERE id = 6",
    ]
    for text in texts * 2:
        assert warm.classify(text, "postgres") == Classifier().classify(text, "postgres")
        for database in ("db1", "db2"):
            expected = Classifier().classify(text, "postgres", database=database)
            assert warm.classify(text, "postgres", database=database) == expected


def test_clearing_the_cache_drops_the_shape_memo() -> None:
    parser = CountingParser()
    classifier = Classifier(parse=parser)
    classifier.classify("SELECT * FROM orders WHERE id = 1 AND note = 'a'", "postgres")
    classifier.cache.clear()
    classifier.classify("SELECT * FROM orders WHERE id = 2 AND note = 'b'", "postgres")
    assert len(parser.calls) == 2
