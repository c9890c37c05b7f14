"""PyMySQL through the gateway: results, multi-statements, transactions, big payloads."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest
from pymysql.constants import CLIENT

from .conftest import ROWS


def test_select_version_reaches_client(connect: Any) -> None:
    conn = connect("machine")
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), 1 + 1")
        version, two = cur.fetchone()
    assert "MariaDB" in version
    assert two == 2
    assert "MariaDB" in conn.get_server_info()


def test_ten_thousand_rows(connect: Any) -> None:
    with connect().cursor() as cur:
        cur.execute("SELECT id, name, price FROM items ORDER BY id")
        rows = cur.fetchall()
    assert len(rows) == ROWS
    assert rows[0][:2] == (1, "item-1")
    assert rows[-1][0] == ROWS


def test_twenty_mib_row_both_ways(connect: Any) -> None:
    conn = connect()
    big = "y" * (20 * 1024 * 1024)
    with conn.cursor() as cur:
        cur.execute("SELECT REPEAT('x', 20 * 1024 * 1024) AS big, 7")
        value, seven = cur.fetchone()
        assert len(value) == 20 * 1024 * 1024
        assert seven == 7
        cur.execute("SELECT LENGTH(%s)", (big,))  # a > 16 MiB multi-packet command
        assert cur.fetchone()[0] == len(big)


def test_multi_statements_and_results(connect: Any) -> None:
    conn = connect(client_flag=CLIENT.MULTI_STATEMENTS)
    with conn.cursor() as cur:
        cur.execute("SELECT 1; SELECT 2, 3; DO 0; SELECT 'four'")
        results = [cur.fetchall()]
        while cur.nextset():
            results.append(cur.fetchall())
    assert [tuple(r) for r in results] == [((1,),), ((2, 3),), (), (("four",),)]


def test_transactions_commit_and_rollback(connect: Any) -> None:
    conn = connect(autocommit=False)
    other = connect(autocommit=True)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO ledger (note) VALUES ('rolled back')")
        conn.rollback()
        cur.execute("INSERT INTO ledger (note) VALUES ('kept')")
        assert cur.lastrowid > 0
        conn.commit()
    with other.cursor() as cur:
        cur.execute("SELECT note FROM ledger WHERE note IN ('kept', 'rolled back')")
        assert cur.fetchall() == (("kept",),)


def test_upstream_errors_are_relayed_and_connection_stays_usable(connect: Any) -> None:
    conn = connect()
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as info:
            cur.execute("SELECT * FROM no_such_table")
        assert info.value.args[0] == 1146
        cur.execute("SELECT 5")
        assert cur.fetchone() == (5,)


def test_init_db_ping_and_reset(connect: Any) -> None:
    conn = connect()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        conn.select_db("mysql")  # not in the resource's `databases` (default: shop only)
    assert refused.value.args[0] == 1044
    conn.select_db("shop")
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("shop",)
    conn.ping(reconnect=False)


def test_local_infile_is_refused(connect: Any, tmp_path: Any) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,x\n")
    conn = connect(local_infile=True)
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as info:
            cur.execute(
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE ledger FIELDS TERMINATED BY ','"
            )
        assert info.value.args[0] in (1148, 4166)  # the gateway never grants LOCAL_FILES
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
