"""`AuditLog`: seals records into the chain and appends them to the journal.

`write` is synchronous on purpose: it returns once the record's line is in the
kernel (`os.write`), so `Session.report` can call it and the relay releases the
result only afterwards. A background task fsyncs the journal every
`fsync_interval` seconds (0 = after every record, inline).

When the journal cannot be written the log becomes *unavailable*: `write` raises
`AuditUnavailable`, and sessions refuse new commands with rule
``audit-unavailable`` unless `fail_open` is set (then commands run unaudited and
``wardgate_audit_fail_open_total`` counts every one). A write is retried at most
once per `retry_interval`; the first one that succeeds makes the log available
again and is preceded by an ``audit_recovered`` record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from wardgate import __version__
from wardgate.audit.chain import Chain, Sealed, Template
from wardgate.audit.journal import Journal, JournalError
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.seam import GateError

Clock = Callable[[], float]


class AuditUnavailable(GateError):
    """The audit journal cannot take records; the command must not run or be released."""

    category = "audit"


def timestamp(seconds: float) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2025-01-31T12:00:00.123456Z``."""
    whole = int(seconds)
    micros = round((seconds - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return f"{_second(whole)}.{micros:06d}Z"


@lru_cache(maxsize=4)
def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class AuditLog:
    def __init__(
        self,
        journal: Journal,
        *,
        instance: str,
        key: bytes | None = None,
        fsync_interval: float = 0.05,
        fail_open: bool = False,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
        clock: Clock = time.time,
        retry_interval: float = 1.0,
    ) -> None:
        self.journal = journal
        self.instance = instance
        self.fail_open = fail_open
        self._chain = Chain(key)
        self._fsync_interval = fsync_interval
        self._metrics = metrics or Metrics()
        self._log = log or EventLog()
        self._clock = clock
        self._retry_interval = retry_interval
        self._failed_at: float | None = None
        self._listeners: list[Callable[[Sealed], None]] = []
        self._record_counters: dict[str, Any] = {}  # record type → its counter child
        self._sync_task: asyncio.Task[None] | None = None
        self._opened = False
        self._second: tuple[int, str] = (-1, "")  # `_timestamp`'s current second and its text

    # -- lifecycle ------------------------------------------------------------------

    def open(self) -> None:
        """Recover the chain head from the journal and record the start."""
        recovery = self.journal.recover()
        self._opened = True
        self._chain.head = recovery.head
        self._metrics.audit_available.set(1)
        self.write(
            "audit_start",
            {"gateway_version": __version__, "truncated_bytes": recovery.truncated_bytes},
        )

    async def start(self) -> None:
        if self._sync_task is None and self._fsync_interval > 0:
            self._sync_task = asyncio.create_task(self._sync_loop())

    async def stop(self) -> None:
        task, self._sync_task = self._sync_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._opened:
            with contextlib.suppress(AuditUnavailable):
                self.write("audit_stop", {})
        self._opened = False
        self.journal.close()

    @property
    def head_seq(self) -> int:
        return self._chain.head.seq

    @property
    def available(self) -> bool:
        return self._failed_at is None

    def admits_commands(self) -> bool:
        """False when new commands must be denied (unavailable and failing closed).

        While unavailable, at most once per `retry_interval` this tries the journal
        again (writing ``audit_recovered``) and admits commands if that worked.
        """
        if self._failed_at is None or self.fail_open:
            return True
        if not self._may_retry():
            return False
        try:
            self._recover()
        except AuditUnavailable:
            return False
        return True

    def _recover(self) -> None:
        assert self._failed_at is not None
        self._append(self._seal("audit_recovered", {"since": timestamp(self._failed_at)}))

    def on_append(self, listener: Callable[[Sealed], None]) -> None:
        """Call `listener(sealed)` after every record (the sink pumps take it from there)."""
        self._listeners.append(listener)

    # -- writing --------------------------------------------------------------------

    def write(self, record_type: str, fields: Mapping[str, Any]) -> Sealed:
        """Seal and append one record; raises AuditUnavailable if the journal fails."""
        self._ensure_available()
        sealed = self._append(self._seal(record_type, fields))
        self._count(record_type)
        return sealed

    def template(
        self, record_type: str, constants: Mapping[str, Any], variables: Iterable[str]
    ) -> Template:
        """A shape for `write_rendered`: records of `record_type` whose `constants`
        never change and whose `variables` are given per record."""
        constants = {**constants, "type": record_type, "instance": self.instance}
        return self._chain.template(constants, {*variables, "ts"})

    def write_rendered(self, template: Template, values: dict[str, str]) -> Sealed:
        """`write` for a record of `template`'s shape, `values` holding the JSON text
        of each variable member (`chain.encode`); `values` is consumed."""
        if self._failed_at is not None:
            self._ensure_available()
        ts = self._timestamp()
        values["ts"] = '"' + ts + '"'
        sealed = self._append(self._chain.seal_rendered(template, values, template.columns(ts)))
        self._count(template.record_type)
        return sealed

    def _timestamp(self) -> str:
        """`timestamp(clock())`, keeping the text of the current second at hand."""
        now = self._clock()
        whole = int(now)
        micros = round((now - whole) * 1_000_000)
        if micros == 1_000_000:
            whole, micros = whole + 1, 0
        second, text = self._second
        if whole != second:
            text = _second(whole)
            self._second = (whole, text)
        return "%s.%06dZ" % (text, micros)  # noqa: UP031 - twice as fast as the f-string

    def _ensure_available(self) -> None:
        if self._failed_at is not None:
            if not self._may_retry():
                raise AuditUnavailable("the audit journal is unavailable")
            self._recover()

    def _count(self, record_type: str) -> None:
        counter = self._record_counters.get(record_type)
        if counter is None:
            counter = self._record_counters[record_type] = self._metrics.audit_records.labels(
                record_type
            )
        counter.inc()

    def _seal(self, record_type: str, fields: Mapping[str, Any]) -> Sealed:
        now = self._clock()
        base = {"type": record_type, "ts": timestamp(now), "instance": self.instance}
        return self._chain.seal({**fields, **base})

    def _append(self, sealed: Sealed) -> Sealed:
        try:
            self.journal.append(sealed.seq, sealed.line)
            if self._fsync_interval <= 0:
                self.journal.sync()
        except JournalError as exc:
            self._mark_failed(exc)
            raise AuditUnavailable("the audit journal is unavailable") from exc
        self._chain.advance(sealed)
        if self._failed_at is not None:
            self._failed_at = None
            self._metrics.audit_available.set(1)
            self._log.emit("audit_recovered", level="warning")
        for listener in self._listeners:
            listener(sealed)
        return sealed

    def _may_retry(self) -> bool:
        return self._failed_at is not None and (
            self._clock() - self._failed_at >= self._retry_interval
        )

    def _mark_failed(self, exc: OSError) -> None:
        self._failed_at = self._clock()
        self._metrics.audit_journal_errors.inc()
        self._metrics.audit_available.set(0)
        mode = "open (commands run unaudited)" if self.fail_open else "closed (commands refused)"
        self._log.emit("audit_unavailable", level="error", error=str(exc), failing=mode)

    def note_fail_open(self) -> None:
        """A command ran although its record could not be written (fail-open mode)."""
        self._metrics.audit_fail_open.inc()

    # -- fsync ----------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._fsync_interval)
            if self.journal.dirty:
                await self._sync_once()

    async def _sync_once(self) -> None:
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.journal.sync)
        except JournalError as exc:
            self._mark_failed(exc)
            return
        self._metrics.audit_fsync_seconds.observe(time.perf_counter() - started)
