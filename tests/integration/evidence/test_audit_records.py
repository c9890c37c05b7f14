"""The audit trail of real sessions: records, chain, tamper detection, sinks, API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from click.testing import CliRunner

from support.gateway import Gateway
from wardgate.cli.main import cli

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def journal_records(gateway: Gateway) -> list[dict[str, Any]]:
    records = []
    for path in sorted((gateway.dir / "audit").glob("journal-*.log")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def wait_for(predicate: Any, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_one_record_per_command_with_redacted_literals(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 'secret-literal' AS v, 42").fetchall()
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT * FROM no_such_table_wg")
    wait_for(lambda: any(r["type"] == "session_end" for r in journal_records(gw)))
    records = journal_records(gw)
    types = [r["type"] for r in records]
    assert types[0] == "audit_start"
    assert "session_start" in types
    commands = [r for r in records if r["type"] == "command"]
    select = next(r for r in commands if "as v" in r["statement"])
    assert select["statement"] == "select ? as v , ?"
    assert "secret-literal" not in json.dumps(records)
    assert select["identity"] == "agent-1"
    assert select["groups"] == ["agents"]
    assert select["resource"] == "pg"
    assert select["protocol"] == "postgres"
    assert select["decision"] == "allow"
    assert select["rows"] == 1
    assert select["status"] == "SELECT 1"
    assert select["kind"] == "read"
    assert select["policy_version"]
    assert select["duration_us"] >= 0
    assert "review_id" in select
    assert "approver" in select
    failed = next(r for r in commands if "no_such_table_wg" in r["statement"])
    assert "does not exist" in failed["error"]
    end = next(r for r in records if r["type"] == "session_end")
    assert end["recording"]["sha256"]


def test_auth_failure_is_audited(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(gw.dsn("pg", token="wgt_wrong-token-value"), connect_timeout=5)
    wait_for(lambda: any(r["type"] == "auth_failure" for r in journal_records(gw)))
    failure = next(r for r in journal_records(gw) if r["type"] == "auth_failure")
    assert failure["resource"] == "pg"
    assert "wgt_wrong-token-value" not in json.dumps(failure)


def test_sinks_catch_up_and_verify_and_tampering_is_named(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        for index in range(20):
            conn.execute("SELECT %s::int", (index,)).fetchall()
    head = journal_records(gw)[-1]["seq"]
    jsonl = gw.dir / "audit.jsonl"
    wait_for(lambda: jsonl.exists() and len(jsonl.read_text().splitlines()) >= head)
    config = str(gw.config_path)
    result = run_cli("audit", "verify", "-c", config)
    assert result.exit_code == 0, result.output
    assert "journal" in result.output
    assert "store instance" in result.output
    assert run_cli("audit", "verify", "--jsonl", str(gw.dir / "audit.ocsf.jsonl")).exit_code == 0
    # one byte changed in the middle of the JSONL file
    data = bytearray(jsonl.read_bytes())
    middle = data.index(b'"rows":1', len(data) // 2)
    data[middle + 7] = ord("7")
    jsonl.write_bytes(bytes(data))
    broken = run_cli("audit", "verify", "--jsonl", str(jsonl))
    assert broken.exit_code == 1
    assert "BROKEN at" in broken.output
    assert "hash does not match" in broken.output


def test_admin_api_serves_audit_and_sessions(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchall()
    wait_for(lambda: any(r["type"] == "session_end" for r in journal_records(gw)))
    assert httpx.get(gw.admin_url + "/api/audit").status_code == 401
    headers = {"Authorization": f"Bearer {gw.token}"}
    page = httpx.get(gw.admin_url + "/api/audit", params={"after": 1}, headers=headers).json()
    assert page["records"][0]["seq"] == 2
    sessions = httpx.get(gw.admin_url + "/api/sessions", headers=headers).json()["sessions"]
    assert len(sessions) == 1
    assert sessions[0]["identity"] == "agent-1"
    detail = httpx.get(gw.admin_url + f"/api/sessions/{sessions[0]['id']}", headers=headers)
    assert detail.json()["digest_ok"] is True
    assert httpx.get(gw.admin_url + "/healthz").status_code == 200


def test_journal_recovery_continues_the_chain(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchall()
    gw.stop()
    gw.start()
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 2").fetchall()
    records = journal_records(gw)
    assert [r["type"] for r in records].count("audit_start") == 2
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    result = run_cli("audit", "verify", "-c", str(gw.config_path))
    assert result.exit_code == 0, result.output


def test_audit_cli_tail_and_export(evidence_gateway: Gateway, tmp_path: Path) -> None:
    gw = evidence_gateway
    with psycopg.connect(gw.dsn("pg"), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchall()
    config = str(gw.config_path)
    tail = run_cli("audit", "tail", "-c", config, "-n", "2", "--no-follow")
    assert tail.exit_code == 0, tail.output
    assert len(tail.output.splitlines()) == 2
    out = tmp_path / "export.ocsf.jsonl"
    exported = run_cli("audit", "export", "-c", config, "--format", "ocsf", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(event["class_uid"] == 6005 for event in events)
    assert run_cli("audit", "verify", "--jsonl", str(out)).exit_code == 0


def test_policy_reload_is_audited(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    gw.config["policy"] = {"default": "allow", "rules": []}
    gw.config_path.write_text(yaml.safe_dump(gw.config, sort_keys=False))
    gw.reload()
    wait_for(lambda: any(r["type"] == "policy_reload" for r in journal_records(gw)))
    reload = next(r for r in journal_records(gw) if r["type"] == "policy_reload")
    assert reload["error"] == ""
    assert reload["old_version"]
    assert reload["new_version"]
