"""Connections that end badly, and a gateway that is asked to stop."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway, pg_resource
from support.pgwire import RawPg, error_of
from support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _active_queries(direct: psycopg.Connection[Any], marker: str) -> list[Any]:
    return direct.execute(
        "SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND state = 'active' "
        "AND pid <> pg_backend_pid()",
        [f"%{marker}%"],
    ).fetchall()


def test_client_disconnect_mid_result(
    machine_gateway: Gateway, direct_conn: psycopg.Connection[Any]
) -> None:
    marker = "wg_mid_result_marker"
    with RawPg(*machine_gateway.address("pg")) as raw:
        assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
        raw.send(
            b"Q",
            f"SELECT g, repeat('r', 200) AS {marker} FROM generate_series(1, 3000000) g\0".encode(),
        )
        rows = 0
        while rows < 1000:
            if raw.read_message().type == b"D":
                rows += 1
        # abort the connection: RST, with megabytes still in flight
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # the gateway keeps serving others, promptly
    started = time.monotonic()
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:
        assert conn.execute("SELECT 'others served'").fetchone() == ("others served",)
    assert time.monotonic() - started < 3
    # and the upstream query does not run on for nobody
    deadline = time.monotonic() + 10
    while _active_queries(direct_conn, marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _active_queries(direct_conn, marker) == []


@pytest.fixture
def proxied_gateway(machine_pg: Any, gateway_factory: Any) -> Iterator[tuple[Gateway, TcpProxy]]:
    with TcpProxy(machine_pg.host, machine_pg.port) as proxy:
        resource = pg_resource("pg", port=proxy.port, user=machine_pg.user)
        yield gateway_factory([resource]), proxy


def test_upstream_dies_mid_result(proxied_gateway: tuple[Gateway, TcpProxy]) -> None:
    gateway, proxy = proxied_gateway
    victim = psycopg.connect(gateway.dsn("pg"))
    # a server-side cursor: rows arrive in batches, the cut falls between two
    with victim, victim.cursor(name="wg_stream") as cur:
        cur.execute("SELECT g FROM generate_series(1, 1000000) g")
        assert len(cur.fetchmany(100)) == 100
        proxy.cut_all()
        with pytest.raises(psycopg.OperationalError):
            cur.fetchmany(100000)
    # a new client gets through (the proxy forwards new connections again)
    with psycopg.connect(gateway.dsn("pg")) as conn:
        assert conn.execute("SELECT 'recovered'").fetchone() == ("recovered",)
    assert gateway.running


def test_upstream_cut_during_simple_query(proxied_gateway: tuple[Gateway, TcpProxy]) -> None:
    gateway, proxy = proxied_gateway
    with RawPg(*gateway.address("pg")) as raw:
        assert error_of(raw.login(gateway.token, database="postgres")) is None
        proxy.drop_after(64 * 1024, "s2c")
        raw.send(b"Q", b"SELECT g FROM generate_series(1, 1000000) g\0")
        started = time.monotonic()
        last = None
        try:
            while (last := raw.read_message()).type in (b"T", b"D"):
                pass
        except Exception:  # the gateway may also just close the client connection
            last = None
        assert time.monotonic() - started < 5
        assert last is None or last.type == b"E", last
    proxy.drop_after(None)
    with psycopg.connect(gateway.dsn("pg")) as conn:
        assert conn.execute("SELECT 3").fetchone() == (3,)


def test_sigterm_lets_in_flight_query_finish(machine_pg: Any, gateway_factory: Any) -> None:
    gateway: Gateway = gateway_factory(
        [pg_resource("pg", port=machine_pg.port, user=machine_pg.user)]
    )
    outcome: dict[str, Any] = {}
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:

        def run() -> None:
            try:
                outcome["rows"] = conn.execute("SELECT pg_sleep(1), 'finished'").fetchall()
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)
        gateway.terminate()
        time.sleep(0.3)
        # no new connections once shutdown began
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(gateway.dsn("pg"), connect_timeout=3)
        thread.join(15)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["rows"] == [("", "finished")]
    assert gateway.wait(15) == 0, gateway.stderr_text()


def test_sigterm_cuts_what_outlives_the_grace(machine_pg: Any, gateway_factory: Any) -> None:
    """Past limits.shutdown_grace the gateway exits anyway, tells the client why, logs JSON only."""
    gateway: Gateway = gateway_factory(
        [pg_resource("pg", port=machine_pg.port, user=machine_pg.user)],
        limits={"shutdown_grace": 1},
    )
    outcome: dict[str, Any] = {}
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:

        def run() -> None:
            try:
                outcome["rows"] = conn.execute("SELECT pg_sleep(30)").fetchall()
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        gateway.terminate()
        assert gateway.wait(15) == 0
        assert time.monotonic() - started < 5
        thread.join(10)
    assert isinstance(outcome.get("error"), psycopg.OperationalError), outcome
    assert "shutting down" in str(outcome["error"]), str(outcome["error"])
    not_json = [line for line in gateway.stderr_text().splitlines() if not line.startswith("{")]
    assert not_json == [], "\n".join(not_json)
