"""Feeding the sinks from the journal, each at its own pace.

One `SinkPump` per sink reads the journal from the sink's persisted cursor, hands
it batches, and records the cursor after each batch the sink accepted (on disk at
most once a second while busy, once it has caught up, and at stop). A failing sink
is retried with capped exponential back-off and its errors counted; it never holds
up a query (the journal already has the record) and never loses one (the cursor
only moves past what was delivered).

After waking on a new record, and after every batch smaller than `batch`, a pump
lingers `linger` seconds (0.1) so that a busy gateway delivers hundreds of records
per batch rather than chasing the head a few records at a time (each delivery is a
worker-thread round trip that competes with the relay for the GIL); reading the journal
and saving the cursor run in worker threads. The sinks' cost stays off the relay's
CPU. Delivery is at-least-once: after a crash a sink sees again what it accepted
since the last saved cursor, so sinks are idempotent where they can be (the store
ignores duplicates by instance and seq, a file skips what it already ends with).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from wardgate.audit.chain import Sealed
from wardgate.audit.reader import Entry, JournalReader
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics


class Sink(Protocol):
    name: str

    async def open(self) -> None: ...

    async def write(self, entries: Sequence[Entry]) -> None: ...

    async def close(self) -> None: ...


class Cursor:
    """The last seq a sink accepted, in ``<journal>/cursors/<sink>.seq`` (atomic replace)."""

    def __init__(self, directory: Path, sink: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", sink)
        self.path = directory / "cursors" / f"{safe}.seq"

    def load(self) -> int:
        try:
            return int(self.path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def save(self, seq: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(str(seq))
        os.replace(temporary, self.path)


class Feed:
    """Where a pump's records come from: memory while it keeps up, the journal otherwise.

    Starting from its cursor a pump reads the journal. Once it has caught up with
    the last record announced it takes new records straight from `AuditLog` (no
    re-reading; records rendered from a template are parsed only by a sink that
    needs more than their `Columns`); a gap or `capacity` records in waiting (a slow
    sink) sends it back to the journal, from the last record it took.
    """

    def __init__(self, journal_dir: Path, after: int, capacity: int = 50_000) -> None:
        self._dir = journal_dir
        self._reader: JournalReader | None = JournalReader(journal_dir, after)
        self._queue: deque[Entry] = deque()
        self._capacity = capacity
        self.taken = after  # the last seq handed out
        self.head = after  # the last seq announced

    @property
    def from_memory(self) -> bool:
        return self._reader is None

    def offer(self, sealed: Sealed) -> None:
        seq = sealed.seq
        if seq > self.head:
            self.head = seq
        if self._reader is not None:
            return  # reading the journal, which already holds the record
        waiting = len(self._queue)
        if seq != self.taken + waiting + 1 or waiting >= self._capacity:
            self._queue.clear()
            self._reader = JournalReader(self._dir, self.taken)
            return
        self._queue.append(Entry(seq, sealed.line, sealed.record, "memory", sealed.columns))

    async def take(self, limit: int) -> list[Entry]:
        if self._reader is None:
            batch = [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]
        else:
            reader = self._reader
            batch = await asyncio.to_thread(reader.read, limit)
            if not batch and reader.after >= self.head and self._reader is reader:
                self._reader = None  # caught up: new records come from memory now
        if batch:
            self.taken = batch[-1].seq
        return batch


class SinkPump:
    def __init__(
        self,
        sink: Sink,
        journal_dir: Path,
        metrics: Metrics,
        log: EventLog,
        *,
        batch: int = 500,
        idle_poll: float = 1.0,
        linger: float = 0.1,
        save_interval: float = 1.0,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.sink = sink
        self.cursor = Cursor(journal_dir, sink.name)
        self._journal_dir = journal_dir
        self._metrics = metrics
        self._log = log
        self._batch = batch
        self._idle_poll = idle_poll
        self._linger = linger
        self._save_interval = save_interval
        self._saved_at = float("-inf")
        self._backoff = backoff
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = self.cursor.load()
        self.saved = self.delivered  # the cursor on disk: where a restart resumes
        self.feed = Feed(journal_dir, self.delivered)

    @property
    def _head(self) -> int:
        return self.feed.head

    def announce(self, seq: int) -> None:
        """The journal holds records up to `seq` (at start-up)."""
        self.feed.head = max(self.feed.head, seq)
        self._wake.set()

    def notify(self, sealed: Sealed) -> None:
        """A new record was appended (called by `AuditLog` after each append)."""
        self.feed.offer(sealed)
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        delay = self._backoff[0]
        pending: list[Entry] = []
        opened = False
        while True:
            try:
                if not opened:
                    await self.sink.open()
                    opened = True
                pending = pending or await self.feed.take(self._batch)
                if not pending:
                    if self.saved < self.delivered:  # caught up: keep the cursor on disk too
                        await self._save()
                    await self._idle()
                    continue
                await self._deliver(pending)
                full = len(pending) >= self._batch
                pending, delay = [], self._backoff[0]
                if not full:  # what arrived meanwhile waits to make a batch, too
                    await asyncio.sleep(self._linger)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])

    async def _deliver(self, entries: list[Entry]) -> None:
        await self.sink.write(entries)
        self.delivered = entries[-1].seq
        if asyncio.get_running_loop().time() - self._saved_at >= self._save_interval:
            await self._save()
        sink = self.sink.name
        self._metrics.audit_sink_records.labels(sink).inc(len(entries))
        self._metrics.audit_sink_lag.labels(sink).set(max(0, self._head - self.delivered))

    async def _save(self) -> None:
        """Persist the cursor (at most once a second while busy, and once caught up)."""
        self._saved_at = asyncio.get_running_loop().time()
        delivered = self.delivered
        await asyncio.to_thread(self.cursor.save, delivered)
        self.saved = delivered

    async def _idle(self) -> None:
        """Wait for new records, then linger so they arrive in batches, not one by one."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        await asyncio.sleep(self._linger)

    def _failed(self, exc: Exception) -> None:
        self._metrics.audit_sink_errors.labels(self.sink.name).inc()
        self._log.emit("audit_sink_error", level="warning", sink=self.sink.name, error=str(exc))

    async def stop(self, grace: float = 2.0) -> None:
        """Give the sink `grace` seconds to catch up, then stop it."""
        deadline = asyncio.get_running_loop().time() + grace
        while self.delivered < self._head and asyncio.get_running_loop().time() < deadline:
            self._wake.set()
            await asyncio.sleep(0.02)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.delivered > self.cursor.load():
            self.cursor.save(self.delivered)
        with contextlib.suppress(Exception):
            await self.sink.close()
