"""Reaching the upstream: scram, md5, unix sockets, TLS modes, secrets, and failures."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway, make_token
from support.pgcluster import PgCluster
from support.pgwire import RawPg, error_of

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def whoami(gateway: Gateway, resource: str) -> tuple[Any, ...]:
    with psycopg.connect(gateway.dsn(resource, dbname="app"), connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), "
            "coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)"
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize(
    ("resource", "upstream_tls"),
    [
        ("scram", False),
        ("scram_unix", False),
        ("scram_require", True),
        ("scram_prefer", True),
        ("scram_verify", True),
        ("md5", False),
        ("md5_unix", False),
        ("md5_env", False),
        ("md5_file", False),
    ],
)
def test_upstream_login(cluster_gateway: Gateway, resource: str, upstream_tls: bool) -> None:
    assert whoami(cluster_gateway, resource) == ("app_user", "app", upstream_tls)


def test_upstream_verify_full_rejects_unknown_ca(cluster_gateway: Gateway) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(cluster_gateway.dsn("scram_wrong_ca", dbname="app"), connect_timeout=10)
    assert "upstream" in str(info.value), str(info.value)
    record = cluster_gateway.wait_for_event(
        lambda r: r["event"] == "upstream_failed" and r.get("resource") == "scram_wrong_ca"
    )
    assert "certificate" in str(record).lower(), record


@pytest.mark.parametrize(
    ("resource", "cluster_name", "method"),
    [("scram", "scram_cluster", "scram-sha-256"), ("md5", "md5_cluster", "md5")],
)
def test_upstream_auth_method_used(
    cluster_gateway: Gateway,
    request: pytest.FixtureRequest,
    resource: str,
    cluster_name: str,
    method: str,
) -> None:
    cluster: PgCluster = request.getfixturevalue(cluster_name)
    offset = cluster.log_size()
    whoami(cluster_gateway, resource)
    time.sleep(0.1)
    assert f'identity="app_user" method={method}' in cluster.log_since(offset)


def test_wrong_upstream_password(cluster_gateway: Gateway, scram_cluster: PgCluster) -> None:
    offset = scram_cluster.log_size()
    events_before = len(cluster_gateway.events())
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(cluster_gateway.dsn("scram_badpass", dbname="app"), connect_timeout=10)
    message = str(info.value)
    assert "upstream" in message, message
    assert "password authentication failed" in message, message
    assert "not-the-password" not in message
    assert 'password authentication failed for user "app_user"' in scram_cluster.log_since(offset)
    cluster_gateway.wait_for_event(
        lambda r: r["event"] == "upstream_failed" and r.get("resource") == "scram_badpass",
        start=events_before,
    )
    assert "not-the-password" not in cluster_gateway.stderr_text()


def test_upstream_down(machine_gateway: Gateway) -> None:
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(machine_gateway.dsn("pg_down"), connect_timeout=10)
    assert time.monotonic() - started < 8
    assert "upstream" in str(info.value), str(info.value)
    machine_gateway.wait_for_event(
        lambda r: r["event"] == "upstream_failed" and r.get("resource") == "pg_down"
    )
    # and the gateway is still serving
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_machine_server_over_unix_socket(machine_gateway: Gateway) -> None:
    with psycopg.connect(machine_gateway.dsn("pg_unix")) as conn:
        row = conn.execute("SELECT current_user, inet_server_addr() IS NULL").fetchone()
    assert row is not None
    assert row == ("postgres", True)  # no server address: the backend sits on a unix socket


def test_database_not_offered(machine_gateway: Gateway) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(machine_gateway.dsn("pg", dbname="template1"), connect_timeout=10)
    assert "template1" in str(info.value), str(info.value)


def test_wrong_token_opens_no_upstream_connection(
    cluster_gateway: Gateway, scram_cluster: PgCluster
) -> None:
    whoami(cluster_gateway, "scram")  # any connection logging from earlier tests is flushed
    time.sleep(0.2)
    offset = scram_cluster.log_size()
    for bad in ["wrong-token", cluster_gateway.token + "x", make_token().secret]:
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(
                cluster_gateway.dsn("scram", token=bad, dbname="app"), connect_timeout=10
            )
        assert (
            sqlstate(info.value) == "28P01"
            or "28P01" in str(info.value)
            or ("authentication failed" in str(info.value))
        ), str(info.value)
    time.sleep(0.3)
    assert "connection received" not in scram_cluster.log_since(offset)
    failures = [r for r in cluster_gateway.events("auth_failed") if r.get("resource") == "scram"]
    assert len(failures) >= 3
    assert cluster_gateway.token + "x" not in cluster_gateway.stderr_text()


@pytest.mark.parametrize("token", ["definitely-wrong", "", "x" * 5000])
def test_wrong_token_sqlstate_raw(machine_gateway: Gateway, token: str) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        error = error_of(raw.login(token, database="postgres"))
    assert error is not None
    assert error.sqlstate == "28P01"
    assert error.fields["S"] == "FATAL"


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None)
