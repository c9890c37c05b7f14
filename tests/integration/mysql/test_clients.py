"""Real MySQL/MariaDB drivers and the mariadb CLI through the gateway."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import os
import pty
import select
import subprocess
import time
from typing import Any

import pytest

from support.certs import Certs
from support.gateway import Gateway, Token

from .conftest import ROWS


def _cli(gateway: Gateway, token: Token, resource: str, *args: str) -> list[str]:
    return [
        "mariadb",
        "--no-defaults",
        "-h127.0.0.1",
        f"-P{gateway.port(resource)}",
        "-uagent",
        f"-p{token.secret}",
        *args,
    ]


def test_mariadb_cli_batch(mysql_gateway: Gateway, agent_token: Token) -> None:
    argv = _cli(
        mysql_gateway,
        agent_token,
        "native",
        "shop",
        "-B",
        "-N",
        "-e",
        "SELECT COUNT(*) FROM items; SELECT name FROM items WHERE id = 42",
    )
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(ROWS), "item-42"]


def _read_until(fd: int, marker: bytes, timeout: float = 15.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} not seen in {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            seen += os.read(fd, 4096)
    return seen


def test_mariadb_cli_interactive(mysql_gateway: Gateway, agent_token: Token) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # child: become the interactive client
        argv = _cli(mysql_gateway, agent_token, "machine", "mysql")
        os.execvp(argv[0], argv)
    try:
        banner = _read_until(fd, b"> ")
        assert b"Server version: 10.11" in banner
        os.write(fd, b"SELECT 40 + 2 AS answer;\n")
        assert b"42" in _read_until(fd, b"row in set")
        os.write(fd, b"quit\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(fd)


def test_mysqlclient(mysql_gateway: Gateway, agent_token: Token) -> None:
    import MySQLdb

    conn = MySQLdb.connect(
        host="127.0.0.1",
        port=mysql_gateway.port("native"),
        user="agent",
        password=agent_token.secret,
        database="shop",
    )
    try:
        cur = conn.cursor()
        cur.execute("SELECT id, price FROM items WHERE id <= %s ORDER BY id", (3,))
        assert cur.fetchall() == (
            (1, decimal.Decimal("0.01")),
            (2, decimal.Decimal("0.02")),
            (3, decimal.Decimal("0.03")),
        )
        cur.execute("SELECT COUNT(*) FROM items")
        assert cur.fetchone() == (ROWS,)
    finally:
        conn.close()


EXPECTED_TYPES = (
    1,
    -5,
    300,
    70000,
    9000000000,
    1.5,
    2.25,
    decimal.Decimal("12.3456"),
    "abc",
    "héllo",
    "long text",
    b"\x00\xff\x10",
    datetime.date(2024, 2, 29),
    datetime.timedelta(seconds=45296, microseconds=789000),
    datetime.datetime(2024, 2, 29, 1, 2, 3, 456789),
    datetime.datetime(2024, 1, 1, 0, 0),
)


def _connector(gateway: Gateway, token: Token, certs: Certs, use_pure: bool) -> Any:
    import mysql.connector

    return mysql.connector.connect(
        host="127.0.0.1",
        port=gateway.port("native"),
        user="agent",
        password=token.secret,
        database="shop",
        use_pure=use_pure,
        ssl_ca=str(certs.ca),
        ssl_verify_cert=True,
        auth_plugin="mysql_clear_password",
    )


@pytest.mark.parametrize("use_pure", [True, False], ids=["pure", "c-ext"])
def test_mysql_connector_prepared_types(
    mysql_gateway: Gateway, agent_token: Token, test_certs: Certs, use_pure: bool
) -> None:
    if not use_pure:
        try:
            import _mysql_connector  # noqa: F401
        except ImportError as exc:
            pytest.skip(f"mysql-connector C extension cannot load here: {exc}")
    conn = _connector(mysql_gateway, agent_token, test_certs, use_pure)
    try:
        cur = conn.cursor(prepared=True)
        # YEAR is left out: mysql-connector decodes it wrongly in the binary protocol
        # even when connected directly.
        cur.execute(
            "SELECT id, t, s, m, b, f, d, dec_, c, v, tx, bl, dt, tm, dtm, ts, n "
            "FROM types WHERE id = ?",
            (1,),
        )
        row = cur.fetchone()
        assert tuple(row[:16]) == EXPECTED_TYPES
        assert row[16] is None
        cur.execute("SELECT ?, ?, ?, ?", ("text", 12, 2.5, None))
        assert tuple(cur.fetchone()) == ("text", 12, 2.5, None)
        cur.close()
        plain = conn.cursor()
        plain.execute("SELECT COUNT(*) FROM items")
        assert plain.fetchone() == (ROWS,)
    finally:
        conn.close()


def test_aiomysql(mysql_gateway: Gateway, agent_token: Token) -> None:
    import aiomysql

    async def main() -> list[Any]:
        conn = await aiomysql.connect(
            host="127.0.0.1",
            port=mysql_gateway.port("native"),
            user="agent",
            password=agent_token.secret,
            db="shop",
        )
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT name FROM items WHERE id IN (1, 2) ORDER BY id")
                return list(await cur.fetchall())
        finally:
            conn.close()

    assert asyncio.run(main()) == [("item-1",), ("item-2",)]
