"""`audit.retention` on a real gateway: the journal stays bounded while the sinks keep
every record, each cut is sealed into the chain, and what remains still verifies."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from click.testing import CliRunner

from support.gateway import Gateway, pg_resource
from wardgate.cli.main import cli

from .conftest import evidence_config


def segments(gateway: Gateway) -> list[Path]:
    return sorted((gateway.dir / "audit").glob("journal-*.log"))


def journal(gateway: Gateway) -> list[dict[str, Any]]:
    return [
        json.loads(line) for path in segments(gateway) for line in path.read_text().splitlines()
    ]


def test_the_journal_is_pruned_behind_the_sinks_and_still_verifies(
    gateway_factory: Any, machine_pg: Any
) -> None:
    resource = pg_resource(
        "pg", host=machine_pg.host, port=machine_pg.port, user=machine_pg.user, password=""
    )
    retention = {"max_bytes": "16KiB", "check_interval": "200ms"}
    config = evidence_config(segment_bytes="4KiB", retention=retention)
    gateway: Gateway = gateway_factory([resource], extra_config=config)
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:
        for index in range(150):
            conn.execute("SELECT %s::int AS n, 'padding padding padding'", (index,)).fetchall()
    head = journal(gateway)[-1]["seq"]

    pruned = gateway.wait_for_event(lambda r: r.get("event") == "journal_pruned", timeout=10)
    assert pruned["reason"] == "max_bytes"
    deadline = time.monotonic() + 10
    while sum(p.stat().st_size for p in segments(gateway)) > 16 * 1024 + 4096:
        assert time.monotonic() < deadline, "the journal did not shrink"
        time.sleep(0.1)

    records = journal(gateway)
    assert records[0]["seq"] > 1  # the oldest records are gone from the journal …
    cuts = [r for r in records if r["type"] == "journal_pruned"]
    assert cuts, "each deletion is sealed into the chain"
    assert cuts[0]["first_seq"] == 1
    # … but every sink has them all: the store, the JSONL file
    jsonl = gateway.dir / "audit.jsonl"

    def delivered() -> list[int]:
        return [json.loads(line)["seq"] for line in jsonl.read_text().splitlines()]

    deadline = time.monotonic() + 10
    while len(delivered()) < head:  # the file sink may still be catching up
        assert time.monotonic() < deadline, "the file sink did not catch up"
        time.sleep(0.1)
    assert delivered()[:head] == list(range(1, head + 1))

    result = CliRunner().invoke(cli, ["audit", "verify", "-c", str(gateway.config_path)])
    assert result.exit_code == 0, result.output
    assert "store instance" in result.output

    metrics = httpx.get(gateway.admin_url + "/metrics").text
    pruned_total = re.search(r"^wardgate_audit_pruned_segments_total (\S+)$", metrics, re.M)
    assert pruned_total is not None
    assert float(pruned_total.group(1)) >= 1
    assert re.search(r"^wardgate_audit_journal_bytes \d", metrics, re.M)
