"""pgbench through the gateway in every query mode, with no failed transactions."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from support.gateway import Gateway

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def pgbench(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    argv = ["pgbench", *args, gateway.dsn("scram", dbname="app")]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=90, check=False)


@pytest.fixture(scope="module")
def initialized(cluster_gateway: Gateway) -> Gateway:
    """pgbench tables at scale 1, created through the gateway (COPY FROM STDIN included)."""
    result = pgbench(cluster_gateway, "-i", "-s", "1", "-q")
    assert result.returncode == 0, result.stderr
    return cluster_gateway


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_mode(initialized: Gateway, mode: str) -> None:
    result = pgbench(initialized, "-n", "-M", mode, "-c", "4", "-j", "2", "-T", "2")
    assert result.returncode == 0, result.stderr + result.stdout
    processed = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    assert processed is not None, result.stdout
    assert int(processed.group(1)) > 0
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    assert failed is None or failed.group(1) == "0", result.stdout
    assert "error" not in result.stderr.lower(), result.stderr
