"""Policy enforcement on the MySQL wire with PyMySQL, mysql-connector and the mariadb CLI.

Denied statements fail with ERR 1142 naming the rule and never reach the server;
the session stays usable and the server's transaction state is what the client
believes it is.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
from pymysql.constants import CLIENT

from support.gateway import Gateway, Token
from support.mariadb import MariaDB

from .conftest import MAX_ROWS, ROWS

DELETE = "DELETE FROM items WHERE id <= 10"
SERVER_STATUS_IN_TRANS = 0x0001


def items(server: MariaDB) -> int:
    return int(server.sql("SELECT count(*) FROM shop.items").strip())


@pytest.fixture
def connect(my_policy_gateway: Gateway, agent_token: Token) -> Iterator[Any]:
    opened: list[Any] = []

    def open_(token: Token | None = None, **kwargs: Any) -> Any:
        conn = pymysql.connect(
            host="127.0.0.1",
            port=my_policy_gateway.port("shop"),
            user="agent",
            password=(token or agent_token).secret,
            database="shop",
            **kwargs,
        )
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        conn.close()


def test_pymysql_read_allowed_write_denied_session_continues(
    connect: Any, policy_mariadb: MariaDB
) -> None:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM items")
        assert cur.fetchone() == (ROWS,)
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute(DELETE)
        code, message = denied.value.args
        assert code == 1142
        assert "rule 'agents'" in message
        cur.execute("SELECT 'still here'")
        assert cur.fetchone() == ("still here",)
    assert items(policy_mariadb) == ROWS


def test_denial_inside_a_transaction_keeps_both_sides_in_it(
    connect: Any, policy_mariadb: MariaDB
) -> None:
    conn = connect()
    conn.begin()
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM items WHERE id = 1")
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute(DELETE)
        cur.execute("SELECT @@in_transaction")  # the server: still in the transaction
        assert cur.fetchone() == (1,)
        assert conn.server_status & SERVER_STATUS_IN_TRANS  # the client: the same
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("SELECT @@in_transaction")
        assert cur.fetchone() == (0,)
    assert items(policy_mariadb) == ROWS


def test_multi_statement_string_is_decided_whole(connect: Any, policy_mariadb: MariaDB) -> None:
    conn = connect(client_flag=CLIENT.MULTI_STATEMENTS)
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("SELECT 1; " + DELETE)
        assert denied.value.args[0] == 1142
        cur.execute("SELECT 1; SELECT 2")
        assert cur.fetchone() == (1,)
        assert cur.nextset()
        assert cur.fetchone() == (2,)
    assert items(policy_mariadb) == ROWS


def test_max_rows_ends_the_result_with_an_error_naming_the_rule(connect: Any) -> None:
    conn = connect()
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as limited:
            cur.execute("SELECT * FROM items ORDER BY id")
        assert limited.value.args[0] == 1317
        assert f"{MAX_ROWS}-row limit of rule 'agents'" in limited.value.args[1]
        cur.execute(f"SELECT * FROM items ORDER BY id LIMIT {MAX_ROWS}")
        assert len(cur.fetchall()) == MAX_ROWS


def test_database_switch_is_a_policy_question(connect: Any) -> None:
    conn = connect()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        conn.select_db("other")  # COM_INIT_DB outside the resource's databases
    assert refused.value.args[0] == 1044
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("USE other")
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("shop",)
    conn.select_db("shop")


def test_mysql_connector_prepared_statements(
    my_policy_gateway: Gateway, agent_token: Token, policy_mariadb: MariaDB
) -> None:
    import mysql.connector

    conn = mysql.connector.connect(
        host="127.0.0.1",
        port=my_policy_gateway.port("shop"),
        user="agent",
        password=agent_token.secret,
        database="shop",
        auth_plugin="mysql_clear_password",
        ssl_verify_cert=False,  # cleartext (the token) only over TLS
        allow_local_infile=False,
    )
    try:
        cur = conn.cursor(prepared=True)
        cur.execute("SELECT name FROM items WHERE id = %s", (4,))
        assert cur.fetchall() == [("item-4",)]
        cur.execute("SELECT name FROM items WHERE id = %s", (5,))  # the same statement id
        assert cur.fetchall() == [("item-5",)]
        with pytest.raises(mysql.connector.Error) as denied:
            cur.execute("DELETE FROM items WHERE id = %s", (1,))  # refused at PREPARE
        assert denied.value.errno == 1142
        cur.execute("SELECT count(*) FROM items WHERE id > %s", (0,))
        assert cur.fetchall() == [(ROWS,)]
    finally:
        conn.close()
    assert items(policy_mariadb) == ROWS


def test_mariadb_cli(my_policy_gateway: Gateway, agent_token: Token) -> None:
    if shutil.which("mariadb") is None:
        pytest.skip("the mariadb client is not installed")
    base = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{my_policy_gateway.port('shop')}"]
    base += ["-uagent", f"-p{agent_token.secret}", "-N", "shop"]
    ok = subprocess.run([*base, "-e", "SELECT count(*) FROM items"], capture_output=True, text=True)
    assert ok.stdout.strip() == str(ROWS), ok.stderr
    denied = subprocess.run([*base, "-e", DELETE], capture_output=True, text=True)
    assert denied.returncode != 0
    assert "ERROR 1142" in denied.stderr
    assert "agents" in denied.stderr


def test_server_side_sql_mode_is_how_the_gateway_lexes(
    connect: Any, policy_mariadb: MariaDB
) -> None:
    smuggle = "SELECT 'a\\\\'; DELETE FROM items; -- '"
    quoted = 'SELECT "a\\\\"; DELETE FROM items; -- "'
    policy_mariadb.sql("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'")
    try:
        conn = connect(client_flag=CLIENT.MULTI_STATEMENTS)
        with conn.cursor() as cur:
            for sql in (smuggle, quoted):
                with pytest.raises(pymysql.err.OperationalError) as denied:
                    cur.execute(sql)
                assert denied.value.args[0] == 1142
    finally:
        policy_mariadb.sql("SET GLOBAL sql_mode = DEFAULT")
    assert items(policy_mariadb) == ROWS
