"""`logging.flush_interval`: routine lines wait for the interval and go out together.

The other tests write on the loop's next turn (`flush_interval: 0`, tests/support) so
they can read a command's line right after it; here the shipped behaviour is checked
through `wardgate serve` and a real driver.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway, pg_resource

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _gateway(gateway_factory: Any, machine_pg: Any, logging: dict[str, Any]) -> Gateway:
    """Audit off, so routine lines are logged at info: the log is the record."""
    gateway: Gateway = gateway_factory(
        [pg_resource("pg", port=machine_pg.port, user=machine_pg.user)],
        extra_config={"audit": {"enabled": False}, "logging": logging},
    )
    return gateway


def _statements(gateway: Gateway, marker: str) -> list[str]:
    return [e["statement"] for e in gateway.events("command") if marker in e["statement"]]


def test_lines_wait_for_the_interval_then_arrive_together(
    machine_pg: Any, gateway_factory: Any
) -> None:
    gateway = _gateway(gateway_factory, machine_pg, {"level": "info", "flush_interval": "2s"})
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:
        started = time.monotonic()
        for n in range(3):
            assert conn.execute(f"SELECT {n} AS wg_batched_{n}").fetchone() == (n,)
        if time.monotonic() - started < 1.5:  # well inside the interval: nothing yet
            assert _statements(gateway, "wg_batched_") == []
        record = gateway.wait_for_event(
            lambda e: "wg_batched_2" in e.get("statement", ""), timeout=10
        )
        assert record["decision"] == "allow"
        # the three commands and their completions came out in one batch, in order
        assert _statements(gateway, "wg_batched_") == [
            f"SELECT {n} AS wg_batched_{n}" for n in range(3)
        ]
        assert len([e for e in gateway.events("command_done") if e.get("rows") == 1]) >= 3


def test_by_default_a_line_follows_its_command_within_moments(
    machine_pg: Any, gateway_factory: Any
) -> None:
    gateway = _gateway(gateway_factory, machine_pg, {"level": "info"})  # flush: 10 ms
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 'wg_default_interval'").fetchone()
        finished = time.monotonic()
        gateway.wait_for_event(lambda e: "wg_default_interval" in e.get("statement", ""), timeout=5)
        assert time.monotonic() - finished < 2
