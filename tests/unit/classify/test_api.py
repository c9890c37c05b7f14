"""The public API: result shape, session facts, and failing closed."""

from __future__ import annotations

from typing import Any

import pytest

from wardgate.classify import (
    FLAGS,
    KINDS,
    Classifier,
    DictFunctionCatalog,
    DictPreparedRegistry,
    Kind,
    classify,
    cli_payload,
)
from wardgate.classify.function_data import MYSQL_DENY, MYSQL_DENY_PREFIXES, POSTGRES_DENY
from wardgate.classify.model import strictest
from wardgate.classify.statements import FLOORS


def test_to_json_has_the_documented_shape() -> None:
    payload = classify("SELECT 1; DELETE FROM t", "postgres").to_json()
    assert {"kind", "flags", "tables", "functions", "statements"} <= payload.keys()
    assert payload["kind"] == "write"
    assert payload["flags"] == sorted(payload["flags"])
    assert payload["tables"] == [{"name": "t", "role": "write"}]
    assert [s["kind"] for s in payload["statements"]] == ["read", "write"]
    for statement in payload["statements"]:
        assert {"kind", "flags", "tables", "functions"} <= statement.keys()


def test_cli_payload_names_the_dialect() -> None:
    payload = cli_payload("SELECT SLEEP(1)", "mysql")
    assert payload["dialect"] == "mysql"
    assert payload["kind"] == "read"
    assert payload["flags"] == ["dos"]


def test_an_unsupported_dialect_is_an_error() -> None:
    with pytest.raises(ValueError, match="dialect"):
        classify("SELECT 1", "oracle")


def test_strictness_order() -> None:
    assert KINDS == ("read", "session", "write", "ddl", "admin", "unknown")
    assert strictest([Kind.READ, Kind.UNKNOWN, Kind.ADMIN]) is Kind.UNKNOWN
    assert strictest([Kind.SESSION, Kind.WRITE]) is Kind.WRITE
    assert strictest([]) is Kind.READ


def test_a_crashing_parser_fails_closed() -> None:
    def explode(sql: str, dialect: str) -> Any:
        raise RuntimeError("boom")

    assert Classifier(parse=explode).classify("SELECT 1", "postgres").kind is Kind.UNKNOWN


def test_a_parser_returning_garbage_fails_closed() -> None:
    def odd(sql: str, dialect: str) -> Any:
        return object()

    assert Classifier(parse=odd).classify("SELECT 1", "postgres").kind is Kind.UNKNOWN


def test_a_failing_catalog_counts_as_no_answer() -> None:
    class Broken:
        def volatility(self, name: str) -> Any:
            raise OSError("catalog down")

    result = classify("SELECT f(1)", "postgres", catalog=Broken())
    assert result.kind is Kind.WRITE
    assert "side_effect_function" in result.flags


def test_catalog_decides_database_functions() -> None:
    catalog = DictFunctionCatalog({"fmt_name": "immutable", "audit.touch": "volatile"})
    assert classify("SELECT fmt_name(a) FROM t", "postgres", catalog=catalog).kind is Kind.READ
    touched = classify("SELECT audit.touch(a) FROM t", "postgres", catalog=catalog)
    assert touched.kind is Kind.WRITE


def test_prepare_then_execute_through_a_registry() -> None:
    registry = DictPreparedRegistry("mysql")
    prepared = classify("PREPARE Del FROM 'DELETE FROM t WHERE id = ?'", "mysql")
    statement = prepared.statements[0]
    assert statement.prepared_name == "del"
    registry.register(statement.prepared_name or "", statement)
    result = classify("EXECUTE DEL USING @id", "mysql", registry=registry)
    assert result.kind is Kind.WRITE
    assert [t.name for t in result.tables] == ["t"]
    registry.forget("del")
    assert classify("EXECUTE del", "mysql", registry=registry).kind is Kind.UNKNOWN


def test_text_over_the_limit_is_unknown() -> None:
    classifier = Classifier(max_chars=100)
    assert classifier.classify("SELECT 1 " + " " * 200, "postgres").kind is Kind.UNKNOWN


def test_deeply_nested_text_is_unknown_not_a_crash() -> None:
    sql = "SELECT " + "(" * 3000 + "1" + ")" * 3000
    assert classify(sql, "postgres", classifier=Classifier()).kind is Kind.UNKNOWN


def test_conditional_comments_take_the_stricter_reading() -> None:
    result = classify("DELETE FROM t /*!99999 WHERE id = 1 */", "mysql")
    assert result.kind is Kind.WRITE
    assert "no_where" in result.flags  # the server may not run the WHERE


def test_rule_tables_only_use_the_flag_vocabulary() -> None:
    for table in (POSTGRES_DENY, MYSQL_DENY, MYSQL_DENY_PREFIXES):
        for _kind, flags, _why in table.values():
            assert flags <= FLAGS
    for floors in FLOORS.values():
        for _words, _kind, flags, _why in floors:
            assert set(flags) <= FLAGS


def test_reasons_explain_the_kind() -> None:
    result = classify("SET ROLE postgres", "postgres")
    assert result.reasons == ("changes the acting role",)


def test_registry_observes_prepare_statements() -> None:
    registry = DictPreparedRegistry("postgres")
    registry.observe(classify("PREPARE q AS SELECT * FROM t; SELECT 1", "postgres").statements)
    result = classify("EXECUTE q", "postgres", registry=registry)
    assert result.kind is Kind.READ
    assert [t.name for t in result.tables] == ["t"]
