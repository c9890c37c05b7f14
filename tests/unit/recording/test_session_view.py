"""What the session view reads: frames as text and hex, a session's audit records."""

from __future__ import annotations

from pathlib import Path

from wardgate.audit.api import session_records
from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog
from wardgate.recording.transcript import frame_view, hex_dump, readable
from wardgate.seam import Direction, RecordedFrame


def test_readable_keeps_text_and_dots_the_rest() -> None:
    assert readable(b"\x03SELECT 1\n\tx\x00") == "·SELECT 1\n\tx·"


def test_hex_dump_lines() -> None:
    dump = hex_dump(bytes(range(0x41, 0x41 + 20)))
    first, second = dump.split("\n")
    assert first.startswith("00000000  41 42 43")
    assert first.endswith("|ABCDEFGHIJKLMNOP|")
    assert second.startswith("00000010  51 52 53 54")
    assert second.endswith("|QRST|")


def test_frame_view_limits_what_it_shows() -> None:
    frame = RecordedFrame(1.25, Direction.SERVER_TO_CLIENT, b"x" * 3000)
    view = frame_view(frame, limit=100)
    assert (view["offset"], view["direction"], view["size"]) == (1.25, "s2c", 3000)
    assert view["text"] == "x" * 100
    assert view["truncated"] is True


def test_session_records_filters_and_pages(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "audit")
    log = AuditLog(journal, instance="t", fsync_interval=0)
    log.open()
    for n in range(6):
        log.write("command", {"session": "a" if n % 2 else "b", "n": n})
    journal.close()
    records, last = session_records(tmp_path / "audit", "a", 0, 2)
    assert [r["n"] for r in records] == [1, 3]
    more, _ = session_records(tmp_path / "audit", "a", last, 10)
    assert [r["n"] for r in more] == [5]
    assert session_records(tmp_path / "audit", "nobody", 0, 10)[0] == []


def test_a_session_id_quoted_inside_another_record_is_not_a_match(tmp_path: Path) -> None:
    """The byte pre-filter only decides what is parsed; the session field decides."""
    journal = Journal(tmp_path / "audit")
    log = AuditLog(journal, instance="t", fsync_interval=0)
    log.open()
    log.write("command", {"session": "b", "statement": 'SELECT \'"session":"a"\''})
    log.write("command", {"session": "a", "statement": "SELECT 1"})
    log.write("command", {"session": "a\u00e9", "statement": "SELECT 2"})
    journal.close()
    records, _ = session_records(tmp_path / "audit", "a", 0, 10)
    assert [r["statement"] for r in records] == ["SELECT 1"]
    accented, _ = session_records(tmp_path / "audit", "a\u00e9", 0, 10)
    assert [r["statement"] for r in accented] == ["SELECT 2"]
