"""Structured operational log: one JSON object per line with an `event` key.

This is the operator's log, not the audit trail. Fields are given by callers;
tokens and passwords are never passed here (the seam keeps them in `repr=False`
fields and no caller formats them).

Theory of operation. With the audit journal off, every command writes two lines
(`command`, `command_done`); each cost a `write` syscall of its own on top of its
encoding. So lines emitted while an event loop runs in the emitting thread are
buffered and written together by one callback the loop runs later, scheduled when
the buffer goes from empty to non-empty: `flush_interval` seconds later
(`call_later`; `wardgate serve` uses `logging.flush_interval`, 10 ms by default) or,
with an interval of 0, on the loop's next iteration (`call_soon`). Lines reach the
stream in emit order. Under load a write per loop iteration was a system call (and
a file-time update) every two or three commands; a write per interval is one per
hundreds of commands.
Everything else is written at once, after whatever is buffered, so the order holds:
lines at `warning` and above, lines emitted with no running loop (start-up, worker
threads, other commands), and a buffer past `MAX_BUFFERED` characters. `flush()`
writes the buffer; the gateway calls it as it stops, and an `atexit` hook flushes
every log still holding lines. One lock guards the buffer and the writes, so
threads may emit too. A failing stream drops the lines it was given, never raises.
Once a flush is scheduled, later lines from the same thread skip the running-loop
lookup (on 3.11 it costs a `getpid` system call) while that loop is running.

Lines are encoded without building the merged dict: a session's fields once
(`BoundLog`), per-command pieces once per distinct value (`BoundLog.writer`,
used by gate/command_lines.py). Every path writes the text `json.dumps` writes for the
merged record; the tests compare them byte for byte.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
#: Lines at this level or above are written at once, not on the next loop iteration.
IMMEDIATE_LEVEL = LEVELS["warning"]
#: Characters buffered before a write is forced within the loop iteration: bounds the
#: memory a burst of lines holds (a `command` line is ≈0.5 KB; statements are cut at
#: `logging.max_statement_chars`).
MAX_BUFFERED = 64 * 1024


def _object_encoder() -> Callable[[dict[str, Any]], str]:
    """`json.dumps(fields, default=str, ensure_ascii=False)`, as cheaply as possible.

    `JSONEncoder.encode` builds a C encoder per call; the C encoder itself
    (`_json.make_encoder`, what `encode` calls) can be kept and reused: 36k instead
    of 52k instructions for a `command` line. It is used only if it is there and
    encodes like `json` does.
    """
    encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
    try:
        from _json import encode_basestring, make_encoder

        # No circular check (markers None): log fields are flat values, lists and dicts.
        fast = make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    except (ImportError, TypeError):  # another interpreter, another signature
        return encode
    sample = {"a": 1.5, "b": ["é", None, True], "c": {"d": 2}, "e": object}

    def encode_fast(fields: dict[str, Any]) -> str:
        return "".join(fast(fields, 0))

    return encode_fast if encode_fast(sample) == encode(sample) else encode


def _string_encoder() -> Callable[[str], str]:
    """`json.dumps(text, ensure_ascii=False)` for a `str`: the C function `json` uses."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    try:
        from _json import encode_basestring
    except ImportError:  # another interpreter
        return encode
    sample = 'é "q" \\ \n \x00 \u2028'
    return encode_basestring if encode_basestring(sample) == encode(sample) else encode


_encode_object = _object_encoder()
_encode_string = _string_encoder()
#: A `str` as a JSON string literal, as `json.dumps(text, ensure_ascii=False)` writes it.
quote = _encode_string


def members(fields: dict[str, Any]) -> str:
    """`fields` as the members of a JSON object (`"k": v, …`, no braces), as `render` writes them.

    For a caller that encodes a line's fixed part once and reuses it (`BoundLog.writer`).
    """
    return _encode_object(fields)[1:-1]


_QUOTED: dict[str, str] = {}  # event and level names as JSON strings (a few dozen)


def _quote(name: str) -> str:
    quoted = _encode_string(name)
    if len(_QUOTED) < 1024:
        _QUOTED[name] = quoted
    return quoted


def timestamp_text(now: float) -> str:
    """`repr(round(now, 6))`, as JSON writes it, in 40 % of the instructions.

    From 1 s to 2**33 s (the year 2242) a float's spacing is under 1e-6, so distinct
    6-decimal values are distinct floats and the shortest text of the rounded float is
    its 6-decimal text without trailing zeros (both round the exact value half-even);
    `repr` uses no exponent there.
    """
    if not 1.0 <= now < 2.0**33:
        return repr(round(now, 6))
    text = f"{now:.6f}".rstrip("0")
    return text + "0" if text[-1] == "." else text


def render(event: str, level: str, fields: dict[str, Any], bound: str = "") -> str:
    """One line: `{"ts": …, "level": …, "event": …, **fields}` as JSON, with its newline.

    The same text `json.dumps` writes for the merged dict, without building it: the
    fields are encoded alone and spliced after the three leading keys. `bound` is
    fields encoded once beforehand (`"k": v, …` without braces, see `BoundLog`) that
    come first; the caller makes sure none of `fields` is `ts` or one of them.
    """
    if "ts" in fields:  # a field takes `ts`'s place, as it does in the merged dict
        record = {"ts": round(time.time(), 6), "level": level, "event": event, **fields}
        return _encode_object(record) + "\n"
    quoted_level = _QUOTED.get(level) or _quote(level)
    quoted_event = _QUOTED.get(event) or _quote(event)
    head = (
        f'{{"ts": {timestamp_text(time.time())}, "level": {quoted_level}, "event": {quoted_event}'
    )
    if bound:
        head += ", " + bound
    return head + (", " + _encode_object(fields)[1:] + "\n" if fields else "}\n")


class EventLog:
    def __init__(
        self, stream: TextIO | None = None, level: str = "info", flush_interval: float = 0.0
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._threshold = LEVELS.get(level, 20)
        self._flush_interval = flush_interval  # 0: write on the loop's next iteration
        self._lock = threading.RLock()  # re-entrant: a stream or handler that logs can't deadlock
        self._lines: list[str] = []
        self._size = 0  # characters in `_lines`
        self._scheduled: asyncio.AbstractEventLoop | None = None  # loop holding a flush
        self._scheduled_by = 0  # the thread that asked it to (`threading.get_ident()`)
        _logs.add(self)

    def enabled(self, level: str = "info") -> bool:
        """Whether a line at `level` is written (callers skip building costly fields)."""
        return LEVELS.get(level, 20) >= self._threshold

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        rank = LEVELS.get(level, 20)
        if rank >= self._threshold:
            self._enqueue(render(event, level, fields), rank)

    def bind(self, **fields: Any) -> BoundLog:
        """This log with `fields` first on every line, encoded once (a session's labels)."""
        return BoundLog(self, fields)

    def _enqueue(self, line: str, rank: int) -> None:
        """Buffer `line` for the loop's next turn, or write it now (see the module doc)."""
        scheduled = self._scheduled
        if (
            scheduled is not None
            and rank < IMMEDIATE_LEVEL
            and self._scheduled_by == threading.get_ident()
            and scheduled.is_running()
        ):
            # This thread's running loop already holds a flush: just add the line. (Saves
            # `get_running_loop`, which is a `getpid` system call per line on 3.11.)
            with self._lock:
                if self._scheduled is scheduled:
                    self._lines.append(line)
                    self._size += len(line)
                    if self._size > MAX_BUFFERED:
                        self._write()
                    return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: write now
            loop = None
        with self._lock:
            self._lines.append(line)
            self._size += len(line)
            if loop is None or rank >= IMMEDIATE_LEVEL or self._size > MAX_BUFFERED:
                self._write()
            elif self._scheduled is not loop:
                self._schedule(loop)

    def flush(self) -> None:
        """Write every buffered line now."""
        with self._lock:
            self._write()

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Ask `loop` to flush after the interval or on its next iteration (lock held)."""
        if self._scheduled is not None:
            self._write()  # a flush waits on another loop, which may never run it again
        try:
            if self._flush_interval > 0:
                loop.call_later(self._flush_interval, self._flush_scheduled, loop)
            else:
                loop.call_soon(self._flush_scheduled, loop)
        except RuntimeError:  # the loop is closing
            self._write()
            return
        self._scheduled = loop
        self._scheduled_by = threading.get_ident()

    def _flush_scheduled(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._scheduled is loop:
                self._scheduled = None
            self._write()

    def _write(self) -> None:
        """Write and flush the buffer in one call (lock held)."""
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        self._size = 0
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed log stream must never take a connection down


class BoundLog:
    """An `EventLog` that puts the same fields first on every line, encoded once.

    `bound.emit(event, **fields)` writes what `log.emit(event, **bound_fields, **fields)`
    would, without merging and re-encoding the bound fields per line (their values are
    read once, when bound).
    """

    __slots__ = ("_encoded", "_fields", "_log", "_merge")

    def __init__(self, log: EventLog, fields: dict[str, Any]) -> None:
        self._log = log
        self._fields = dict(fields)
        # A bound `ts` takes the timestamp's place: such a log merges per line instead.
        self._merge = "ts" in fields
        self._encoded = "" if self._merge else members(self._fields)

    def enabled(self, level: str = "info") -> bool:
        return self._log.enabled(level)

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        log = self._log
        rank = LEVELS.get(level, 20)
        if rank < log._threshold:
            return
        if self._merge or "ts" in fields or not self._fields.keys().isdisjoint(fields):
            line = render(event, level, {**self._fields, **fields})  # as the merged dict
        else:
            line = render(event, level, fields, self._encoded)
        log._enqueue(line, rank)

    def writer(self, event: str, level: str) -> Callable[[str], None]:
        """A function writing one `event` line at `level` from pre-encoded members.

        It takes `"k": v, …` (no braces) as `members` and `quote` write it, and writes
        what `emit(event, level, **fields)` writes for the same fields; none of them may
        be `ts` or a bound field. Everything the same on every line (level check, the
        head with the bound fields) is settled once, here: the per-command lines use it
        (gate/command_lines.py).
        """
        if self._merge:
            raise ValueError("a writer needs a log whose bound fields do not include ts")
        quoted_level = _QUOTED.get(level) or _quote(level)
        quoted_event = _QUOTED.get(event) or _quote(event)
        bare = f', "level": {quoted_level}, "event": {quoted_event}'  # what follows `ts`
        if self._encoded:
            bare += ", " + self._encoded
        head = bare + ", "
        log = self._log
        rank = LEVELS.get(level, 20)
        enqueue = log._enqueue

        def write(encoded: str) -> None:
            if rank >= log._threshold:
                stamp = timestamp_text(time.time())
                if encoded:
                    enqueue(f'{{"ts": {stamp}{head}{encoded}}}\n', rank)
                else:
                    enqueue(f'{{"ts": {stamp}{bare}}}\n', rank)

        return write


_logs: weakref.WeakSet[EventLog] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """At interpreter exit, write what any log still buffers."""
    for log in list(_logs):
        log.flush()
