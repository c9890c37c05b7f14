"""Policy enforcement on the PostgreSQL wire with real drivers (psql, psycopg, asyncpg).

Every denied write must fail with 42501 naming the rule, leave the table as it was
(checked on the upstream directly), and leave the session usable with client and
server agreeing on the transaction state.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from typing import Any

import asyncpg
import psycopg
import pytest
from psycopg import errors, pq

from support.gateway import Gateway, Token
from support.pgwire import RawPg, error_of

from .conftest import MAX_ROWS, ROWS, TABLE

DELETE = f"DELETE FROM {TABLE} WHERE id <= 10"


def count(direct: psycopg.Connection[Any]) -> int:
    row = direct.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def test_psql_read_allowed_write_denied_session_continues(
    pg_policy_gateway: Gateway, direct_pg: psycopg.Connection[Any]
) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    script = f"SELECT count(*) FROM {TABLE};\n{DELETE};\nSELECT 'still here';\n"
    result = subprocess.run(
        ["psql", "-X", "-At", "-v", "VERBOSITY=verbose", pg_policy_gateway.dsn("pg")],
        input=script,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.splitlines() == [str(ROWS), "still here"]
    assert "42501" in result.stderr
    assert 'rule "agents"' in result.stderr
    assert count(direct_pg) == ROWS


def test_psycopg_denial_in_a_transaction_aborts_it_on_both_sides(
    pg_policy_gateway: Gateway, direct_pg: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(pg_policy_gateway.dsn("pg")) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(errors.InsufficientPrivilege, match='rule "agents"'):
            conn.execute(DELETE)
        assert conn.info.transaction_status == pq.TransactionStatus.INERROR
        with pytest.raises(errors.InFailedSqlTransaction):  # the server agrees
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        assert conn.execute("SELECT count(*) FROM " + TABLE).fetchone() == (ROWS,)
    assert count(direct_pg) == ROWS


def test_psycopg_extended_protocol_unnamed_and_prepared(
    pg_policy_gateway: Gateway, direct_pg: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(pg_policy_gateway.dsn("pg"), autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"DELETE FROM {TABLE} WHERE id = %s", [1])  # unnamed statement
        for _ in range(3):  # named, server-side prepared statement
            row = conn.execute(f"SELECT name FROM {TABLE} WHERE id = %s", [7], prepare=True)
            assert row.fetchone() == ("item-7",)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"UPDATE {TABLE} SET name = %s WHERE id = 1", ["x"], prepare=True)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert count(direct_pg) == ROWS


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def test_bind_and_execute_of_a_denied_statement_are_refused(
    pg_policy_gateway: Gateway, agent_token: Token, direct_pg: psycopg.Connection[Any]
) -> None:
    host, port = pg_policy_gateway.address("pg")
    with RawPg(host, port) as pg:
        assert pg.login(agent_token.secret)[-1].type == b"Z"
        batch = [
            _frame(b"P", b"doomed\0" + DELETE.encode() + b"\0\0\0"),
            _frame(b"B", b"\0doomed\0\0\0\0\0\0\0"),
            _frame(b"E", b"\0\0\0\0\0"),
            _frame(b"S", b""),
            _frame(b"B", b"\0doomed\0\0\0\0\0\0\0"),  # the refused name, in a new batch
            _frame(b"E", b"\0\0\0\0\0"),
            _frame(b"S", b""),
        ]
        pg.send_raw(b"".join(batch))
        first = pg.read_until(b"Z")
        second = pg.read_until(b"Z")
        for messages in (first, second):
            error = error_of(messages)
            assert error is not None
            assert error.sqlstate == "42501"
            assert not [m for m in messages if m.type == b"C"]  # nothing completed
        assert pg.query("SELECT 1")[-1].type == b"Z"
    assert count(direct_pg) == ROWS


def test_max_rows_stops_results_with_54000_on_every_path(pg_policy_gateway: Gateway) -> None:
    big = f"SELECT * FROM {TABLE} ORDER BY id"
    with psycopg.connect(pg_policy_gateway.dsn("pg"), autocommit=True) as conn:
        with pytest.raises(errors.ProgramLimitExceeded, match=f"{MAX_ROWS}-row limit"):
            conn.execute(big)
        assert len(conn.execute(big + f" LIMIT {MAX_ROWS}").fetchall()) == MAX_ROWS
        copied: list[bytes] = []
        copy_out = conn.cursor().copy(f"COPY ({big}) TO STDOUT")
        with pytest.raises(errors.ProgramLimitExceeded), copy_out as copy:
            copied.extend(bytes(block) for block in copy)
        assert b"".join(copied).count(b"\n") == MAX_ROWS  # the first N rows, then the error
        copy_in = conn.cursor().copy(f"COPY {TABLE} FROM STDIN")  # a write
        with pytest.raises(errors.InsufficientPrivilege), copy_in as copy:
            copy.write_row((1000, "x"))
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"COPY {TABLE} TO PROGRAM 'cat > /tmp/wardgate-exfil'")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_asyncpg_denials_prepared_statements_and_portal_row_budget(
    pg_policy_gateway: Gateway, direct_pg: psycopg.Connection[Any]
) -> None:
    async def scenario() -> None:
        conn = await asyncpg.connect(pg_policy_gateway.dsn("pg"))
        try:
            assert await conn.fetchval(f"SELECT count(*) FROM {TABLE}") == ROWS
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="agents"):
                await conn.execute(DELETE)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"DELETE FROM {TABLE} WHERE id = $1 RETURNING id", 3)
            statement = await conn.prepare(f"SELECT name FROM {TABLE} WHERE id = $1")
            assert await statement.fetchval(5) == "item-5"
            async with conn.transaction():  # a cursor: Execute with a row count, resumed
                cursor = await conn.cursor(f"SELECT id FROM {TABLE} ORDER BY id")
                assert len(await cursor.fetch(30)) == 30
                with pytest.raises(asyncpg.ProgramLimitExceededError):
                    await cursor.fetch(30)
            assert await conn.fetchval("SELECT 2") == 2
        finally:
            await conn.close()

    asyncio.run(scenario())
    assert count(direct_pg) == ROWS


def test_lexing_follows_the_servers_standard_conforming_strings(
    pg_policy_gateway: Gateway,
) -> None:
    smuggle = "SELECT 'a\\'; DELETE FROM t; --'"
    legacy = pg_policy_gateway.dsn("pg", dbname="wg_legacy")
    with psycopg.connect(legacy, autocommit=True) as conn:  # off: one string, a read
        assert conn.execute(smuggle).fetchone() == ("a'; DELETE FROM t; --",)
    with (
        psycopg.connect(pg_policy_gateway.dsn("pg"), autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege),  # on: a second statement
    ):
        conn.execute(smuggle)


def _pgbench(gateway: Gateway, token: Token) -> subprocess.CompletedProcess[str]:
    dsn = gateway.dsn("pg", token=token.secret, dbname="wg_bench")
    return subprocess.run(
        ["pgbench", "-n", "-c", "2", "-t", "20", dsn],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pgbench_allowed_and_denied(
    pg_policy_gateway: Gateway, machine_pg: Any, bench_tokens: tuple[Token, Token]
) -> None:
    if shutil.which("pgbench") is None:
        pytest.skip("pgbench is not installed")
    init = subprocess.run(
        ["pgbench", "-i", "-s", "1", "-q", machine_pg.dsn(db="wg_bench")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    bench, read_only = bench_tokens
    allowed = _pgbench(pg_policy_gateway, bench)
    assert allowed.returncode == 0, allowed.stderr
    assert "number of transactions actually processed: 40/40" in allowed.stdout
    denied = _pgbench(pg_policy_gateway, read_only)
    assert denied.returncode != 0
    assert "42501" in denied.stderr or "permission" in denied.stderr or "wardgate" in denied.stderr
    with psycopg.connect(machine_pg.dsn(db="wg_bench")) as direct:
        history = direct.execute("SELECT count(*) FROM pgbench_history").fetchone()
    assert history == (40,)  # only the allowed run wrote


def test_function_volatility_comes_from_the_database(
    pg_policy_gateway: Gateway, direct_pg: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(pg_policy_gateway.dsn("pg"), autocommit=True) as conn:
        assert conn.execute("SELECT wg_label(3)").fetchone() == ("item-3",)  # STABLE: a read
        with pytest.raises(errors.InsufficientPrivilege):  # VOLATILE: may write
            conn.execute("SELECT wg_purge()")
        with pytest.raises(errors.InsufficientPrivilege):  # not in the catalog at all
            conn.execute("SELECT wg_no_such_function()")
    assert count(direct_pg) == ROWS
