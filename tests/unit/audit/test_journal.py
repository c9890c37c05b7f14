"""The journal: os.write per record, segments, torn-tail recovery, locking, failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wardgate.audit.chain import Chain
from wardgate.audit.journal import Journal, JournalError, recover, segments
from wardgate.audit.reader import JournalReader
from wardgate.audit.verify import journal_lines, verify_lines


def fill(journal: Journal, chain: Chain, count: int) -> None:
    for index in range(count):
        sealed = chain.seal({"type": "t", "n": index, "pad": "x" * 100})
        journal.append(sealed.seq, sealed.line)
        chain.advance(sealed)


def test_every_append_reaches_the_file_at_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.recover()
    chain = Chain()
    fill(journal, chain, 3)
    # no close, no flush: another reader already sees all three lines
    assert len(list(JournalReader(tmp_path))) == 3
    journal.close()


def test_segments_rotate_and_readers_cross_them(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=4096)
    journal.recover()
    chain = Chain()
    fill(journal, chain, 100)
    journal.close()
    assert len(segments(tmp_path)) > 3
    assert [e.seq for e in JournalReader(tmp_path)] == list(range(1, 101))
    assert [e.seq for e in JournalReader(tmp_path, after=57)] == list(range(58, 101))
    assert verify_lines(journal_lines(tmp_path)).ok


def test_recovery_continues_the_chain(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=4096)
    journal.recover()
    chain = Chain()
    fill(journal, chain, 40)
    journal.close()
    again = Journal(tmp_path, segment_bytes=4096)
    chain2 = Chain(head=again.recover().head)
    assert chain2.head == chain.head
    fill(again, chain2, 5)
    again.close()
    report = verify_lines(journal_lines(tmp_path))
    assert report.ok
    assert report.last_seq == 45


def test_torn_tail_is_set_aside_and_cut(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.recover()
    chain = Chain()
    fill(journal, chain, 3)
    journal.close()
    (_, path), *_ = segments(tmp_path)
    with path.open("ab") as handle:
        handle.write(b'{"seq": 4, "half')
    recovery = recover(tmp_path)
    assert recovery.head.seq == 3
    assert recovery.truncated_bytes == len(b'{"seq": 4, "half')
    assert path.read_bytes().endswith(b"}\n")
    assert path.with_name(path.name + ".torn").read_bytes() == b'{"seq": 4, "half'


def test_one_writer_per_journal(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.recover()
    with pytest.raises(JournalError, match="in use"):
        Journal(tmp_path).recover()
    first.close()
    Journal(tmp_path).recover()


def test_failed_write_leaves_no_partial_line(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            os.write(fd, bytes(data[:10]))  # half a record, then the disk fails
            raise OSError(28, "No space left on device")
        return os.write(fd, data)

    journal = Journal(tmp_path, write=flaky)
    journal.recover()
    chain = Chain()
    fill(journal, chain, 1)
    sealed = chain.seal({"type": "t"})
    with pytest.raises(JournalError):
        journal.append(sealed.seq, sealed.line)
    journal.append(sealed.seq, sealed.line)  # the retry starts on a clean line
    chain.advance(sealed)
    journal.close()
    lines = [json.loads(line) for _, line in journal_lines(tmp_path)]
    assert [r["seq"] for r in lines] == [1, 2]


def test_reader_started_before_the_first_segment_sees_it(tmp_path: Path) -> None:
    reader = JournalReader(tmp_path)
    assert reader.read() == []
    journal = Journal(tmp_path)
    journal.recover()
    fill(journal, Chain(), 2)
    journal.close()
    assert [e.seq for e in reader.read()] == [1, 2]


def test_short_writes_are_completed_in_order(tmp_path: Path) -> None:
    def trickle(fd: int, data: bytes | memoryview) -> int:
        return os.write(fd, bytes(data[:7]))  # the kernel may take less than asked

    journal = Journal(tmp_path, write=trickle)
    journal.recover()
    chain = Chain()
    for index in range(3):
        sealed = chain.seal({"type": "command", "statement": f"select {index} -- é"})
        journal.append(sealed.seq, sealed.line)
        chain.advance(sealed)
    journal.close()
    assert [e.record["statement"] for e in JournalReader(tmp_path)] == [
        f"select {index} -- é" for index in range(3)
    ]
    assert verify_lines(journal_lines(tmp_path)).ok
