"""asyncpg through the gateway: prepared statements, binary codecs, COPY, cancellation."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import ipaddress
import time
import uuid
from typing import Any

import asyncpg
import psycopg
import pytest

from support.gateway import Gateway

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CODEC_VALUES: list[tuple[str, Any]] = [
    ("int2", 32767),
    ("int8", -(2**63)),
    ("float8", 3.25),
    ("numeric", decimal.Decimal("-98765.4321")),
    ("text", "ünïcødé"),
    ("bytea", b"\x00\x01\xff" * 100),
    ("bool", False),
    ("date", datetime.date(1999, 12, 31)),
    ("timestamp", datetime.datetime(2020, 5, 17, 1, 2, 3, 456789)),
    ("timestamptz", datetime.datetime(2020, 5, 17, 1, 2, 3, tzinfo=datetime.UTC)),
    ("interval", datetime.timedelta(days=3, seconds=7)),
    ("uuid", uuid.UUID(int=7)),
    ("inet", ipaddress.ip_interface("10.1.2.3/24")),
    ("int4[]", [1, None, 3]),
    ("text[]", ["a", "b,c", None]),
    ("jsonb", '{"k": [1, 2]}'),
]


async def _connect(gateway: Gateway, resource: str = "pg", **kw: Any) -> asyncpg.Connection:
    host, port = gateway.address(resource)
    return await asyncpg.connect(
        host=host, port=port, user="agent", password=gateway.token, ssl=False, **kw
    )


def test_prepared_statements_and_codecs(machine_gateway: Gateway) -> None:
    async def main() -> None:
        conn = await _connect(machine_gateway, database="postgres")
        try:
            for type_name, value in CODEC_VALUES:
                statement = await conn.prepare(f"SELECT $1::{type_name}")
                assert await statement.fetchval(value) == value, type_name
            statement = await conn.prepare(
                "SELECT g, g * $1::int FROM generate_series(1, $2::int) g"
            )
            rows = await statement.fetch(3, 1000)
            assert len(rows) == 1000
            assert rows[-1]["g"] == 1000
            assert tuple(rows[-1]) == (1000, 3000)
            # the same prepared statement, many executions (statement cache)
            for i in range(50):
                assert await statement.fetchval(i, 1) == 1
            async with conn.transaction():
                cursor = await conn.cursor("SELECT g FROM generate_series(1, 300) g")
                assert [r[0] for r in await cursor.fetch(300)] == list(range(1, 301))
        finally:
            await conn.close()

    asyncio.run(main())


def test_executemany_and_errors(machine_gateway: Gateway) -> None:
    async def main() -> None:
        conn = await _connect(machine_gateway)
        try:
            await conn.execute("CREATE TEMP TABLE wg_apg (id int PRIMARY KEY, v text)")
            await conn.executemany(
                "INSERT INTO wg_apg VALUES ($1, $2)", [(i, str(i)) for i in range(300)]
            )
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute("INSERT INTO wg_apg VALUES (1, 'dup')")
            with pytest.raises(asyncpg.UndefinedFunctionError):
                await conn.fetch("SELECT wg_no_such_function()")
            assert await conn.fetchval("SELECT count(*) FROM wg_apg") == 300
        finally:
            await conn.close()

    asyncio.run(main())


def test_copy_records_to_table(machine_gateway: Gateway) -> None:
    records = [(i, f"name-{i}", decimal.Decimal(i) / 4) for i in range(3000)]

    async def main() -> None:
        conn = await _connect(machine_gateway)
        try:
            await conn.execute("CREATE TEMP TABLE wg_acopy (id int, name text, amount numeric)")
            result = await conn.copy_records_to_table("wg_acopy", records=records)
            assert result == "COPY 3000"
            rows = await conn.fetch("SELECT id, name, amount FROM wg_acopy ORDER BY id")
            assert [tuple(r) for r in rows] == records
        finally:
            await conn.close()

    asyncio.run(main())


def test_listen_notify(machine_gateway: Gateway) -> None:
    async def main() -> None:
        listener = await _connect(machine_gateway)
        talker = await _connect(machine_gateway)
        got: asyncio.Queue[str] = asyncio.Queue()
        try:
            await listener.add_listener("wg_apg_chan", lambda *args: got.put_nowait(args[3]))
            await talker.execute("NOTIFY wg_apg_chan, 'hello'")
            assert await asyncio.wait_for(got.get(), 5) == "hello"
        finally:
            await listener.close()
            await talker.close()

    asyncio.run(main())


def _active_sleeps(direct: psycopg.Connection[Any], marker: str) -> list[Any]:
    return direct.execute(
        "SELECT pid, state FROM pg_stat_activity "
        "WHERE query LIKE %s AND state = 'active' AND pid <> pg_backend_pid()",
        [f"%{marker}%"],
    ).fetchall()


def test_timeout_cancels_backend(
    machine_gateway: Gateway, direct_conn: psycopg.Connection[Any]
) -> None:
    """asyncpg cancels on timeout; the upstream backend must stop while the client stays."""
    marker = "wg_cancel_marker_1"

    async def upstream_still_sleeping() -> bool:
        # asyncpg sends the CancelRequest from a background task: keep the loop running
        deadline = time.monotonic() + 5
        while _active_sleeps(direct_conn, marker):
            if time.monotonic() > deadline:
                return True
            await asyncio.sleep(0.1)
        return False

    async def main() -> None:
        conn = await _connect(machine_gateway)
        try:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await conn.fetch(f"SELECT pg_sleep(30) AS {marker}", timeout=0.5)
            assert time.monotonic() - started < 5
            assert not await upstream_still_sleeping(), "the upstream backend was not cancelled"
            assert await conn.fetchval("SELECT 7") == 7
        finally:
            await conn.close()

    asyncio.run(main())
