"""The admin listener: health, readiness and Prometheus metrics."""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest

from support.gateway import Gateway

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_health_and_ready(machine_gateway: Gateway) -> None:
    with httpx.Client(base_url=machine_gateway.admin_url, timeout=5) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_metrics_count_traffic(machine_gateway: Gateway) -> None:
    with httpx.Client(base_url=machine_gateway.admin_url, timeout=5) as client:
        before = client.get("/metrics").text
        with psycopg.connect(machine_gateway.dsn("pg")) as conn:
            conn.execute("SELECT 1").fetchall()
            during = client.get("/metrics").text
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(machine_gateway.dsn("pg", token="bad-token"), connect_timeout=10)
        after = client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    names = {
        line.split("{")[0].split(" ")[0]
        for line in after.text.splitlines()
        if line and line[0] != "#"
    }
    assert names, after.text
    assert all(
        name.startswith("wardgate_")
        for name in names
        if not name.startswith(("python_", "process_"))
    ), names
    text = after.text
    pg = {"resource": "pg"}
    assert (
        metric(text, "wardgate_connections_total", **pg)
        >= metric(before, "wardgate_connections_total", **pg) + 2
    )
    assert metric(during, "wardgate_sessions_active", **pg) >= 1
    assert metric(text, "wardgate_commands_total", **pg) > metric(
        before, "wardgate_commands_total", **pg
    )
    assert metric(text, "wardgate_bytes_total", **pg) > metric(before, "wardgate_bytes_total", **pg)
    assert (
        metric(text, "wardgate_auth_failures_total", **pg)
        >= metric(before, "wardgate_auth_failures_total", **pg) + 1
    )
