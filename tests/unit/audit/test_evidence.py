"""`GatewaySession` wired to evidence: records per command, fail closed, fail open, recording."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wardgate.audit.evidence import AUDIT_UNAVAILABLE_RULE, Evidence
from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog, AuditUnavailable
from wardgate.audit.verify import journal_lines, verify_lines
from wardgate.eventlog import EventLog
from wardgate.gate.session import GatewaySession, SessionServices
from wardgate.metrics import Metrics
from wardgate.policy.engine import AllowAllPolicy
from wardgate.recording.reader import read_recording
from wardgate.recording.writer import Recorder
from wardgate.seam import (
    Action,
    ClientInfo,
    Command,
    Direction,
    Identity,
    Outcome,
    UpstreamCredential,
)

T = TypeVar("T")
PASSWORD = "upstream-password-never-recorded"
IDENTITY = Identity("agent-1", frozenset({"agents"}))
CLIENT = ClientInfo("127.0.0.1", 50000, user="alice", application="psql")


class Disk:
    def __init__(self) -> None:
        self.broken = False

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if self.broken:
            raise OSError(28, "No space left on device")
        return os.write(fd, data)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def release(credential: UpstreamCredential) -> None:
    return None


class Harness:
    def __init__(self, tmp_path: Path, fail_open: bool = False, record: bool = False) -> None:
        self.disk = Disk()
        self.metrics = Metrics()
        journal = Journal(tmp_path / "audit", write=self.disk.write)
        self.audit = AuditLog(
            journal, instance="t", fail_open=fail_open, metrics=self.metrics, retry_interval=60
        )
        self.audit.open()
        self.recorder = Recorder(tmp_path / "rec", metrics=self.metrics) if record else None
        evidence = Evidence(self.audit, self.recorder, metrics=self.metrics)
        self.services = SessionServices(
            "orders",
            "postgres",
            AllowAllPolicy("v1"),
            self.metrics,
            EventLog(level="error"),
            evidence=evidence,
        )

    def session(self) -> GatewaySession:
        credential = UpstreamCredential("app", PASSWORD)
        session = GatewaySession(
            self.services, "s1", IDENTITY, CLIENT, "orders", credential, release
        )
        session.opened()
        return session

    def records(self, tmp_path: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for _, line in journal_lines(tmp_path / "audit")]


def query(sql: str) -> Command:
    return Command("query", sql, dialect="postgres", database="orders")


def test_command_record_joins_decision_and_outcome(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def go() -> None:
        session = h.session()
        decision = await session.decide(query("SELECT * FROM t WHERE ssn = '123-45-6789'"))
        await session.report(Outcome(decision.command_id, rows=3, bytes_out=90, status="SELECT 3"))
        session.event("refused", command_id="x", reason="FunctionCall")
        await session.close("client terminated")

    run(go())
    records = h.records(tmp_path)
    assert [r["type"] for r in records] == [
        "audit_start",
        "session_start",
        "command",
        "session_event",
        "session_end",
    ]
    command = records[2]
    assert command["statement"] == "select * from t where ssn = ?"
    assert command["rows"] == 3
    assert command["status"] == "SELECT 3"
    assert command["decision"] == "allow"
    assert command["policy_version"] == "v1"
    assert command["client"] == "127.0.0.1:50000"
    assert command["groups"] == ["agents"]
    assert records[1]["upstream_user"] == "app"
    assert records[1]["application"] == "psql"
    assert PASSWORD not in json.dumps(records)
    assert "123-45-6789" not in json.dumps(records)
    assert verify_lines(journal_lines(tmp_path / "audit")).ok


def test_unreported_command_is_recorded_at_close(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def go() -> None:
        session = h.session()
        await session.decide(query("SELECT 1"))
        await session.close("client disconnected")

    run(go())
    command = next(r for r in h.records(tmp_path) if r["type"] == "command")
    assert "no outcome reported" in command["error"]


def test_fail_closed_refuses_commands_and_results(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def go() -> None:
        session = h.session()
        allowed = await session.decide(query("SELECT 1"))
        h.disk.broken = True
        with pytest.raises(AuditUnavailable):  # the relay must not release this result
            await session.report(Outcome(allowed.command_id, rows=1))
        refused = await session.decide(query("SELECT 2"))
        assert refused.action is Action.DENY
        assert refused.rule == AUDIT_UNAVAILABLE_RULE

    run(go())
    text = h.metrics.exposition().decode()
    assert "wardgate_audit_available 0.0" in text
    assert 'decision="deny"' in text


def test_fail_open_runs_and_counts(tmp_path: Path) -> None:
    h = Harness(tmp_path, fail_open=True)

    async def go() -> None:
        session = h.session()
        h.disk.broken = True
        decision = await session.decide(query("SELECT 1"))
        assert decision.action is Action.ALLOW
        await session.report(Outcome(decision.command_id, rows=1))

    run(go())
    assert "wardgate_audit_fail_open_total 1.0" in h.metrics.exposition().decode()


def test_session_is_recorded_and_its_digest_is_in_the_audit(tmp_path: Path) -> None:
    h = Harness(tmp_path, record=True)

    async def go() -> None:
        assert h.recorder is not None
        await h.recorder.start()
        session = h.session()
        session.record(Direction.SERVER_TO_CLIENT, b"greeting")
        decision = await session.decide(query("SELECT 1"))
        session.record(Direction.CLIENT_TO_SERVER, b"Q select 1")
        session.record(Direction.SERVER_TO_CLIENT, b"result")
        await session.report(Outcome(decision.command_id, rows=1))
        await session.close("client terminated")
        await h.recorder.stop()

    run(go())
    end = h.records(tmp_path)[-1]
    recording = read_recording(tmp_path / "rec" / end["recording"]["file"])
    assert recording.verify() == ""
    assert recording.digest == end["recording"]["sha256"]
    assert recording.header["identity"] == "agent-1"
    assert [f.data for f in recording.frames] == [b"greeting", b"Q select 1", b"result"]
    assert 'wardgate_added_latency_seconds_count{protocol="postgres",resource="orders"} 1.0' in (
        h.metrics.exposition().decode()
    )


def test_review_fields_come_from_the_decision(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    from wardgate.audit.evidence import SessionFacts
    from wardgate.seam import Decision

    evidence = h.services.evidence.session(
        SessionFacts("s9", "orders", "postgres", IDENTITY, CLIENT)
    )
    decision = Decision(
        Action.ALLOW, "agents", command_id="s9-1", review_id="rv-7", approved_by=("dba-1",)
    )
    evidence.decided(query("DELETE FROM t WHERE id = 1"), decision, "v1", ["t"])
    evidence.reported(Outcome("s9-1", rows=1, status="DELETE 1"))
    command = h.records(tmp_path)[-1]
    assert command["review_id"] == "rv-7"
    assert command["approver"] == ["dba-1"]
    assert command["tables"] == ["t"]
    assert command["statement"] == "delete from t where id = ?"


@pytest.mark.parametrize("level", ["info", "debug"])
def test_routine_command_lines_are_debug_when_the_audit_records_them(
    tmp_path: Path, level: str
) -> None:
    import io

    h = Harness(tmp_path)
    stream = io.StringIO()
    h.services.log = EventLog(stream, level=level)

    async def go() -> None:
        session = h.session()
        allowed = await session.decide(query("SELECT 1"))
        await session.report(Outcome(allowed.command_id, rows=1, status="SELECT 1"))
        failed = await session.decide(query("SELECT 2"))
        await session.report(Outcome(failed.command_id, error="division by zero"))

    run(go())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    seen = [(e["event"], e["level"]) for e in lines if e["event"].startswith("command")]
    if level == "info":  # the audit journal holds them; only the error is worth a line
        assert seen == [("command_done", "info")]
    else:
        assert seen == [
            ("command", "debug"),
            ("command_done", "debug"),
            ("command", "debug"),
            ("command_done", "info"),
        ]
    assert len([r for r in h.records(tmp_path) if r["type"] == "command"]) == 2
