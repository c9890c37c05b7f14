"""Upstream side: each auth plugin, TLS, unix socket, refusals before any upstream login."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from support.certs import Certs
from support.gateway import Gateway, Token
from support.mariadb import MariaDB


@pytest.mark.parametrize(
    ("resource", "user"),
    [("native", "native_user"), ("ed", "ed_user"), ("tls_up", "tls_user"), ("unix", "native_user")],
)
def test_upstream_auth_plugins(connect: Any, resource: str, user: str) -> None:
    with connect(resource, ssl_disabled=True).cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0] == f"{user}@%"
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        cipher = cur.fetchone()[1]
    assert bool(cipher) == (resource == "tls_up")


def _connections(server: MariaDB) -> int:
    return int(server.sql("SHOW GLOBAL STATUS LIKE 'Connections'").split()[1])


def test_wrong_token_gets_1045_and_no_upstream_connection(connect: Any, mariadb: MariaDB) -> None:
    connect("native").close()  # the listener has seen its upstream: no probe later
    before = _connections(mariadb)
    with pytest.raises(pymysql.err.OperationalError) as info:
        connect("native", password="wgt_not-a-token")
    assert info.value.args[0] == 1045
    assert _connections(mariadb) == before + 1  # only the counting query itself


def test_upstream_down_is_reported(connect: Any) -> None:
    with pytest.raises(pymysql.err.OperationalError) as info:
        connect("down")
    assert info.value.args[0] == 2003
    assert "cannot connect to upstream" in info.value.args[1]


def test_tls_required_listener(
    mysql_gateway: Gateway, agent_token: Token, test_certs: Certs
) -> None:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": mysql_gateway.port("tls_required"),
        "user": "agent",
        "password": agent_token.secret,
    }
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(**params, ssl_disabled=True)
    assert info.value.args[0] == 1045
    assert "requires TLS" in info.value.args[1]
    conn = pymysql.connect(**params, ssl_ca=str(test_certs.ca))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        conn.close()
