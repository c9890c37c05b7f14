"""Evidence for one gateway: what `GatewaySession` and `ResourceGate` call.

`Evidence` (one per gateway) holds the audit log and the recorder; `SessionEvidence`
(one per session) turns session hooks into audit records and recording frames:

- `opened` → ``session_start`` record, recording opened;
- `refusal` → a deny with rule ``audit-unavailable`` while the journal fails closed;
- `decided` keeps what the decision knew; `reported` writes the ``command`` record
  (decision, statement with literals redacted, outcome) and raises `AuditUnavailable`
  when it cannot — the plugin must then not release the result;
- `frame` → the recording; `event` → a ``session_event`` record;
- `closed` → recording footer, ``session_end`` record with its closing digest.

Command records are the hot path (one per statement), so they are not built as
dicts: a session renders them from a `chain.Template` of its own constant members,
filled once per command *shape* (redacted statement and decision, `_DECIDED`) and kept
for the last `MAX_SHAPES` shapes; per command only ``command_id``, the duration and
the outcome are encoded (`_REPORTED`). The bytes are those of `chain.canonical` for
the same record (tests/unit/audit/test_template.py).

`Decision.review_id` and `approved_by` fill ``review_id`` and ``approver`` (a list).
Masked-value counts are read from `Outcome.masked` once the seam carries them
(a mapping rule → count); until then ``masked`` is recorded empty.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wardgate.audit.chain import Template, encode
from wardgate.audit.log import AuditLog, AuditUnavailable, timestamp
from wardgate.audit.statement import CACHED_CHARS, redact, truncate
from wardgate.metrics import Metrics
from wardgate.recording.writer import Recorder, RecordingSummary, SessionRecording
from wardgate.seam import Action, ClientInfo, Command, Decision, Direction, Identity, Outcome

AUDIT_UNAVAILABLE_RULE = "audit-unavailable"
MAX_PENDING_COMMANDS = 1024
_LOG_ONLY_EVENTS = frozenset({"session_start", "session_end", "command", "command_done"})
#: The members of a ``command`` record that vary per command (the rest are the session's):
#: those the decision fixes, the same for every command of one shape …
_DECIDED = (
    "operation",
    "database",
    "statement",
    "fingerprint",
    "kind",
    "flags",
    "tables",
    "decision",
    "rule",
    "reason",
    "policy_version",
    "review_id",
    "approver",
)
#: … and those that differ every time.
_REPORTED = ("command_id", "duration_us", "rows", "bytes", "status", "error", "masked")
#: Command shapes whose record template a session keeps (a shape is the redacted
#: statement and the decision's fields: the members in `_DECIDED`).
MAX_SHAPES = 64


@dataclass(frozen=True, slots=True)
class SessionFacts:
    session_id: str
    resource: str
    protocol: str
    identity: Identity
    client: ClientInfo
    database: str = ""
    upstream_user: str = ""


@dataclass(slots=True)
class _Shape:
    """What a decision fixed: its `_DECIDED` members (JSON texts, `chain.encode`) and
    the session's command template with them filled in."""

    values: dict[str, str]
    template: Template


@dataclass(slots=True)
class _Pending:
    shape: _Shape
    command_id: str
    operation: str
    started: float
    reported: bool = False
    core_seconds: float = 0.0  # time the core spent deciding, for added latency

    def fields(self) -> dict[str, Any]:
        """The decided members as values again (for the rare record not built from them)."""
        decided = {key: json.loads(text) for key, text in self.shape.values.items()}
        return {"command_id": self.command_id, **decided}


def _client(client: ClientInfo) -> str:
    return f"{client.address}:{client.port}"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round(value * 1_000_000)  # seconds → microseconds: records hold no floats
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


class Evidence:
    """Shared by every session of a gateway; `Evidence()` records nothing (tests, tools)."""

    def __init__(
        self,
        audit: AuditLog | None = None,
        recorder: Recorder | None = None,
        *,
        max_statement_chars: int = 4000,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self.recorder = recorder
        self.metrics = metrics
        self.max_statement_chars = max_statement_chars
        self.clock = clock
        self.monotonic = monotonic

    def session(
        self, facts: SessionFacts, database: str = "", upstream_user: str = ""
    ) -> SessionEvidence:
        facts = replace(facts, database=database or facts.database)
        return SessionEvidence(self, replace(facts, upstream_user=upstream_user))

    def write(self, record_type: str, fields: Mapping[str, Any]) -> None:
        """Best-effort record (events): a failing journal is counted by the log itself."""
        if self.audit is None:
            return
        try:
            self.audit.write(record_type, _jsonable(fields))
        except AuditUnavailable:
            pass

    def auth_failed(self, resource: str, protocol: str, client: ClientInfo, reason: str) -> None:
        self.write(
            "auth_failure",
            {
                "resource": resource,
                "protocol": protocol,
                "client": _client(client),
                "client_user": client.user,
                "reason": reason,
            },
        )

    def policy_reloaded(self, old_version: str, new_version: str, error: str = "") -> None:
        self.write(
            "policy_reload",
            {"old_version": old_version, "new_version": new_version, "error": error},
        )

    def review(self, event: str, **fields: Any) -> None:
        """A review event: requested, approved, denied, expired (the reviews subsystem)."""
        self.write("review", {"event": event, **fields})


class SessionEvidence:
    def __init__(self, evidence: Evidence, facts: SessionFacts) -> None:
        self._evidence = evidence
        self._audit = evidence.audit
        #: Whether commands are audited at all: without an audit log `refusal`,
        #: `decided` and `reported` do nothing, and a caller may skip them (per command).
        self.audited = self._audit is not None
        self.facts = facts
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._recording: SessionRecording | None = None
        self._policy_version = ""
        self._base_fields = self._make_base()
        self._command_template: Template | None = None  # built at the first command
        self._shapes: dict[tuple[Any, ...], _Shape] = {}  # the last MAX_SHAPES, oldest first
        metrics = evidence.metrics
        self._latency = (
            metrics.added_latency_seconds.labels(facts.resource, facts.protocol)
            if metrics is not None
            else None
        )

    def _base(self) -> dict[str, Any]:
        return self._base_fields

    def _make_base(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "session": facts.session_id,
            "resource": facts.resource,
            "protocol": facts.protocol,
            "identity": facts.identity.name,
            "groups": sorted(facts.identity.groups),
            "auth_method": facts.identity.method,
            "client": _client(facts.client),
        }

    def opened(self, policy_version: str) -> None:
        self._policy_version = policy_version
        facts = self.facts
        client = facts.client
        started = self._evidence.clock()
        details = {
            "database": facts.database,
            "upstream_user": facts.upstream_user,
            "client_user": client.user,
            "application": client.application,
            "tls": client.tls,
            "policy_version": policy_version,
        }
        self._evidence.write("session_start", {**self._base(), **details})
        recorder = self._evidence.recorder
        if recorder is not None:
            header = {**self._base(), **details, "started": timestamp(started)}
            self._recording = recorder.open(facts.session_id, _jsonable(header))

    def refusal(self) -> Decision | None:
        """The decision to return instead of asking the policy, or None to ask it."""
        if self._audit is None or self._audit.admits_commands():
            return None
        return Decision(
            Action.DENY,
            rule=AUDIT_UNAVAILABLE_RULE,
            reason="the audit log cannot record commands; refusing until it can",
        )

    def decided(
        self,
        command: Command,
        decision: Decision,
        policy_version: str,
        tables: Sequence[str] = (),
        decide_seconds: float = 0.0,
    ) -> None:
        """Keep what the decision knew until the command's outcome is reported."""
        if self._audit is None:
            return
        redacted = redact(command.text, command.dialect)  # literals vary; the shape less
        key = (
            redacted.text,
            redacted.fingerprint,
            command.operation,
            command.database or self.facts.database,
            decision.kind,
            decision.flags,
            decision.action,
            decision.rule,
            decision.reason,
            policy_version,
            decision.review_id,
            decision.approved_by,
            tuple(tables or getattr(decision, "tables", ())),
        )
        try:
            shape = self._shapes.get(key) or self._learn(key)
        except TypeError:  # an unhashable value from a plugin: the same, not kept
            shape = self._shape(key)
        pending = _Pending(
            shape,
            decision.command_id,
            command.operation,
            self._evidence.monotonic(),
            core_seconds=decide_seconds,
        )
        self._pending[decision.command_id] = pending
        while len(self._pending) > MAX_PENDING_COMMANDS:
            self._pending.popitem(last=False)

    def reported(self, outcome: Outcome) -> None:
        """Write the command's record; raises AuditUnavailable when failing closed."""
        if self._audit is None:
            return
        pending = self._pending.get(outcome.command_id)
        if pending is None:
            self._report_unknown(outcome)
            return
        now = self._evidence.monotonic()
        error = outcome.error
        masked = _masked(outcome)
        values = {
            "command_id": encode(pending.command_id),
            "duration_us": str(round((now - pending.started) * 1_000_000)),
            "rows": encode(outcome.rows),
            "bytes": encode(outcome.bytes_out),
            "status": encode(outcome.status),
            "error": encode(truncate(error, 1000)) if error else '""',
            "masked": encode(masked) if masked else "{}",
        }
        pending.started, pending.reported = now, True
        if pending.operation == "query":
            self._pending.pop(outcome.command_id, None)
        began = time.perf_counter()
        try:
            self._audit.write_rendered(pending.shape.template, values)
        except AuditUnavailable:
            if not self._audit.fail_open:
                raise
            self._audit.note_fail_open()
        if self._latency is not None:
            self._latency.observe(pending.core_seconds + time.perf_counter() - began)
            pending.core_seconds = 0.0

    def _learn(self, key: tuple[Any, ...]) -> _Shape:
        shape = self._shape(key)
        if len(key[0]) <= CACHED_CHARS:  # long statements are not kept
            self._shapes[key] = shape
            if len(self._shapes) > MAX_SHAPES:
                del self._shapes[next(iter(self._shapes))]
        return shape

    def _shape(self, key: tuple[Any, ...]) -> _Shape:
        values = _decided_values(*key, max_statement_chars=self._evidence.max_statement_chars)
        if self._command_template is None:
            assert self._audit is not None
            variables = (*_DECIDED, *_REPORTED)
            self._command_template = self._audit.template("command", self._base(), variables)
        return _Shape(values, self._command_template.fill(values))

    def _report_unknown(self, outcome: Outcome) -> None:
        """An outcome for a command this session did not see decided (or forgot)."""
        assert self._audit is not None
        began = time.perf_counter()
        fields = {**self._base(), "command_id": outcome.command_id, **_outcome_fields(outcome)}
        try:
            self._audit.write("command", fields)  # built from JSON-safe values only
        except AuditUnavailable:
            if not self._audit.fail_open:
                raise
            self._audit.note_fail_open()
        if self._latency is not None:
            self._latency.observe(time.perf_counter() - began)

    @property
    def recording(self) -> bool:
        """Whether frames are being recorded: only `opened` starts a recording."""
        return self._recording is not None

    def frame(self, direction: Direction, data: bytes) -> None:
        if self._recording is not None:
            self._recording.frame(direction, data)

    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        if name not in _LOG_ONLY_EVENTS:
            self._evidence.write("session_event", {**self._base(), "event": name, **fields})

    async def closed(self, reason: str, duration: float, commands: int) -> None:
        """Never raises: the session's credential must be released whatever happens here."""
        try:
            await self._closed(reason, duration, commands)
        except Exception:  # evidence trouble is counted, never propagated
            if self._evidence.metrics is not None:
                self._evidence.metrics.recording_errors.inc()

    async def _closed(self, reason: str, duration: float, commands: int) -> None:
        for command_id, pending in list(self._pending.items()):
            if not pending.reported:
                outcome = Outcome(command_id, error=f"no outcome reported ({reason})")
                fields = {**self._base(), **pending.fields(), **_outcome_fields(outcome)}
                self._evidence.write("command", fields)
        self._pending.clear()
        summary = await self._close_recording(reason)
        details = {
            "reason": reason,
            "duration_us": round(duration * 1_000_000),
            "commands": commands,
        }
        if summary is not None:
            details["recording"] = {
                "file": summary.file,
                "sha256": summary.sha256,
                "frames": summary.frames,
                "error": summary.error,
            }
        self._evidence.write("session_end", {**self._base(), **details})

    async def _close_recording(self, reason: str) -> RecordingSummary | None:
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        return await recording.close(reason, timestamp(self._evidence.clock()))


def _outcome_fields(outcome: Outcome) -> dict[str, Any]:
    return {
        "rows": outcome.rows,
        "bytes": outcome.bytes_out,
        "status": outcome.status,
        "error": truncate(outcome.error, 1000),
        "masked": _masked(outcome),
    }


def _masked(outcome: Outcome) -> dict[str, int]:
    masked = getattr(outcome, "masked", None)
    return {str(k): int(v) for k, v in masked.items()} if masked else {}


def _decided_values(
    statement: str,
    fingerprint: str,
    operation: str,
    database: str,
    kind: str,
    flags: frozenset[str],
    action: Action,
    rule: str,
    reason: str,
    policy_version: str,
    review_id: str,
    approved_by: tuple[str, ...],
    tables: tuple[str, ...],
    *,
    max_statement_chars: int,
) -> dict[str, str]:
    """A command record's `_DECIDED` members as JSON texts."""
    return {
        "operation": encode(operation),
        "database": encode(database),
        "statement": encode(truncate(statement, max_statement_chars)),
        "fingerprint": encode(fingerprint),
        "kind": encode(kind),
        "flags": encode(sorted(flags)),
        "tables": encode(list(tables)),
        "decision": encode(action.value),
        "rule": encode(rule),
        "reason": encode(reason),
        "policy_version": encode(policy_version),
        "review_id": encode(review_id or None),
        "approver": encode(list(approved_by) or None),
    }


#: The default for `SessionServices.evidence`: no audit, no recording.
NO_EVIDENCE = Evidence()
