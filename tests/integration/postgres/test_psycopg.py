"""psycopg 3 through the gateway: sync and async, text and binary, pipeline, COPY, NOTIFY."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import hashlib
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.gateway import Gateway

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MIB = 1024 * 1024
VALUES: list[tuple[str, Any]] = [
    ("int8", 2**62),
    ("numeric", decimal.Decimal("12345.678900")),
    ("text", "héllo, wörld ☃"),
    ("bytea", bytes(range(256))),
    ("bool", True),
    ("date", datetime.date(2024, 2, 29)),
    ("timestamptz", datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("int4[]", [1, 2, None, 4]),
    ("float8", 1.5),
]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_sync_types_roundtrip(machine_gateway: Gateway, binary: bool) -> None:
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        cur = conn.cursor(binary=binary)
        for type_name, value in VALUES:
            cur.execute(f"SELECT %s::{type_name}", [value])
            assert cur.fetchone() == (value,), type_name
        cur.execute("SELECT %s::jsonb", [Jsonb({"a": [1, 2, {"b": None}]})])
        assert cur.fetchone() == ({"a": [1, 2, {"b": None}]},)


def test_sync_transactions_and_errors(machine_gateway: Gateway) -> None:
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        conn.execute("CREATE TEMP TABLE wg_tx (id int PRIMARY KEY)")
        conn.execute("INSERT INTO wg_tx VALUES (1)")
        conn.commit()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO wg_tx VALUES (1)")
        conn.rollback()
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM wg_no_such_table")
        conn.rollback()
        with conn.transaction():
            conn.execute("INSERT INTO wg_tx VALUES (2)")
        assert conn.execute("SELECT count(*) FROM wg_tx").fetchone() == (2,)


def test_sync_executemany_pipeline_and_server_cursor(machine_gateway: Gateway) -> None:
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        conn.execute("CREATE TEMP TABLE wg_many (id int, name text)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO wg_many VALUES (%s, %s)", [(i, f"n{i}") for i in range(500)]
            )
        with conn.pipeline():
            results = [conn.execute("SELECT %s::int * 2", [i]) for i in range(50)]
        assert [r.fetchone() for r in results] == [(i * 2,) for i in range(50)]
        with conn.cursor(name="wg_server_side") as cur:
            cur.itersize = 37
            cur.execute("SELECT id FROM wg_many ORDER BY id")
            assert [row[0] for row in cur] == list(range(500))


def test_sync_copy_both_ways(machine_gateway: Gateway) -> None:
    rows = [(i, f"row {i}", bytes([i % 256]) * 10) for i in range(2000)]
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        conn.execute("CREATE TEMP TABLE wg_pcopy (id int, name text, data bytea)")
        with conn.cursor().copy("COPY wg_pcopy FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["int4", "text", "bytea"])
            for row in rows:
                copy.write_row(row)
        with conn.cursor().copy("COPY (SELECT * FROM wg_pcopy ORDER BY id) TO STDOUT") as copy:
            copy.set_types(["int4", "text", "bytea"])
            assert list(copy.rows()) == rows


def _abort_copy(conn: psycopg.Connection[Any]) -> None:
    with conn.cursor().copy("COPY wg_fail FROM STDIN") as copy:
        copy.write_row((1,))
        raise RuntimeError("client aborts the COPY")  # psycopg sends CopyFail


def _failing_pipeline(conn: psycopg.Connection[Any]) -> None:
    with conn.pipeline():
        conn.execute("SELECT 1")
        conn.execute("SELECT 1/0")
        conn.execute("SELECT 3")


def test_copy_fail_and_pipeline_error_recover(machine_gateway: Gateway) -> None:
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        conn.execute("CREATE TEMP TABLE wg_fail (a int)")
        conn.commit()
        with pytest.raises(RuntimeError):
            _abort_copy(conn)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM wg_fail").fetchone() == (0,)
        with pytest.raises(psycopg.errors.DivisionByZero):
            _failing_pipeline(conn)
        conn.rollback()
        assert conn.execute("SELECT 5").fetchone() == (5,)


def test_parameter_status_reaches_client(machine_gateway: Gateway) -> None:
    with psycopg.connect(machine_gateway.dsn("pg"), autocommit=True) as conn:
        conn.execute("SET TimeZone = 'Asia/Tokyo'")
        assert conn.info.parameter_status("TimeZone") == "Asia/Tokyo"
        assert conn.execute("SELECT now()").fetchone()[0].utcoffset() == datetime.timedelta(hours=9)  # type: ignore[index]


@pytest.mark.parametrize(
    ("resource", "binary"),
    [("pg", False), ("pg", True), ("pg_tls", True)],
    ids=["text", "binary", "tls-binary"],
)
def test_large_rows_both_ways(machine_gateway: Gateway, resource: str, binary: bool) -> None:
    blob = hashlib.sha256(b"seed").digest() * (3 * MIB // 32)  # 3 MiB parameter (one Bind)
    sslmode = "require" if resource == "pg_tls" else "disable"
    with psycopg.connect(machine_gateway.dsn(resource, sslmode=sslmode)) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute("SELECT md5(%s::bytea), length(%s::bytea)", [blob, blob])
        assert cur.fetchone() == (hashlib.md5(blob).hexdigest(), len(blob))
        cur.execute("SELECT repeat('x', %s), %s::bytea", [2 * MIB, blob])
        text, data = cur.fetchone()  # type: ignore[misc]
        assert len(text) == 2 * MIB
        assert bytes(data) == blob
        conn.execute("CREATE TEMP TABLE wg_big (id int, body text)")
        conn.execute(
            "INSERT INTO wg_big SELECT g, repeat(chr(65 + g), 1200000) FROM generate_series(0, 4) g"
        )
        lengths = conn.execute("SELECT id, length(body) FROM wg_big ORDER BY id").fetchall()
        assert lengths == [(i, 1_200_000) for i in range(5)]
        bodies = conn.execute("SELECT body FROM wg_big ORDER BY id").fetchall()
        assert [b[0][:1] for b in bodies] == list("ABCDE")


def test_large_simple_query(machine_gateway: Gateway) -> None:
    big_literal = "z" * (2 * MIB)
    with psycopg.connect(machine_gateway.dsn("pg"), autocommit=True) as conn:
        cur = psycopg.ClientCursor(conn)  # client-side binding: simple Query messages
        cur.execute("CREATE TEMP TABLE wg_bigq AS SELECT %s::text AS t", [big_literal])
        cur.execute("SELECT length(t), t = %s FROM wg_bigq", [big_literal])
        assert cur.fetchone() == (2 * MIB, True)


def test_listen_notify(machine_gateway: Gateway) -> None:
    dsn = machine_gateway.dsn("pg")
    with (
        psycopg.connect(dsn, autocommit=True) as listener,
        psycopg.connect(dsn, autocommit=True) as talker,
    ):
        listener.execute("LISTEN wg_channel")
        talker.execute("NOTIFY wg_channel, 'first'")
        talker.execute("SELECT pg_notify('wg_channel', 'second')")
        received = []
        for notify in listener.notifies(timeout=5, stop_after=2):
            received.append((notify.channel, notify.payload))
        assert received == [("wg_channel", "first"), ("wg_channel", "second")]


def test_notice_reaches_client(machine_gateway: Gateway) -> None:
    notices: list[str] = []
    with psycopg.connect(machine_gateway.dsn("pg"), autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute("DO $$ BEGIN RAISE NOTICE 'wg notice %', 42; END $$")
    assert notices == ["wg notice 42"]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_async_queries(machine_gateway: Gateway, binary: bool) -> None:
    async def main() -> None:
        dsn = machine_gateway.dsn("pg")
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor(binary=binary)
            for type_name, value in VALUES:
                await cur.execute(f"SELECT %s::{type_name}", [value])
                assert await cur.fetchone() == (value,), type_name
            await cur.execute("SELECT g, g::text FROM generate_series(1, 10000) g")
            rows = await cur.fetchall()
            assert rows[-1] == (10000, "10000")
            async with conn.pipeline():
                curs = [await conn.execute("SELECT %s::int + 1", [i]) for i in range(20)]
            assert [await c.fetchone() for c in curs] == [(i + 1,) for i in range(20)]

    asyncio.run(main())


def test_async_concurrent_connections(machine_gateway: Gateway) -> None:
    async def one(i: int) -> int:
        dsn = machine_gateway.dsn("pg")
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            cur = await conn.execute("SELECT sum(g) FROM generate_series(1, %s) g", [i * 100])
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])

    async def main() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(1, 21)))

    results = asyncio.run(main())
    assert results == [n * 100 * (n * 100 + 1) // 2 for n in range(1, 21)]
