"""A client that stops reading holds the result back in the server, not in wardgate."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.gateway import Gateway
from support.pgwire import RawPg

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROWS = 200_000
ROW_BYTES = 1_000  # ≈ 200 MB of result in all
MiB = 1 << 20


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


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
        assert grown < 48 * MiB, f"wardgate buffered {grown / MiB:.0f} MiB for a stalled client"

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
