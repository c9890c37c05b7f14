"""Which StartupMessage parameters reach the upstream (`startup_params.vet_startup`).

A start-up parameter becomes an upstream session setting before policy sees any
statement, so everything here is an allow-list; these tests hold it to that from
the client's side: what passes, what is refused, and with which SQLSTATE.
"""

from __future__ import annotations

import pytest

from wardgate_postgres.startup_params import (
    StartupRefused,
    VettedStartup,
    parse_options,
    vet_startup,
)

BASE = {"user": "alice", "database": "orders"}


def vet(**parameters: str) -> VettedStartup:
    return vet_startup({**BASE, **parameters})


def refused(**parameters: str) -> StartupRefused:
    with pytest.raises(StartupRefused) as caught:
        vet(**parameters)
    return caught.value


# -- what passes -------------------------------------------------------------------------


def test_typical_driver_startup_passes_and_is_forwarded() -> None:
    vetted = vet(
        application_name="psql",
        client_encoding="UTF8",
        DateStyle="ISO, MDY",
        TimeZone="UTC",
        extra_float_digits="3",
    )
    assert (vetted.user, vetted.database, vetted.application_name) == ("alice", "orders", "psql")
    assert vetted.forwarded == {
        "application_name": "psql",
        "client_encoding": "UTF8",
        "DateStyle": "ISO, MDY",
        "TimeZone": "UTC",
        "extra_float_digits": "3",
    }
    assert vetted.protocol_extensions == ()


def test_user_and_database_are_consumed_not_forwarded() -> None:
    vetted = vet()
    assert vetted.forwarded == {}
    assert (vetted.user, vetted.database, vetted.application_name) == ("alice", "orders", "")


def test_missing_user_and_database_are_empty() -> None:
    vetted = vet_startup({})
    assert (vetted.user, vetted.database) == ("", "")


@pytest.mark.parametrize(
    "name",
    [
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
        "bytea_output",
        "IntervalStyle",
        "client_min_messages",
        "fallback_application_name",
    ],
)
def test_safe_settings_pass(name: str) -> None:
    assert vet(**{name: "x"}).forwarded == {name: "x"}


@pytest.mark.parametrize("encoding", ["UTF8", "utf8", "UTF-8", "'utf8'", "unicode", "SQL_ASCII"])
def test_safe_client_encodings_pass(encoding: str) -> None:
    assert vet(client_encoding=encoding).forwarded["client_encoding"] == encoding


def test_options_settings_are_forwarded_as_parameters() -> None:
    vetted = vet(options="-c statement_timeout=5s -cDateStyle=ISO --lock-timeout=1s")
    assert vetted.forwarded == {
        "statement_timeout": "5s",
        "DateStyle": "ISO",
        "lock_timeout": "1s",
    }
    assert "options" not in vetted.forwarded


def test_options_backslash_escaped_space_stays_in_the_value() -> None:
    vetted = vet(options=r"-c application_name=my\ app\ -c\ role=admin")
    assert vetted.forwarded == {"application_name": "my app -c role=admin"}


def test_options_whitespace_is_flexible() -> None:
    assert parse_options("  -c\tjit=off \n -c  geqo=on  ") == [("jit", "off"), ("geqo", "on")]
    assert parse_options("") == []


# -- what is refused ---------------------------------------------------------------------

DANGEROUS = [
    "role",
    "session_authorization",
    "default_transaction_read_only",
    "standard_conforming_strings",
    "search_path",
    "backslash_quote",
    "session_replication_role",
    "ROLE",
]


@pytest.mark.parametrize("name", DANGEROUS)
def test_dangerous_setting_refused(name: str) -> None:
    error = refused(**{name: "x"})
    assert error.sqlstate == "42501"
    assert f'"{name}"' in error.message


@pytest.mark.parametrize("name", DANGEROUS)
@pytest.mark.parametrize(
    "template",
    ["-c {name}=x", "-c{name}=x", "--{name}=x", "-c jit=off -c {name}=x", "-c\t{name}=x"],
)
def test_dangerous_setting_hidden_in_options_refused(template: str, name: str) -> None:
    error = refused(options=template.format(name=name))
    assert error.sqlstate == "42501"
    assert error.message.startswith("options ")


@pytest.mark.parametrize(
    "options",
    [
        "--session-authorization=postgres",
        "--default-transaction-read-only=off",
        r"-c search_path=public,\ evil",
        r"-c\ role=admin",
        r"-c r\ole=admin",
        r"-c\ application_name=x\ -c\ role=admin\ ",
    ],
)
def test_dangerous_setting_refused_with_dashes_or_escapes(options: str) -> None:
    assert refused(options=options).sqlstate == "42501"


@pytest.mark.parametrize(
    "options",
    ["-D /tmp", "-P", "-d 5", "-B 100", "-e", "-c", "-c role", "--role", "application_name=x"],
)
def test_non_setting_options_refused(options: str) -> None:
    error = refused(options=options)
    assert error.sqlstate == "08P01"
    assert "not allowed" in error.message or "no value" in error.message


@pytest.mark.parametrize(
    "encoding", ["GBK", "gbk", "SJIS", "Shift_JIS", "BIG5", "GB18030", "'gbk'", " BIG5 ", "UHC"]
)
def test_multibyte_encodings_with_backslash_trail_bytes_refused(encoding: str) -> None:
    error = refused(client_encoding=encoding)
    assert error.sqlstate == "22021"
    assert "UTF8" in error.message


@pytest.mark.parametrize("options", ["-c client_encoding=GBK", "--client-encoding=sjis"])
def test_multibyte_encoding_in_options_refused(options: str) -> None:
    assert refused(options=options).sqlstate == "22021"


@pytest.mark.parametrize("encoding", ["LATIN1", "EUC_JP", "WIN1252", "auto"])
def test_other_encodings_unsupported(encoding: str) -> None:
    error = refused(client_encoding=encoding)
    assert error.sqlstate == "08P01"
    assert "not supported" in error.message


@pytest.mark.parametrize("value", ["database", "true", "1", "on", "yes", "TRUE", " Database "])
def test_replication_refused(value: str) -> None:
    error = refused(replication=value)
    assert error.sqlstate == "42501"
    assert "replication" in error.message


@pytest.mark.parametrize("value", ["false", "0", "off", "no", "", "FALSE"])
def test_replication_false_is_ok_and_not_forwarded(value: str) -> None:
    assert "replication" not in vet(replication=value).forwarded


# -- protocol extensions -----------------------------------------------------------------


def test_protocol_extensions_collected_not_forwarded() -> None:
    vetted = vet(**{"_pq_.compression": "on", "_pq_.other": "x", "application_name": "a"})
    assert vetted.protocol_extensions == ("_pq_.compression", "_pq_.other")
    assert vetted.forwarded == {"application_name": "a"}
