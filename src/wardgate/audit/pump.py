"""Feeding the sinks from the journal, each at its own pace.

One `SinkPump` per sink reads the journal from the sink's persisted cursor, hands
it batches, and saves the cursor after each batch the sink accepted. A failing sink
is retried with capped exponential back-off and its errors counted; it never holds
up a query (the journal already has the record) and never loses one (the cursor
only moves past what was delivered). Delivery is at-least-once: a sink that
accepted a batch just before a crash sees it again, so sinks are idempotent where
they can be (the store ignores duplicates by instance and seq).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

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
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.sink = sink
        self.cursor = Cursor(journal_dir, sink.name)
        self._journal_dir = journal_dir
        self._metrics = metrics
        self._log = log
        self._batch = batch
        self._idle_poll = idle_poll
        self._backoff = backoff
        self._wake = asyncio.Event()
        self._head = 0
        self._task: asyncio.Task[None] | None = None
        self._reader = JournalReader(journal_dir, self.cursor.load())
        self.delivered = self._reader.after

    def notify(self, seq: int) -> None:
        """A new record exists (called by `AuditLog` after each append)."""
        self._head = max(self._head, seq)
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
                pending = pending or self._reader.read(self._batch)
                if not pending:
                    await self._idle()
                    continue
                await self._deliver(pending)
                pending, delay = [], self._backoff[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])

    async def _deliver(self, entries: list[Entry]) -> None:
        await self.sink.write(entries)
        self.delivered = entries[-1].seq
        self.cursor.save(self.delivered)
        sink = self.sink.name
        self._metrics.audit_sink_records.labels(sink).inc(len(entries))
        self._metrics.audit_sink_lag.labels(sink).set(max(0, self._head - self.delivered))

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._idle_poll)

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
        with contextlib.suppress(Exception):
            await self.sink.close()
