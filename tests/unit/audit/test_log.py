"""AuditLog: durability before return, batched fsync, fail closed / open, recovery."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog, AuditUnavailable
from wardgate.audit.reader import JournalReader
from wardgate.audit.verify import journal_lines, verify_lines
from wardgate.metrics import Metrics


class Disk:
    """A write/fsync pair that can be made to fail."""

    def __init__(self) -> None:
        self.broken = False
        self.syncs = 0

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if self.broken:
            raise OSError(5, "Input/output error")
        import os

        return os.write(fd, data)

    def sync(self, fd: int) -> None:
        self.syncs += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, disk: Disk, clock: Clock, **kw: object) -> AuditLog:
    journal = Journal(tmp_path, write=disk.write, sync=disk.sync)
    log = AuditLog(journal, instance="test", clock=clock, metrics=Metrics(), **kw)  # type: ignore[arg-type]
    log.open()
    return log


def test_record_is_in_the_journal_when_write_returns(tmp_path: Path) -> None:
    log = make(tmp_path, Disk(), Clock())
    sealed = log.write("command", {"statement": "select ?"})
    entries = list(JournalReader(tmp_path))
    assert [e.record["type"] for e in entries] == ["audit_start", "command"]
    assert entries[-1].line == sealed.line
    assert entries[-1].record["ts"] == "2023-11-14T22:13:20.000000Z"
    assert entries[-1].record["instance"] == "test"


def test_fsync_zero_syncs_every_record(tmp_path: Path) -> None:
    disk = Disk()
    log = make(tmp_path, disk, Clock(), fsync_interval=0)
    before = disk.syncs
    log.write("command", {})
    log.write("command", {})
    assert disk.syncs == before + 2


def test_fsync_is_batched(tmp_path: Path) -> None:
    disk = Disk()
    log = make(tmp_path, disk, Clock(), fsync_interval=0.01)

    async def run() -> None:
        await log.start()
        for _ in range(50):
            log.write("command", {})
        assert disk.syncs == 0
        await asyncio.sleep(0.05)
        assert 1 <= disk.syncs <= 6
        await log.stop()

    asyncio.run(run())


def test_fail_closed_then_recover(tmp_path: Path) -> None:
    disk, clock = Disk(), Clock()
    log = make(tmp_path, disk, clock)
    assert log.admits_commands()
    disk.broken = True
    with pytest.raises(AuditUnavailable):
        log.write("command", {})
    assert not log.available
    assert not log.admits_commands()
    clock.now += 5
    assert not log.admits_commands()  # the retry failed too
    disk.broken = False
    clock.now += 5
    assert log.admits_commands()
    log.write("command", {"after": True})
    types = [json.loads(line)["type"] for _, line in journal_lines(tmp_path)]
    assert types == ["audit_start", "audit_recovered", "command"]
    assert verify_lines(journal_lines(tmp_path)).ok


def test_fail_open_admits_and_counts(tmp_path: Path) -> None:
    disk = Disk()
    metrics = Metrics()
    journal = Journal(tmp_path, write=disk.write, sync=disk.sync)
    log = AuditLog(journal, instance="t", fail_open=True, metrics=metrics)
    log.open()
    disk.broken = True
    with pytest.raises(AuditUnavailable):
        log.write("command", {})
    assert log.admits_commands()
    log.note_fail_open()
    text = metrics.exposition().decode()
    assert "wardgate_audit_fail_open_total 1.0" in text
    assert "wardgate_audit_available 0.0" in text
    assert "wardgate_audit_journal_errors_total 1.0" in text


def test_restart_continues_the_chain(tmp_path: Path) -> None:
    log = make(tmp_path, Disk(), Clock())
    log.write("command", {})
    log.journal.close()
    again = make(tmp_path, Disk(), Clock())
    again.write("command", {})
    report = verify_lines(journal_lines(tmp_path))
    assert report.ok
    assert report.last_seq == 4


def test_listeners_hear_every_seq(tmp_path: Path) -> None:
    log = make(tmp_path, Disk(), Clock())
    heard: list[int] = []
    log.on_append(lambda sealed: heard.append(sealed.seq))
    log.write("a", {})
    log.write("b", {})
    assert heard == [2, 3]


def test_a_journal_in_use_is_never_written_by_a_second_gateway(tmp_path: Path) -> None:
    first = make(tmp_path, Disk(), Clock())
    second = AuditLog(Journal(tmp_path), instance="other", metrics=Metrics())
    with pytest.raises(OSError, match="in use"):
        second.open()
    asyncio.run(second.stop())  # a failed start shuts down without touching the journal
    first.write("command", {})
    assert [r.record["instance"] for r in JournalReader(tmp_path)] == ["test", "test"]
