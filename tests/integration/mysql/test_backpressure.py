"""A client that stops reading holds the result back in the server, not in wardgate."""

from __future__ import annotations

import time

import pytest

from support.gateway import Gateway, Token
from support.stalled import MAX_GROWTH, ROW_BYTES, ROWS, MiB, rss_bytes
from wardgate_mysql.codec.response_state import Part, Phase, ResponseTracker

from .rawclient import RawClient

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_a_stalled_client_pushes_back_on_the_server(
    mysql_gateway: Gateway, agent_token: Token
) -> None:
    assert mysql_gateway.proc is not None
    pid = mysql_gateway.proc.pid
    client = RawClient(mysql_gateway.port("native"), agent_token.secret, database="shop")
    try:
        client.sock.settimeout(120)
        before = rss_bytes(pid)
        sql = f"SELECT REPEAT('x', {ROW_BYTES}) FROM seq_1_to_{ROWS}"
        client.write(b"\x03" + sql.encode())
        time.sleep(3)  # ample time for the server to push the whole result at wardgate
        grown = rss_bytes(pid) - before
        assert grown < MAX_GROWTH, f"wardgate buffered {grown / MiB:.0f} MiB for a stalled client"

        tracker = ResponseTracker(Phase.FIRST, client.caps)
        rows = 0
        while not tracker.done:
            part = tracker.feed(client.read().payload)
            assert part is not Part.ERR
            rows += part is Part.ROW
        assert rows == ROWS  # nothing lost once the client reads again
    finally:
        client.close()
