"""`EventLog`: the line format, one write per loop iteration, order, exit, threads, failures."""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardgate.eventlog import MAX_BUFFERED, EventLog, members, quote, render, timestamp_text

ROOT = Path(__file__).resolve().parents[3]


class CountingStream(io.StringIO):
    """A stream that counts `write` calls (one per syscall for a real file)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


class BrokenStream(io.StringIO):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise self.error


def events(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["event"] for line in stream.getvalue().splitlines()]


# -- the line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"resource": "pg", "statement": "SELECT 'é' -- \"quoted\"\n", "flags": [], "n": 3},
        {"tables": ["a", "b"], "masked": {"email": 2}, "error": None, "ok": True, "x": 1.5},
        {"path": Path("/tmp/x"), "value": object},  # not JSON types: written as str()
        {"ts": "a field called ts", "after": 1},
    ],
    ids=["no-fields", "strings", "values", "default-str", "ts-field"],
)
def test_line_is_the_json_of_the_merged_record(fields: dict[str, Any]) -> None:
    line = render("command", "info", fields)
    assert line.endswith("\n")
    assert line.count("\n") == 1
    record = json.loads(line)
    ts = record["ts"] if "ts" not in fields else 0.0
    merged = {"ts": ts, "level": "info", "event": "command", **fields}
    if "ts" not in fields:
        assert isinstance(ts, float)
        assert ts == round(ts, 6)
    expected = json.dumps(merged, default=str, ensure_ascii=False) + "\n"
    assert line == expected  # the same keys, values, order and separators as json.dumps


@given(st.floats(min_value=-1.0, max_value=2.0**34, allow_nan=False))
def test_timestamp_text_is_the_repr_of_the_rounded_float(now: float) -> None:
    assert timestamp_text(now) == repr(round(now, 6))


@given(
    st.integers(min_value=2**15, max_value=2**33 - 1),
    st.integers(min_value=0, max_value=999_999),
    st.integers(min_value=-3, max_value=3),
)
def test_timestamp_text_around_half_microseconds(seconds: int, micros: int, steps: int) -> None:
    """Ties and near-ties, where rounding the microseconds could go either way."""
    now = seconds + (micros + 0.5) / 1e6
    for _ in range(abs(steps)):
        now = math.nextafter(now, math.inf if steps > 0 else -math.inf)
    assert timestamp_text(now) == repr(round(now, 6))


@pytest.mark.parametrize(
    "now",
    [
        0.0,
        1e-7,
        1.0,
        1795641212.0,
        1795641212.0000005,  # half-way between two microseconds
        1795641212.9999995,
        1795641212.123456789,
        2.0**33 - 1e-3,
        2.0**33 + 0.1234567,
        2.0**15 - 1e-7,
        2.0**15,
        32768.0000005,
    ],
)
def test_timestamp_text_at_the_edges(now: float) -> None:
    assert timestamp_text(now) == repr(round(now, 6))


def test_event_and_level_names_are_escaped() -> None:
    record = json.loads(render('odd "event"\n', "info", {"a": 1}))
    assert record["event"] == 'odd "event"\n'


@pytest.mark.parametrize(
    ("bound", "fields"),
    [
        ({"resource": "pg", "session": "s-1", "client": "127.0.0.1:5"}, {"rows": 1, "tags": ["a"]}),
        ({"resource": "pg"}, {}),
        ({}, {"rows": 1}),
        ({"resource": "pg", "session": "s-1"}, {"session": "other", "rows": 2}),  # overlap
        ({"resource": "pg"}, {"ts": "mine"}),
        ({"ts": "bound", "resource": "pg"}, {"rows": 3}),
    ],
    ids=["fields", "no-fields", "nothing-bound", "overlap", "ts-field", "ts-bound"],
)
def test_a_bound_log_writes_what_the_merged_emit_writes(
    bound: dict[str, Any], fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1795641212.123456)
    merged, spliced = io.StringIO(), io.StringIO()
    EventLog(merged).emit("command_done", **{**bound, **fields})
    EventLog(spliced).bind(**bound).emit("command_done", **fields)
    assert spliced.getvalue() == merged.getvalue()


@pytest.mark.parametrize(
    ("bound", "fields"),
    [
        ({"resource": "pg", "session": "s-1"}, {"rows": 1, "tags": ["a"], "s": 'q"\n'}),
        ({"resource": "pg"}, {}),
        ({}, {"rows": 1}),
        ({}, {}),
    ],
    ids=["fields", "no-fields", "nothing-bound", "nothing"],
)
def test_a_writer_writes_what_emit_writes(
    bound: dict[str, Any], fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1795641212.123456)
    emitted, encoded = io.StringIO(), io.StringIO()
    EventLog(emitted).bind(**bound).emit("command_done", **fields)
    EventLog(encoded).bind(**bound).writer("command_done", "info")(members(fields))
    assert encoded.getvalue() == emitted.getvalue()
    assert quote('é "q"\n') == json.dumps('é "q"\n', ensure_ascii=False)


def test_a_writer_needs_a_log_without_a_bound_ts() -> None:
    with pytest.raises(ValueError, match="ts"):
        EventLog(io.StringIO()).bind(ts="mine").writer("x", "info")


def test_a_bound_log_keeps_the_level_threshold() -> None:
    stream = io.StringIO()
    bound = EventLog(stream, level="warning").bind(resource="pg")
    assert not bound.enabled("info")
    bound.emit("quiet")
    bound.emit("loud", level="error", n=1)
    [record] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert list(record) == ["ts", "level", "event", "resource", "n"]
    assert (record["event"], record["resource"], record["n"]) == ("loud", "pg", 1)


# -- when lines are written ----------------------------------------------------------------


def test_without_a_running_loop_each_line_is_written_at_once() -> None:
    stream = CountingStream()
    log = EventLog(stream)
    log.emit("one")
    assert events(stream) == ["one"]
    log.emit("two", n=2)
    assert events(stream) == ["one", "two"]


def test_in_a_loop_lines_are_written_together_on_the_next_iteration() -> None:
    stream = CountingStream()
    log = EventLog(stream)

    async def main() -> None:
        for n in range(5):
            log.emit("command", n=n)
        assert stream.getvalue() == ""  # buffered for this iteration
        await asyncio.sleep(0)
        assert events(stream) == ["command"] * 5
        assert stream.writes == 1  # one write for the five lines
        log.emit("command_done")
        await asyncio.sleep(0)
        assert stream.writes == 2

    asyncio.run(main())
    numbers = [json.loads(line).get("n") for line in stream.getvalue().splitlines()]
    assert numbers == [0, 1, 2, 3, 4, None]


def test_with_a_flush_interval_lines_wait_for_it_and_go_out_in_one_write() -> None:
    """`logging.flush_interval`: a routine line waits up to the interval, not one turn."""
    stream = CountingStream()
    log = EventLog(stream, flush_interval=0.3)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        log.emit("command", n=0)
        for _ in range(5):
            await asyncio.sleep(0)
        assert stream.getvalue() == ""  # several iterations later, still buffered
        log.emit("command", n=1)
        await asyncio.sleep(0.02)
        assert stream.getvalue() == ""  # 20 ms in: still within the interval
        await asyncio.sleep(0.6)
        assert loop.time() - started >= 0.3
        assert events(stream) == ["command", "command"]
        assert stream.writes == 1  # both lines, one write
        log.emit("command_done")
        log.emit("trouble", level="warning")  # at once, after what is buffered
        assert events(stream)[2:] == ["command_done", "trouble"]
        log.emit("late")
        await asyncio.sleep(0.6)
        assert events(stream)[-1] == "late"

    asyncio.run(main())


def test_lines_from_the_loops_thread_join_the_scheduled_flush_and_keep_their_order() -> None:
    """Once a flush is scheduled, later lines skip the running-loop lookup, not the order."""
    stream = CountingStream()
    log = EventLog(stream)

    async def main() -> None:
        for turn in range(3):
            for n in range(4):
                log.emit("command", turn=turn, n=n)
            log.emit("trouble", level="warning", turn=turn)  # at once, after the buffer
            log.emit("command_done", turn=turn)
            await asyncio.sleep(0)

    asyncio.run(main())
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["event"], r["turn"], r.get("n")) for r in records] == [
        item
        for turn in range(3)
        for item in [("command", turn, n) for n in range(4)]
        + [("trouble", turn, None), ("command_done", turn, None)]
    ]
    assert stream.writes == 6  # per turn: the warning's write, then the scheduled flush


def test_warnings_and_errors_are_written_at_once_after_what_is_buffered() -> None:
    stream = CountingStream()
    log = EventLog(stream)

    async def main() -> None:
        log.emit("routine")
        log.emit("trouble", level="warning")
        assert events(stream) == ["routine", "trouble"]
        log.emit("failed", level="error")
        assert events(stream) == ["routine", "trouble", "failed"]

    asyncio.run(main())


def test_a_full_buffer_is_written_within_the_iteration() -> None:
    stream = CountingStream()
    log = EventLog(stream)
    big = "x" * 1000

    async def main() -> None:
        for n in range(MAX_BUFFERED // 1000 + 5):
            log.emit("command", n=n, statement=big)
        assert stream.writes >= 1
        assert len(stream.getvalue()) > MAX_BUFFERED

    asyncio.run(main())
    assert [json.loads(line)["n"] for line in stream.getvalue().splitlines()] == list(
        range(MAX_BUFFERED // 1000 + 5)
    )


def test_flush_writes_what_is_buffered() -> None:
    stream = CountingStream()
    log = EventLog(stream)

    async def main() -> None:
        log.emit("a")
        log.emit("b")
        log.flush()
        assert events(stream) == ["a", "b"]
        log.flush()  # nothing buffered: no empty write
        assert stream.writes == 1

    asyncio.run(main())


def test_levels_below_the_threshold_are_not_written() -> None:
    stream = io.StringIO()
    log = EventLog(stream, level="warning")
    assert not log.enabled("info")
    assert log.enabled("error")
    log.emit("quiet")
    log.emit("loud", level="warning")
    assert events(stream) == ["loud"]


def test_lines_left_on_a_stopped_loop_are_written_before_the_next_ones() -> None:
    """A loop stopped before its flush ran: the next emit, from anywhere, writes them first."""
    stream = io.StringIO()
    log = EventLog(stream)
    first = asyncio.new_event_loop()

    def emit_and_stop() -> None:
        log.emit("on_first")
        first.stop()  # the loop stops before the flush callback's iteration

    first.call_soon(emit_and_stop)
    first.run_forever()
    first.close()
    assert stream.getvalue() == ""

    async def main() -> None:
        log.emit("on_second")  # another loop: what the first left is written now, in order
        assert events(stream) == ["on_first", "on_second"]
        log.emit("third")  # and this loop buffers again
        assert events(stream) == ["on_first", "on_second"]
        await asyncio.sleep(0)
        assert events(stream) == ["on_first", "on_second", "third"]

    asyncio.run(main())


def test_buffered_lines_are_written_at_exit() -> None:
    """The loop stops before the flush runs; the atexit hook writes the line."""
    script = """
import asyncio, sys
from wardgate.eventlog import EventLog
log = EventLog(sys.stdout)
loop = asyncio.new_event_loop()
loop.call_soon(lambda: (log.emit("last_words", n=1), loop.stop()))
loop.run_forever()
loop.close()
sys.stderr.write("before exit: %r\\n" % log._lines)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "last_words" in result.stderr  # still buffered when the script ended
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == ["last_words"]


# -- threads and failures --------------------------------------------------------------------


def test_threads_and_the_loop_emit_whole_lines_in_order() -> None:
    stream = io.StringIO()
    log = EventLog(stream)
    per_thread = 300

    def worker(name: str) -> None:
        for n in range(per_thread):
            log.emit("from_thread", thread=name, n=n, pad="y" * 50)

    async def main() -> None:
        threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for n in range(per_thread):
            log.emit("from_loop", thread="loop", n=n)
            if n % 10 == 0:
                await asyncio.sleep(0)
        await asyncio.to_thread(worker, "to_thread")
        for thread in threads:
            await asyncio.to_thread(thread.join)

    asyncio.run(main())
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(records) == per_thread * 6
    by_thread: dict[str, list[int]] = {}
    for record in records:
        by_thread.setdefault(record["thread"], []).append(record["n"])
    assert all(numbers == list(range(per_thread)) for numbers in by_thread.values())
    assert len(by_thread) == 6


@pytest.mark.parametrize("error", [OSError("disk full"), ValueError("closed file")])
def test_a_broken_stream_drops_lines_and_never_raises(error: Exception) -> None:
    stream = BrokenStream(error)
    log = EventLog(stream)
    log.emit("no_loop")
    log.emit("error", level="error")

    async def main() -> None:
        log.emit("in_loop")
        await asyncio.sleep(0)  # the flush callback fails quietly
        log.emit("in_loop_again")

    asyncio.run(main())
    log.flush()
    assert log._lines == []  # dropped, not kept to grow


def test_a_closed_stream_never_raises() -> None:
    stream = io.StringIO()
    log = EventLog(stream)
    stream.close()
    log.emit("after_close", level="error")

    async def main() -> None:
        log.emit("after_close")
        await asyncio.sleep(0)

    asyncio.run(main())
