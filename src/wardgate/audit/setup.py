"""Building the evidence services from the configuration, and running them.

`EvidenceServices.build` turns the `audit` and `recording` sections into an
`AuditLog` over its journal, one `SinkPump` per sink, a `Recorder` and the
`Evidence` object sessions use. `start` recovers the journal (continuing the chain
from its last record) before any listener accepts a connection; `stop` runs after
every session ended, lets the sinks catch up briefly and closes the journal.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastapi import APIRouter

from wardgate.admin.sessions_ui import sessions_ui_router
from wardgate.audit import schema
from wardgate.audit.api import Authenticate, ReaderCheck, audit_router
from wardgate.audit.config import AuditConfig, AuditSinkConfig
from wardgate.audit.evidence import Evidence
from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog, AuditUnavailable
from wardgate.audit.pump import Sink, SinkPump
from wardgate.audit.retention import Pruned, Pruner
from wardgate.audit.sinks import FileSink, StoreSink
from wardgate.audit.syslog import SyslogSink
from wardgate.config.model import WardgateConfig
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.recording.api import sessions_router
from wardgate.recording.config import RecordingConfig
from wardgate.recording.retention import Retention
from wardgate.recording.writer import Recorder
from wardgate.store import LazyStore, Store

StoreFactory = Callable[[], Awaitable[Store]]


def resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def instance_name(config: AuditConfig, journal_dir: Path) -> str:
    """`audit.instance`, or host name plus a short hash of the journal's path."""
    if config.instance:
        return config.instance
    digest = hashlib.sha256(str(journal_dir.resolve()).encode()).hexdigest()[:6]
    return f"{socket.gethostname() or 'wardgate'}-{digest}"


def hmac_key(config: AuditConfig) -> bytes | None:
    return config.hmac_key.encode("utf-8") if config.hmac_key else None


def make_sink(sink: AuditSinkConfig, base_dir: Path, store: StoreFactory) -> Sink:
    if sink.type == "store":
        return StoreSink(store)
    if sink.type == "file":
        assert sink.path is not None
        return FileSink(resolve(base_dir, sink.path), sink.format, sink.max_bytes, sink.backups)
    assert sink.address is not None
    host, _, port = sink.address.rpartition(":")
    return SyslogSink(host.strip("[]"), int(port), sink.transport, sink.format, sink.facility)


def make_recorder(
    config: RecordingConfig | None, base_dir: Path, metrics: Metrics, log: EventLog
) -> Recorder | None:
    if config is None or not config.enabled:
        return None
    directory = resolve(base_dir, config.dir)
    retention = Retention(directory, config.retention.max_age, config.retention.max_bytes)
    return Recorder(
        directory,
        metrics=metrics,
        log=log,
        level=config.compression_level,
        retention=retention,
    )


def journal_pruner(
    audit_log: AuditLog,
    pumps: list[SinkPump],
    audit: AuditConfig,
    metrics: Metrics,
    log: EventLog,
) -> Pruner:
    """`audit.retention` as a task: what every sink has saved a cursor past may go,
    and each deletion is sealed into the chain as a `journal_pruned` record."""
    assert audit.retention is not None

    def delivered() -> int:
        return min((pump.saved for pump in pumps), default=audit_log.head_seq)

    def record(pruned: Pruned) -> None:
        audit_log.write("journal_pruned", asdict(pruned))

    return Pruner(
        audit_log.journal.directory,
        max_age=audit.retention.max_age,
        max_bytes=audit.retention.max_bytes,
        delivered=delivered,
        record=record,
        metrics=metrics,
        log=log,
        interval=audit.retention.check_interval,
    )


@dataclass
class EvidenceServices:
    evidence: Evidence
    audit: AuditLog | None = None
    recorder: Recorder | None = None
    pumps: list[SinkPump] = field(default_factory=list)
    readers: frozenset[str] = frozenset()
    pruner: Pruner | None = None  # audit.retention

    @classmethod
    def from_config(
        cls,
        config: WardgateConfig,
        base_dir: Path,
        state: LazyStore,
        metrics: Metrics,
        log: EventLog,
    ) -> EvidenceServices:
        state.add_migrations(schema.MIGRATIONS)
        services = cls.build(config.audit, config.recording, base_dir, state.get, metrics, log)
        services.readers = frozenset(config.audit.readers)
        return services

    @classmethod
    def build(
        cls,
        audit: AuditConfig,
        recording: RecordingConfig | None,
        base_dir: Path,
        store: StoreFactory,
        metrics: Metrics,
        log: EventLog,
    ) -> EvidenceServices:
        recorder = make_recorder(recording, base_dir, metrics, log)
        if not audit.enabled:
            return cls(Evidence(None, recorder, metrics=metrics), None, recorder)
        journal_dir = resolve(base_dir, audit.journal)
        audit_log = AuditLog(
            Journal(journal_dir, audit.segment_bytes),
            instance=instance_name(audit, journal_dir),
            key=hmac_key(audit),
            fsync_interval=audit.fsync_interval,
            fail_open=audit.on_failure == "open",
            metrics=metrics,
            log=log,
        )
        pumps = [
            SinkPump(make_sink(sink, base_dir, store), journal_dir, metrics, log)
            for sink in audit.sinks
        ]
        evidence = Evidence(
            audit_log, recorder, max_statement_chars=audit.max_statement_chars, metrics=metrics
        )
        pruner = None
        if audit.retention is not None:
            pruner = journal_pruner(audit_log, pumps, audit, metrics, log)
        return cls(evidence, audit_log, recorder, pumps, pruner=pruner)

    async def start(self) -> None:
        """Recover the journal and start fsync, sinks and the recorder (raises OSError)."""
        if self.audit is not None:
            try:
                self.audit.open()
            except AuditUnavailable as exc:
                if not self.audit.fail_open:
                    raise OSError(f"{exc.message} (audit.on_failure is closed)") from exc
            await self.audit.start()
            for pump in self.pumps:
                self.audit.on_append(pump.notify)
                pump.announce(self.audit.head_seq)
                await pump.start()
            if self.pruner is not None:
                await self.pruner.start()
        if self.recorder is not None:
            await self.recorder.start()

    def routers(self, authenticate: Authenticate) -> list[APIRouter]:
        """The admin routes over this instance's evidence: `/api/audit`, `/api/sessions`
        and the session view under `/ui/sessions`."""
        check = ReaderCheck(authenticate, self.readers)
        routes = [sessions_router(check, self.recorder.directory if self.recorder else None)]
        routes.append(sessions_ui_router())
        if self.audit is not None:
            routes.append(audit_router(check, self.audit.journal.directory, self.audit.instance))
        return routes

    async def stop(self) -> None:
        if self.pruner is not None:
            await self.pruner.stop()
        if self.recorder is not None:
            await self.recorder.stop()
        if self.audit is not None:
            await self.audit.stop()
        for pump in self.pumps:
            await pump.stop()
