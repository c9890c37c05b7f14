"""Recordings: round trip, closing digest, crash-truncated files, retention, transcript."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

from wardgate.metrics import Metrics
from wardgate.recording.catalog import find_recording, list_sessions
from wardgate.recording.reader import read_recording, server_bytes
from wardgate.recording.retention import Retention
from wardgate.recording.transcript import play, printable
from wardgate.recording.writer import Recorder
from wardgate.seam import Direction

C2S, S2C = Direction.CLIENT_TO_SERVER, Direction.SERVER_TO_CLIENT
HEADER = {
    "session": "abc123",
    "identity": "agent",
    "resource": "pg",
    "protocol": "postgres",
    "started": "2024-01-01T00:00:00.000000Z",
}


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def record(tmp_path: Path, frames: list[tuple[Direction, bytes]], **kw: object) -> Path:
    async def run() -> Path:
        recorder = Recorder(tmp_path, monotonic=Ticks(), metrics=Metrics(), **kw)  # type: ignore[arg-type]
        await recorder.start()
        recording = recorder.open("abc123", HEADER)
        for direction, data in frames:
            recording.frame(direction, data)
        summary = await recording.close("client disconnected", "2024-01-01T00:00:09Z")
        await recorder.stop()
        assert summary.frames == len(frames)
        assert summary.sha256
        return recording.path

    return asyncio.run(run())


def test_round_trip_keeps_bytes_order_and_timing(tmp_path: Path) -> None:
    frames = [(S2C, b"greeting"), (C2S, b"Q select 1"), (S2C, b"row\x00\x01"), (S2C, b"Z")]
    path = record(tmp_path, frames, flush_bytes=8)
    recording = read_recording(path)
    assert recording.header == HEADER
    assert [(f.direction, f.data) for f in recording.frames] == frames
    offsets = [f.offset for f in recording.frames]
    assert offsets == sorted(offsets)
    assert offsets[0] > 0
    assert recording.complete
    assert recording.verify() == ""
    assert recording.footer is not None
    assert recording.footer["bytes_s2c"] == 14
    assert server_bytes(recording) == b"greetingrow\x00\x01Z"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_edited_recording_fails_its_digest(tmp_path: Path) -> None:
    path = record(tmp_path, [(S2C, b"balance: 100")])
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[data.index(b"100")] = ord("9")
    path.write_bytes(gzip.compress(bytes(data)))
    assert "digest" in read_recording(path).verify()


def test_crash_truncated_recording_is_readable_up_to_the_last_flush(tmp_path: Path) -> None:
    async def run() -> None:
        recorder = Recorder(tmp_path, metrics=Metrics(), flush_interval=0.01)
        await recorder.start()
        live = recorder.open("abc123", HEADER)
        live.frame(S2C, b"first")
        live.frame(C2S, b"second")
        await asyncio.sleep(0.1)  # the ticker's sync flush
        # read while the writer is mid-stream: what a killed process leaves behind
        recording = read_recording(live.path)
        assert [f.data for f in recording.frames] == [b"first", b"second"]
        assert not recording.complete
        assert "footer" in recording.verify()
        await recorder.stop()

    asyncio.run(run())


def test_catalog_lists_and_finds(tmp_path: Path) -> None:
    record(tmp_path, [(S2C, b"x")])
    [info] = list_sessions(tmp_path)
    assert info.id == "abc123"
    assert info.as_dict()["identity"] == "agent"
    assert find_recording(tmp_path, "abc").name == "abc123.wgrec.gz"


def test_retention_by_age_and_size(tmp_path: Path) -> None:
    for index, age in enumerate((10, 5, 1)):
        path = tmp_path / f"s{index}.wgrec.gz"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 - age * 86400, 1000 - age * 86400))
    active = tmp_path / "live.wgrec.gz"
    active.write_bytes(b"x" * 1000)
    deleted = Retention(tmp_path, max_age=7 * 86400, clock=lambda: 1000).sweep({active})
    assert [p.name for p in deleted] == ["s0.wgrec.gz"]
    deleted = Retention(tmp_path, max_bytes=2500, clock=lambda: 1000).sweep({active})
    assert [p.name for p in deleted] == ["s1.wgrec.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.wgrec.gz", "s2.wgrec.gz"]


def test_transcript_speed_scales_the_pauses(tmp_path: Path) -> None:
    path = record(tmp_path, [(S2C, b"a"), (C2S, b"b\n")])
    frames = read_recording(path).frames
    slept: list[float] = []
    blocks = list(play(frames, speed=2.0, sleep=slept.append))
    assert len(blocks) == 2
    assert "server → client (1 bytes)" in blocks[0][0]
    assert slept[0] == frames[0].offset / 2
    slept.clear()
    list(play(frames, speed=0, sleep=slept.append))
    assert slept == []
    assert printable(b"ok\n\\") == "ok\\x0a\\x5c"
