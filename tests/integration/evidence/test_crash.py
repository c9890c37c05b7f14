"""kill -9 under load: every command whose result a client received has its record."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from support.gateway import Gateway
from wardgate.cli.main import cli

pytestmark = [pytest.mark.slow, pytest.mark.integration]

WORKERS = 4
LOAD_SECONDS = 3.0


def worker(dsn: str, name: str, completed: Counter[str], stop: threading.Event) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True, application_name=name) as conn:
            while not stop.is_set():
                conn.execute("SELECT 1, pg_backend_pid()").fetchall()
                completed[name] += 1  # the client has the whole result
    except psycopg.Error:
        return  # the gateway died under us


def records(gateway: Gateway) -> list[dict[str, Any]]:
    found = []
    for path in sorted((gateway.dir / "audit").glob("journal-*.log")):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return found


def test_kill_9_loses_no_record_of_a_released_result(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    completed: Counter[str] = Counter()
    stop = threading.Event()
    names = [f"wg-crash-{n}" for n in range(WORKERS)]
    threads = [
        threading.Thread(target=worker, args=(gw.dsn("pg"), name, completed, stop))
        for name in names
    ]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    assert gw.proc is not None
    os.kill(gw.proc.pid, signal.SIGKILL)  # mid-load, no chance to flush anything
    gw.proc.wait(10)
    stop.set()
    for thread in threads:
        thread.join(10)
    journal = records(gw)
    sessions = {r["session"]: r["application"] for r in journal if r["type"] == "session_start"}
    audited: Counter[str] = Counter(
        sessions[r["session"]]
        for r in journal
        if r["type"] == "command" and r.get("status") == "SELECT 1" and r["session"] in sessions
    )
    assert sum(completed.values()) > 50, completed
    for name in names:
        assert audited[name] >= completed[name], (name, audited[name], completed[name])
    # the journal survives intact and the next start continues the chain
    gw.proc = None
    gw.start()
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchall()
    result = CliRunner().invoke(cli, ["audit", "verify", "-c", str(gw.config_path)])
    assert result.exit_code == 0, result.output
