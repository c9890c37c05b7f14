"""Writing recordings without slowing the relay.

`SessionRecording.frame` only appends to an in-memory buffer (a struct pack and a
copy). Buffers are handed to one worker thread — compression, the closing digest
and the disk all happen there, in order, per file — when they pass `flush_bytes`,
every `flush_interval` seconds (`Recorder`'s ticker) and at close. Each periodic
flush is a zlib sync flush, so a recording cut short by a crash is readable up to
its last flush. A recording that cannot be written (disk full) or whose writer falls
`max_pending` bytes behind stops recording; the session itself goes on and
``wardgate_recording_errors_total`` counts it. Recording is evidence, not a gate:
the audit log is the fail-closed record.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import os
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.recording.format import (
    SUFFIX,
    TAGS,
    encode_footer,
    encode_frame,
    encode_header,
)
from wardgate.recording.retention import Retention
from wardgate.seam import Direction


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    file: str
    sha256: str
    frames: int
    bytes_c2s: int
    bytes_s2c: int
    error: str = ""


class _File:
    """The blocking half: runs only on the recorder's worker thread."""

    def __init__(self, path: Path, level: int) -> None:
        self.path = path
        self.raw: BinaryIO = open(path, "xb")  # noqa: SIM115 - closed in finish()
        os.chmod(path, 0o600)
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb", compresslevel=level, mtime=0)
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes, sync: bool) -> None:
        self.digest.update(chunk)
        self.gz.write(chunk)
        if sync:
            self.gz.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, footer: bytes) -> None:
        self.gz.write(footer)
        self.gz.close()
        self.raw.close()


class SessionRecording:
    def __init__(self, recorder: Recorder, path: Path, header: dict[str, Any]) -> None:
        self._recorder = recorder
        self.path = path
        self._started = recorder.monotonic()
        self._buffer = bytearray(encode_header(header))
        self._inflight = 0
        self.digest = ""
        self.frames = 0
        self.bytes = {Direction.CLIENT_TO_SERVER: 0, Direction.SERVER_TO_CLIENT: 0}
        self.error = ""
        self._file: _File | None = None
        self._closed = False

    def _offset_us(self) -> int:
        return int((self._recorder.monotonic() - self._started) * 1_000_000)

    def frame(self, direction: Direction, data: bytes) -> None:
        if self.error or self._closed or not data:
            return
        self._buffer += encode_frame(TAGS[direction], self._offset_us(), data)
        self.frames += 1
        self.bytes[direction] += len(data)
        if len(self._buffer) >= self._recorder.flush_bytes:
            self.flush(sync=False)

    def flush(self, sync: bool = True) -> None:
        if self.error or not self._buffer:
            return
        chunk, self._buffer = bytes(self._buffer), bytearray()
        if self._inflight + len(chunk) > self._recorder.max_pending:
            self._fail("the recording writer fell behind; recording stopped")
            return
        self._inflight += len(chunk)
        future = self._recorder.submit(self._write, chunk, sync)
        future.add_done_callback(lambda done: self._recorder.call_soon(self._done, done, chunk))

    def _done(self, future: Future[None], chunk: bytes) -> None:
        """Back on the event loop once the worker wrote (or failed to write) `chunk`."""
        self._inflight -= len(chunk)
        exc = future.exception()
        if exc is not None:
            self._fail(f"recording write failed: {exc}")
        else:
            self._recorder.metrics.recording_bytes.inc(len(chunk))

    def _write(self, chunk: bytes, sync: bool) -> None:
        if self._file is None:
            self._file = _File(self.path, self._recorder.level)
        self._file.write(chunk, sync)

    def _fail(self, message: str) -> None:
        if not self.error:
            self.error = message
            self._buffer = bytearray()
            self._recorder.failed(self, message)

    async def close(self, reason: str, ended: str) -> RecordingSummary:
        """Write the footer and wait for the file; returns the closing digest."""
        if not self._closed:
            self._closed = True
            self.flush(sync=False)
            if not self.error:
                await self._finish(reason, ended)
            self._recorder.forget(self)
        return self.summary()

    async def _finish(self, reason: str, ended: str) -> None:
        offset = self._offset_us()
        facts = {"ended": ended, "reason": reason, "frames": self.frames}
        facts |= {"bytes_c2s": self.bytes[Direction.CLIENT_TO_SERVER]}
        facts |= {"bytes_s2c": self.bytes[Direction.SERVER_TO_CLIENT]}
        future = self._recorder.submit(self._write_footer, offset, facts)
        try:
            await asyncio.wrap_future(future)
        except OSError as exc:
            self._fail(f"recording write failed: {exc}")

    def _write_footer(self, offset: int, facts: dict[str, Any]) -> None:
        if self._file is None:
            self._file = _File(self.path, self._recorder.level)
        facts["sha256"] = self._file.digest.hexdigest()
        self._file.finish(encode_footer(offset, facts))
        self.digest = facts["sha256"]

    def summary(self) -> RecordingSummary:
        return RecordingSummary(
            file=self.path.name,
            sha256=self.digest,
            frames=self.frames,
            bytes_c2s=self.bytes[Direction.CLIENT_TO_SERVER],
            bytes_s2c=self.bytes[Direction.SERVER_TO_CLIENT],
            error=self.error,
        )


class Recorder:
    """Opens one `SessionRecording` per session; flushes and prunes them."""

    def __init__(
        self,
        directory: Path,
        *,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
        level: int = 6,
        flush_bytes: int = 256 * 1024,
        flush_interval: float = 1.0,
        max_pending: int = 64 * 1024 * 1024,
        retention: Retention | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.metrics = metrics or Metrics()
        self._log = log or EventLog()
        self.level = level
        self.flush_bytes = flush_bytes
        self._flush_interval = flush_interval
        self.max_pending = max_pending
        self._retention = retention
        self.monotonic = monotonic
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="wardgate-recorder")
        self._active: set[SessionRecording] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._tick())

    def open(self, session_id: str, header: dict[str, Any]) -> SessionRecording:
        recording = SessionRecording(self, self.directory / f"{session_id}{SUFFIX}", header)
        self._active.add(recording)
        self.metrics.recordings_active.inc()
        return recording

    def submit(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        return self._executor.submit(fn, *args)

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def forget(self, recording: SessionRecording) -> None:
        if recording in self._active:
            self._active.discard(recording)
            self.metrics.recordings_active.dec()

    def failed(self, recording: SessionRecording, message: str) -> None:
        self.metrics.recording_errors.inc()
        self._log.emit("recording_failed", level="error", file=recording.path.name, error=message)

    @property
    def active_files(self) -> set[Path]:
        return {recording.path for recording in self._active}

    async def _tick(self) -> None:
        sweep_every = max(1, int(3600 / max(self._flush_interval, 0.01)))
        ticks = 0
        while True:
            if self._retention is not None and ticks % sweep_every == 0:
                await asyncio.to_thread(self._retention.sweep, self.active_files)
            await asyncio.sleep(self._flush_interval)
            ticks += 1
            for recording in list(self._active):
                recording.flush(sync=True)

    async def stop(self, reason: str = "gateway shutdown", ended: str = "") -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for recording in list(self._active):
            await recording.close(reason, ended)
        await asyncio.to_thread(self._executor.shutdown, True)
