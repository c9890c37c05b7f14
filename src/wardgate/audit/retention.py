"""Journal retention: delete old segments, never a record a sink still needs.

Without `audit.retention` the journal keeps everything (the default). With it, a
background task looks every `CHECK_INTERVAL` seconds (and at start) for segments to
delete, oldest first: a segment past `max_age` (by the time of its last write), or
any oldest segment while the journal is larger than `max_bytes`. Whatever the
limits say, a segment is kept while

- it is the newest (the one being written), or
- a sink has not yet *saved* a cursor past its last record (the saved cursor is
  where a pump restarts after a crash, so deleting beyond it could lose records for
  that sink).

Each deletion is itself evidence: a `journal_pruned` record (first and last seq
deleted, segments, bytes, why) is sealed into the chain, so a verifier of what
remains sees where the kept chain begins and that it was cut on purpose.
`wardgate audit verify` accepts a journal whose first segment starts after seq 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

from wardgate.audit.journal import segments
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics

#: Seconds between two looks at the journal.
CHECK_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class Segment:
    first_seq: int
    last_seq: int  # the record before the next segment's first
    path: Path
    size: int
    modified: float  # unix seconds of the last write


@dataclass(frozen=True, slots=True)
class Pruned:
    first_seq: int
    last_seq: int
    segments: int
    bytes: int
    reason: str  # "max_age" or "max_bytes" (the first that applied)


def closed_segments(directory: Path) -> list[Segment]:
    """Every segment but the newest, oldest first, with its last seq."""
    found = segments(directory)
    closed = []
    for (first, path), (following, _) in pairwise(found):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        closed.append(Segment(first, following - 1, path, stat.st_size, stat.st_mtime))
    return closed


def journal_bytes(directory: Path) -> int:
    total = 0
    for _, path in segments(directory):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def choose(
    closed: Sequence[Segment],
    total_bytes: int,
    *,
    delivered: int,
    max_age: float | None,
    max_bytes: int | None,
    now: float,
) -> tuple[list[Segment], str]:
    """The oldest segments the limits ask to delete that every sink has passed."""
    chosen: list[Segment] = []
    reason = ""
    for segment in closed:
        if segment.last_seq > delivered:
            break  # a sink still needs it (and everything after it)
        if max_age is not None and now - segment.modified > max_age:
            reason = reason or "max_age"
        elif max_bytes is not None and total_bytes > max_bytes:
            reason = reason or "max_bytes"
        else:
            break  # oldest first: once one may stay, the newer ones stay too
        chosen.append(segment)
        total_bytes -= segment.size
    return chosen, reason


def prune(
    directory: Path,
    *,
    delivered: int,
    max_age: float | None,
    max_bytes: int | None,
    now: float | None = None,
) -> Pruned | None:
    """Delete what `choose` picks (blocking: run it in a thread); None if nothing."""
    closed = closed_segments(directory)
    chosen, reason = choose(
        closed,
        journal_bytes(directory),
        delivered=delivered,
        max_age=max_age,
        max_bytes=max_bytes,
        now=time.time() if now is None else now,
    )
    if not chosen:
        return None
    for segment in chosen:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(segment.path)
    return Pruned(
        chosen[0].first_seq,
        chosen[-1].last_seq,
        len(chosen),
        sum(segment.size for segment in chosen),
        reason,
    )


class Pruner:
    """The background task: look, delete, seal a `journal_pruned` record, repeat."""

    def __init__(
        self,
        directory: Path,
        *,
        max_age: float | None,
        max_bytes: int | None,
        delivered: Callable[[], int],
        record: Callable[[Pruned], None],
        metrics: Metrics,
        log: EventLog,
        interval: float = CHECK_INTERVAL,
    ) -> None:
        self._directory = directory
        self._max_age = max_age
        self._max_bytes = max_bytes
        self._delivered = delivered
        self._record = record
        self._metrics = metrics
        self._log = log
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wardgate-journal-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def once(self) -> Pruned | None:
        """One look: delete what may go, seal its record, measure what is left."""
        pruned = await asyncio.to_thread(
            prune,
            self._directory,
            delivered=self._delivered(),
            max_age=self._max_age,
            max_bytes=self._max_bytes,
        )
        if pruned is not None:
            self._metrics.audit_pruned_segments.inc(pruned.segments)
            fields = asdict(pruned)
            self._log.emit("journal_pruned", **fields)
            self._record(pruned)
        self._metrics.audit_journal_bytes.set(
            await asyncio.to_thread(journal_bytes, self._directory)
        )
        return pruned

    async def _run(self) -> None:
        while True:
            try:
                await self.once()
            except Exception as exc:  # a failed look is retried at the next one
                self._log.emit("audit_retention_failed", level="error", error=str(exc))
            await asyncio.sleep(self._interval)
