"""Journal retention on a real journal: what goes, what a sink still needs, the evidence."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path

import pytest

from wardgate.audit.config import AuditConfig, AuditRetention
from wardgate.audit.journal import Journal, segments
from wardgate.audit.log import AuditLog
from wardgate.audit.reader import JournalReader
from wardgate.audit.retention import Pruned, Pruner, closed_segments, journal_bytes, prune
from wardgate.audit.verify import journal_lines, verify_lines
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics

NOW = 1_800_000_000.0
DAY = 86_400.0


def filled(tmp_path: Path, records: int = 200) -> AuditLog:
    """An open audit log whose journal rolled over into several 4 KiB segments."""
    log = AuditLog(Journal(tmp_path, segment_bytes=4096), instance="t", metrics=Metrics())
    log.open()
    for n in range(records):
        log.write("command", {"statement": f"SELECT {n} FROM orders WHERE id = ?", "n": n})
    return log


def age(tmp_path: Path, days_by_index: dict[int, float]) -> None:
    """Set segment i's last write `days` before NOW."""
    found = segments(tmp_path)
    for index, days in days_by_index.items():
        stamp = NOW - days * DAY
        os.utime(found[index][1], (stamp, stamp))


def test_old_segments_go_oldest_first_and_the_rest_still_verifies(tmp_path: Path) -> None:
    log = filled(tmp_path)
    before = segments(tmp_path)
    assert len(before) >= 5
    age(tmp_path, {0: 40, 1: 35, 2: 31, 3: 2})
    pruned = prune(tmp_path, delivered=log.head_seq, max_age=30 * DAY, max_bytes=None, now=NOW)
    assert pruned is not None
    assert (pruned.segments, pruned.reason, pruned.first_seq) == (3, "max_age", 1)
    assert pruned.last_seq == before[3][0] - 1
    assert [path for _, path in segments(tmp_path)] == [path for _, path in before[3:]]
    log.write("journal_pruned", {"first_seq": pruned.first_seq, "last_seq": pruned.last_seq})
    report = verify_lines(journal_lines(tmp_path))
    assert report.problem is None, report.problem
    assert report.first_seq == before[3][0]  # the kept chain starts where the cut was
    assert report.last_seq == log.head_seq


def test_nothing_a_sink_has_not_saved_past_is_deleted(tmp_path: Path) -> None:
    log = filled(tmp_path)
    found = segments(tmp_path)
    age(tmp_path, dict.fromkeys(range(len(found)), 400))
    cursor = found[2][0]  # the sink's saved cursor is inside the third segment
    pruned = prune(tmp_path, delivered=cursor, max_age=DAY, max_bytes=None, now=NOW)
    assert pruned is not None
    assert pruned.last_seq <= cursor
    assert pruned.segments == 2
    remaining = [entry.seq for entry in JournalReader(tmp_path, after=cursor)]
    assert remaining[0] == cursor + 1  # the sink resumes exactly where it left off
    assert remaining[-1] == log.head_seq


def test_the_newest_segment_is_never_deleted(tmp_path: Path) -> None:
    log = filled(tmp_path)
    found = segments(tmp_path)
    age(tmp_path, dict.fromkeys(range(len(found)), 400))
    pruned = prune(tmp_path, delivered=log.head_seq, max_age=0, max_bytes=0, now=NOW)
    assert pruned is not None
    assert segments(tmp_path) == found[-1:]
    log.write("command", {"statement": "after the cut"})  # the journal still takes records
    assert verify_lines(journal_lines(tmp_path)).problem is None


def test_max_bytes_deletes_the_oldest_until_the_journal_fits(tmp_path: Path) -> None:
    log = filled(tmp_path)
    total = journal_bytes(tmp_path)
    limit = total // 2
    pruned = prune(tmp_path, delivered=log.head_seq, max_age=None, max_bytes=limit, now=NOW)
    assert pruned is not None
    assert pruned.reason == "max_bytes"
    assert journal_bytes(tmp_path) <= limit
    assert journal_bytes(tmp_path) + max(s.size for s in closed_segments(tmp_path)) > limit


def test_within_the_limits_nothing_happens(tmp_path: Path) -> None:
    log = filled(tmp_path)
    found = segments(tmp_path)
    assert prune(tmp_path, delivered=log.head_seq, max_age=DAY, max_bytes=None) is None
    assert prune(tmp_path, delivered=log.head_seq, max_age=None, max_bytes=10 * 2**20) is None
    assert segments(tmp_path) == found


def test_the_pruner_seals_each_deletion_into_the_chain(tmp_path: Path) -> None:
    log = filled(tmp_path)
    metrics = Metrics()
    stream = io.StringIO()
    age(tmp_path, dict.fromkeys(range(len(segments(tmp_path))), 400))

    def record(pruned: Pruned) -> None:
        log.write("journal_pruned", {"first_seq": pruned.first_seq, "last_seq": pruned.last_seq})

    pruner = Pruner(
        tmp_path,
        max_age=DAY,
        max_bytes=None,
        delivered=lambda: log.head_seq,
        record=record,
        metrics=metrics,
        log=EventLog(stream),
    )
    pruned = asyncio.run(pruner.once())
    assert pruned is not None
    last = [entry.record for entry in JournalReader(tmp_path)][-1]
    assert (last["type"], last["first_seq"], last["last_seq"]) == (
        "journal_pruned",
        1,
        pruned.last_seq,
    )
    [line] = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert (line["event"], line["segments"], line["reason"]) == (
        "journal_pruned",
        pruned.segments,
        "max_age",
    )
    assert metrics.audit_pruned_segments._value.get() == pruned.segments
    assert metrics.audit_journal_bytes._value.get() == journal_bytes(tmp_path)
    assert verify_lines(journal_lines(tmp_path)).problem is None


def test_retention_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="max_age, max_bytes"):
        AuditRetention()
    config = AuditConfig(retention={"max_age": "90d", "max_bytes": "20GiB"})  # type: ignore[arg-type]
    assert config.retention is not None
    assert config.retention.max_age == 90 * DAY
    assert config.retention.max_bytes == 20 * 2**30
    assert AuditConfig().retention is None  # default: keep everything
