"""`CommandClassifier`: parse settings from attributes, uncertain settings, non-SQL commands."""

from __future__ import annotations

from wardgate.classify.context import ParseSettings
from wardgate.policy.commands import CommandClassifier, parse_settings, settings_variants
from wardgate.policy.functions import CatalogFunctions
from wardgate.seam import CatalogFunction, Command

classify = CommandClassifier()
SMUGGLE = "SELECT 'a\\'; DELETE FROM t; -- '"  # one string, or a DELETE, by setting


def pg(sql: str, **attributes: str) -> Command:
    return Command("query", sql, "postgres", attributes=attributes)


def my(sql: str, **attributes: str) -> Command:
    return Command("query", sql, "mysql", attributes=attributes)


def test_defaults_are_the_servers() -> None:
    assert parse_settings({}) == ParseSettings()
    assert settings_variants({}) == (ParseSettings(),)


def test_either_yields_both_values() -> None:
    variants = settings_variants({"standard_conforming_strings": "either", "ansi_quotes": "on"})
    assert {v.standard_conforming_strings for v in variants} == {True, False}
    assert all(v.ansi_quotes for v in variants)


def test_postgres_lexes_as_the_server_reports() -> None:
    assert classify(pg(SMUGGLE, standard_conforming_strings="on")).kind.value == "write"
    assert classify(pg(SMUGGLE, standard_conforming_strings="off")).kind.value == "read"


def test_unsettled_postgres_takes_the_strictest_reading() -> None:
    result = classify(pg(SMUGGLE, standard_conforming_strings="either"))
    assert result.kind.value == "write"
    assert "classified under each" in result.reasons[-1]


def test_readings_that_agree_are_one() -> None:
    result = classify(pg("SELECT 1", standard_conforming_strings="either"))
    assert (result.kind.value, len(result.statements)) == ("read", 1)


def test_mysql_no_backslash_escapes_from_the_status_flag() -> None:
    assert classify(my(SMUGGLE, no_backslash_escapes="off")).kind.value == "read"
    assert classify(my(SMUGGLE, no_backslash_escapes="on")).kind.value == "write"


def test_mysql_ansi_quotes_unknown_is_both() -> None:
    smuggle = 'SELECT "a\\"; DELETE FROM t; -- "'
    assert classify(my(smuggle, ansi_quotes="off")).kind.value == "read"
    assert classify(my(smuggle, ansi_quotes="either")).kind.value == "write"


def test_mysql_setting_change_inside_a_multi_statement_string() -> None:
    sql = "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; " + SMUGGLE
    result = classify(my(sql))
    assert any(s.kind.value == "write" for s in result.statements)


def test_init_db_is_a_session_command_flagged_cross_db_when_it_leaves() -> None:
    leave = Command("init_db", "other", "mysql", "other", {"current_database": "shop"})
    stay = Command("init_db", "shop", "mysql", "shop", {"current_database": "shop"})
    assert (classify(leave).kind.value, classify(leave).flags) == ("session", {"cross_db"})
    assert classify(stay).flags == frozenset()


def test_http_and_unknown_operations() -> None:
    assert classify(Command("request", "GET /", attributes={"method": "GET"})).kind.value == "read"
    assert classify(Command("request", "POST /", attributes={"method": "POST"})).kind.value == (
        "write"
    )
    assert classify(Command("telepathy", "x")).kind.value == "unknown"


def test_catalog_functions_make_stable_calls_reads() -> None:
    catalog = CatalogFunctions(
        [
            CatalogFunction("public", "totals", "stable"),
            CatalogFunction("public", "bump", "volatile"),
        ]
    )
    assert classify(pg("SELECT totals(1)"), catalog).kind.value == "read"
    assert classify(pg("SELECT bump(1)"), catalog).kind.value == "write"
    assert classify(pg("SELECT totals(1)")).kind.value == "write"  # no catalog: may write
