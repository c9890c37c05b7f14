"""`identity.end_sessions_at_expiry`: a session ends when the OIDC token that opened it
expires — with a clear error on both wires, in the log and the audit — and only then.

Real drivers, a real loopback issuer, the machine's PostgreSQL and MariaDB.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import psycopg
import pymysql
import pytest

from support.gateway import Gateway, Token, pg_resource
from support.oidc_issuer import OidcIssuer

from .conftest import identity_extra, oidc_config

LIFETIME = 3  # seconds a test token lives


def mysql_machine(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": {"host": "127.0.0.1", "port": 3306, "database": "mysql", "tls": "disable"},
        "credentials": {"static": {"user": "root", "password": ""}},
    }


@pytest.fixture(scope="module")
def expiring_gateway(
    session_gateway_factory: Any, issuer: OidcIssuer, agent_token: Token
) -> Gateway:
    extra = identity_extra([oidc_config(issuer, groups_claim="groups")], [agent_token], None)
    extra["identity"]["end_sessions_at_expiry"] = True
    return session_gateway_factory([pg_resource("pg"), mysql_machine("my")], extra_config=extra)


def short_token(issuer: OidcIssuer, sub: str) -> tuple[str, float]:
    expires = int(time.time()) + LIFETIME
    return issuer.mint(sub, ["agents"], exp=expires), float(expires)


def wait_past(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.5)


def session_end(gateway: Gateway, identity: str, start: int) -> dict[str, Any]:
    return gateway.wait_for_event(
        lambda r: r.get("event") == "session_end" and r.get("identity") == identity, start=start
    )


def test_a_postgres_session_ends_when_its_token_expires(
    expiring_gateway: Gateway, issuer: OidcIssuer
) -> None:
    start = len(expiring_gateway.events())
    token, expires = short_token(issuer, "pg-expiring")
    conn = psycopg.connect(expiring_gateway.dsn("pg", token=token), autocommit=True)
    try:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        wait_past(expires)
        with pytest.raises(psycopg.OperationalError) as caught:
            conn.execute("SELECT 2")
        assert "identity token that opened this session expired" in str(caught.value)
    finally:
        conn.close()
    ended = session_end(expiring_gateway, "pg-expiring", start)
    assert ended["reason"] == "token expired"
    assert ended["ts"] >= expires


def test_a_long_query_is_cut_at_expiry(expiring_gateway: Gateway, issuer: OidcIssuer) -> None:
    token, _ = short_token(issuer, "pg-long-query")
    with psycopg.connect(expiring_gateway.dsn("pg", token=token), autocommit=True) as conn:
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError) as caught:
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 15  # cut at expiry, not after the query
        assert "expired" in str(caught.value)


def test_a_mysql_session_ends_when_its_token_expires(
    expiring_gateway: Gateway, issuer: OidcIssuer
) -> None:
    """Idle at expiry, the client gets ERR 1927 naming the cause (libmariadb shows it;
    PyMySQL reports any packet with sequence 0 as a lost connection, 2013)."""
    import MySQLdb  # mysqlclient: libmariadb, as the mariadb command-line client

    start = len(expiring_gateway.events())
    token, expires = short_token(issuer, "my-expiring")
    login = {
        "host": "127.0.0.1",
        "port": expiring_gateway.port("my"),
        "user": "agent",
        "password": token,
        "database": "mysql",
    }
    c_client = MySQLdb.connect(**login)
    py_client = pymysql.connect(**login)
    try:
        for conn in (c_client, py_client):
            cursor = conn.cursor()
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        wait_past(expires)
        with pytest.raises(MySQLdb.OperationalError) as shown:
            c_client.cursor().execute("SELECT 2")
        assert shown.value.args[0] == 1927
        assert "identity token that opened this session expired" in shown.value.args[1]
        with pytest.raises(pymysql.err.OperationalError) as lost:
            py_client.cursor().execute("SELECT 2")
        assert lost.value.args[0] == 2013
    finally:
        for conn in (c_client, py_client):
            with contextlib.suppress(Exception):
                conn.close()
    session_end(expiring_gateway, "my-expiring", start)
    deadline = time.monotonic() + 5
    while True:
        ended = [
            r
            for r in expiring_gateway.events()[start:]
            if r.get("event") == "session_end" and r.get("identity") == "my-expiring"
        ]
        if len(ended) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [r["reason"] for r in ended] == ["token expired", "token expired"]


def test_static_tokens_and_long_lived_tokens_keep_their_sessions(
    expiring_gateway: Gateway, issuer: OidcIssuer, agent_token: Token
) -> None:
    long_lived = issuer.mint("pg-long-lived", ["agents"])  # expires in 5 minutes
    with (
        psycopg.connect(expiring_gateway.dsn("pg", token=long_lived), autocommit=True) as oidc,
        psycopg.connect(expiring_gateway.dsn("pg", token=agent_token.secret)) as static,
    ):
        time.sleep(LIFETIME + 0.5)
        assert oidc.execute("SELECT 1").fetchone() == (1,)
        assert static.execute("SELECT 1").fetchone() == (1,)


def test_by_default_a_session_outlives_its_token(
    gateway_factory: Any, issuer: OidcIssuer, agent_token: Token
) -> None:
    extra = identity_extra([oidc_config(issuer, groups_claim="groups")], [agent_token], None)
    gateway = gateway_factory([pg_resource("pg")], extra_config=extra)
    token, expires = short_token(issuer, "pg-default")
    with psycopg.connect(gateway.dsn("pg", token=token), autocommit=True) as conn:
        wait_past(expires)
        assert conn.execute("SELECT 1").fetchone() == (1,)
