"""Masking through a real gateway with psql, psycopg (text and binary) and asyncpg."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest

from support.gateway import Gateway

EMAIL = "*************.com"


def test_source_columns_aliases_and_lineage(pg: psycopg.Connection[Any]) -> None:
    rows = pg.execute("SELECT email AS e, name, ssn FROM customers ORDER BY id").fetchall()
    assert rows == [(EMAIL, "Alice", "*******6789"), (EMAIL, "Carol", "*******4321")]
    assert pg.execute("SELECT upper(email) FROM customers WHERE id = 1").fetchone() == ("****",)
    assert pg.execute("SELECT contact FROM v_contacts WHERE who = 'Alice'").fetchone() == (EMAIL,)
    # Untraceable function, whole row: the strictest rule they may carry (hash) applies.
    for sql in ("SELECT get_email(1)", "SELECT row_to_json(c) FROM customers c LIMIT 1"):
        (value,) = pg.execute(sql).fetchone() or ("",)
        assert "alice" not in str(value)
        assert len(str(value)) == 16
    assert pg.execute("SELECT string_agg(ssn, ',') FROM customers").fetchone() == ("****",)
    row = pg.execute("SELECT notes, tags FROM customers WHERE id = 1").fetchone()
    assert row == ({"card": "****"}, ["****", "x"])  # detectors inside JSON and arrays


def test_hash_is_stable_and_typed(pg: psycopg.Connection[Any], masking_gateway: Gateway) -> None:
    text = pg.execute("SELECT password FROM customers WHERE id = 1").fetchone()
    binary = pg.execute("SELECT password FROM customers WHERE id = %s", [1], binary=True).fetchone()
    assert text == binary
    assert isinstance(text[0], int)
    assert text[0] != 4242
    with psycopg.connect(masking_gateway.dsn("pg"), autocommit=True) as other:
        assert other.execute("SELECT password FROM customers WHERE id = 1").fetchone() == text


def test_binary_results_extended_protocol(pg: psycopg.Connection[Any]) -> None:
    cursor = pg.cursor(binary=True)
    row = cursor.execute("SELECT email, ssn, notes FROM customers WHERE id = %s", [1]).fetchone()
    assert row == (EMAIL, "*******6789", {"card": "****"})


def test_asyncpg_binary_prepared(masking_gateway: Gateway) -> None:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(masking_gateway.dsn("pg"))
        try:
            statement = await conn.prepare(
                "SELECT email, password, tags FROM customers WHERE id = $1"
            )
            return [tuple(r) for r in await statement.fetch(1)]
        finally:
            await conn.close()

    ((email, password, tags),) = asyncio.run(run())
    assert email == EMAIL
    assert isinstance(password, int)
    assert tags == ["****", "x"]


def test_psql_and_copy(masking_gateway: Gateway) -> None:
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    url = masking_gateway.dsn("pg")
    out = subprocess.run(
        ["psql", url, "-XAtc", "SELECT email FROM customers ORDER BY id"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert out.split() == [EMAIL, EMAIL]
    copy = subprocess.run(
        ["psql", url, "-XAtc", "COPY customers (id, email, ssn) TO STDOUT WITH (FORMAT csv)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "alice@" not in copy
    assert '"*******6789"' in copy


def test_errors_and_notifications_do_not_echo(pg: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        pg.execute("INSERT INTO customers (id, email) VALUES (9, 'alice@example.com')")
    assert "alice" not in str(caught.value.diag.message_detail)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation) as cast:
        pg.execute("SELECT ssn::int FROM customers")
    assert "6789" not in str(cast.value)
    pg.execute("LISTEN ch")
    pg.execute("NOTIFY ch, 'mail bob@example.org'")
    notice = next(pg.notifies(timeout=5, stop_after=1))
    assert notice.payload == "mail ****"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg.execute("SELECT pg_notify('ch', email) FROM customers")


def test_counts_in_log_and_metrics(masking_gateway: Gateway, pg: psycopg.Connection[Any]) -> None:
    pg.execute("SELECT email, ssn FROM customers").fetchall()
    time.sleep(0.2)
    done = [e for e in masking_gateway.events("command_done") if e.get("masked")]
    assert any(e["masked"].get("pii", 0) >= 4 for e in done)
    import httpx

    metrics = httpx.get(f"http://{masking_gateway.ready['admin']}/metrics").text
    assert 'wardgate_masked_values_total{protocol="postgres",resource="pg",rule="pii"}' in metrics


def _rss_peak(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1])


def test_million_rows_stream_with_flat_memory(masking_gateway: Gateway) -> None:
    assert masking_gateway.proc is not None
    before = _rss_peak(masking_gateway.proc.pid)
    count = 0
    # A server-side cursor: the client streams too.
    with psycopg.connect(masking_gateway.dsn("pg")) as conn, conn.cursor(name="big") as cursor:
        cursor.itersize = 20_000
        cursor.execute("SELECT id, email FROM big")
        for _, email in cursor:
            count += 1
            assert email.startswith("*")
    assert count == 1_000_000
    grown = _rss_peak(masking_gateway.proc.pid) - before
    assert grown < 64 * 1024, f"gateway peak RSS grew by {grown} KiB"
