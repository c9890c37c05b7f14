"""A client that stops reading holds the result back in the server, not in wardgate."""

from __future__ import annotations

import time

import pytest

from support.gateway import Gateway
from support.pgwire import RawPg
from support.stalled import MAX_GROWTH, ROW_BYTES, ROWS, MiB, rss_bytes

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_a_stalled_client_pushes_back_on_the_server(machine_gateway: Gateway) -> None:
    assert machine_gateway.proc is not None
    pid = machine_gateway.proc.pid
    with RawPg(*machine_gateway.address("pg"), timeout=120) as pg:
        pg.login(machine_gateway.token, database="postgres")
        before = rss_bytes(pid)
        sql = f"SELECT repeat('x', {ROW_BYTES}) FROM generate_series(1, {ROWS})"
        pg.send(b"Q", sql.encode() + b"\0")
        time.sleep(3)  # ample time for the server to push the whole result at wardgate
        grown = rss_bytes(pid) - before
        assert grown < MAX_GROWTH, f"wardgate buffered {grown / MiB:.0f} MiB for a stalled client"

        rows = 0
        while True:
            message = pg.read_message()
            if message.type == b"D":
                rows += 1
            elif message.type == b"E":
                raise AssertionError(message.fields)
            elif message.type == b"Z":
                break
        assert rows == ROWS  # nothing lost once the client reads again
