"""`GatewaySession`: one authenticated client session as the core sees it.

Each SQL-bearing message reaches `decide`; the decision is counted, timed and
logged with the rule that made it and the policy version in force.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wardgate.audit.evidence import NO_EVIDENCE, Evidence, SessionFacts
from wardgate.classify.model import Classification
from wardgate.eventlog import EventLog
from wardgate.gate.command_lines import CommandLines
from wardgate.gate.hold import HoldContext, hold_for_review
from wardgate.masking.services import MaskingServices
from wardgate.metrics import Metrics
from wardgate.policy.catalog import FunctionSource, evaluate, evaluate_now
from wardgate.policy.engine import Policy
from wardgate.reviews.model import ReviewError
from wardgate.reviews.service import ReviewService
from wardgate.seam import (
    NO_MASKING,
    Action,
    ClientInfo,
    Command,
    Decision,
    Direction,
    HoldCallback,
    Identity,
    MaskingPlan,
    Outcome,
    ResultColumn,
    UpstreamCredential,
)


@dataclass(slots=True)
class SessionServices:
    """What every session of one resource shares (injected, swappable in tests)."""

    resource: str
    protocol: str
    policy: Policy
    metrics: Metrics
    log: EventLog
    max_statement_chars: int = 2000
    reviews: ReviewService | None = None  # None: `review` decisions refuse
    functions: FunctionSource | None = None  # function volatility from the upstream catalog
    evidence: Evidence = NO_EVIDENCE  # audit records and recordings (docs/audit.md)
    masking: MaskingServices | None = None  # None: no masking rules, rows pass untouched
    end_at_expiry: bool = False  # sessions end when their identity's token expires

    @property
    def labels(self) -> tuple[str, str]:
        return (self.resource, self.protocol)

    def metric_auth_failure(self, reason: str) -> None:
        self.metrics.auth_failures.labels(*self.labels, reason).inc()


class GatewaySession:
    def __init__(
        self,
        services: SessionServices,
        session_id: str,
        identity: Identity,
        client: ClientInfo,
        database: str,
        credential: UpstreamCredential,
        release: Callable[[UpstreamCredential], Awaitable[None]],
    ) -> None:
        self._services = services
        self._id = session_id
        self._identity = identity
        self._client = client
        self.database = database
        self._credential = credential
        self._release = release
        self._sequence = 0
        self._closed = False
        self._started = time.monotonic()
        metrics = services.metrics
        self._bytes_in = metrics.bytes.labels(*services.labels, Direction.CLIENT_TO_SERVER.value)
        self._bytes_out = metrics.bytes.labels(*services.labels, Direction.SERVER_TO_CLIENT.value)
        self._decision_timer = metrics.decision_seconds.labels(*services.labels)
        self._command_counters: dict[tuple[str, str], Any] = {}  # (kind, action) → child
        # The audit record holds every command durably; the operator's log then keeps
        # routine lines (allowed, finished without error) at debug (docs/operations.md).
        self._routine_level = "debug" if services.evidence.audit is not None else "info"
        # Which of a command's two levels are written (a log's level is fixed for its life).
        self._logged = {
            level: services.log.enabled(level) for level in (self._routine_level, "info")
        }
        # The same fields open every line of this session: encoded once (EventLog.bind).
        self._log = services.log.bind(
            resource=services.resource,
            protocol=services.protocol,
            session=session_id,
            identity=identity.name,
            client=f"{client.address}:{client.port}",
        )
        self._lines = CommandLines(self._log, services.max_statement_chars)
        facts = SessionFacts(session_id, services.resource, services.protocol, identity, client)
        self._evidence = services.evidence.session(facts, database, credential.username)
        self._audited = self._evidence.audited  # else its per-command calls do nothing
        self._recorded = False  # set once opened (no recording starts later)
        masking = services.masking
        self._masking = masking.session(credential, database) if masking is not None else None

    @property
    def id(self) -> str:
        return self._id

    @property
    def identity(self) -> Identity:
        return self._identity

    @property
    def credential(self) -> UpstreamCredential:
        return self._credential

    @property
    def ends_at(self) -> float | None:
        return self._identity.expires_at if self._services.end_at_expiry else None

    def opened(self) -> None:
        services = self._services
        services.metrics.sessions.labels(*services.labels).inc()
        services.metrics.sessions_active.labels(*services.labels).inc()
        self.event("session_start", database=self.database, upstream_user=self._credential.username)
        self._evidence.opened(services.policy.version)
        self._recorded = self._evidence.recording

    async def decide(self, command: Command, on_hold: HoldCallback | None = None) -> Decision:
        self._sequence += 1
        command_id = f"{self._id}-{self._sequence}"
        started = time.perf_counter()
        classification: Classification | None = None
        try:
            refusal = self._evidence.refusal()  # the audit journal fails closed
            if refusal is not None:
                decision = refusal
            else:
                decision, classification = await evaluate(
                    self._services.policy,
                    self._identity,
                    self._services.resource,
                    command,
                    self._services.functions,
                    self._credential,
                    self.database,
                )
        except Exception as exc:  # fail closed: a broken policy denies and says so
            decision = Decision(Action.DENY, rule="error", reason=f"policy error: {exc}")
        decision = numbered(decision, command_id)
        elapsed = time.perf_counter() - started
        self._decision_timer.observe(elapsed)
        if decision.action is Action.REVIEW:
            decision = await self._review(command, decision, classification, on_hold)
        if decision.allowed and self._masking is not None:
            decision = await self._masking.check(command, decision)  # may deny (docs/masking.md)
        self._decided(command, decision, classification, elapsed)
        return decision

    def decide_now(self, command: Command) -> Decision | None:
        """`decide` without a coroutine when nothing has to wait (see the seam)."""
        started = time.perf_counter()
        classification: Classification | None = None
        try:
            # the audit journal fails closed
            decision = self._evidence.refusal() if self._audited else None
            if decision is None:
                found = evaluate_now(
                    self._services.policy,
                    self._identity,
                    self._services.resource,
                    command,
                    self._services.functions,
                    self.database,
                )
                if found is None:
                    return None  # the function catalog must be read first
                decision, classification = found
        except Exception as exc:  # fail closed: a broken policy denies and says so
            decision = Decision(Action.DENY, rule="error", reason=f"policy error: {exc}")
        action = decision.action  # (`allowed` is a property: a call each time)
        if action is Action.REVIEW or (action is Action.ALLOW and self._masking is not None):
            return None  # a hold or the masking check may wait: `decide` does it
        self._sequence += 1
        decision = numbered(decision, f"{self._id}-{self._sequence}")
        elapsed = time.perf_counter() - started
        self._decision_timer.observe(elapsed)
        self._decided(command, decision, classification, elapsed)
        return decision

    def _decided(
        self,
        command: Command,
        decision: Decision,
        classification: Classification | None,
        elapsed: float,
    ) -> None:
        """Count, log and keep (for the audit record) a finished decision."""
        self._count(decision)
        tables = [t.name for t in classification.tables] if classification else []
        self._log_decision(command, decision, tables)
        if self._audited:
            version = self._services.policy.version
            self._evidence.decided(command, decision, version, tables, elapsed)

    def _count(self, decision: Decision) -> None:
        key = (decision.kind, decision.action._value_)  # (`.value` is a Python property)
        counter = self._command_counters.get(key)
        if counter is None:
            services = self._services
            counter = services.metrics.commands.labels(*services.labels, *key)
            self._command_counters[key] = counter
        counter.inc()

    async def _review(
        self,
        command: Command,
        decision: Decision,
        classification: Classification | None,
        on_hold: HoldCallback | None,
    ) -> Decision:
        """Hold the command for a reviewer; without a review service, refuse and say why."""
        reviews = self._services.reviews
        if reviews is None:
            return replace(decision, reason=_needs_review(decision))
        context = HoldContext(
            self._id,
            self._services.resource,
            self._services.protocol,
            self._identity,
            self._client,
            self.database,
        )
        rule = self._services.policy.rule_named(decision.rule)
        try:
            return await hold_for_review(
                reviews, context, command, decision, classification, rule, on_hold
            )
        except ReviewError as exc:
            return replace(decision, action=Action.DENY, reason=f"review failed: {exc.message}")
        except (OSError, RuntimeError, ValueError) as exc:  # the store failed: fail closed
            return replace(decision, action=Action.DENY, reason=f"review unavailable: {exc}")

    def _log_decision(self, command: Command, decision: Decision, tables: list[str]) -> None:
        """The `command` line (log-only: no evidence event, see `event`)."""
        level = self._routine_level if decision.action is Action.ALLOW else "info"
        if self._logged[level]:
            database = command.database or self.database
            version = self._services.policy.version
            self._lines.decided(level, command, database, decision, tables, version)

    def masking_plan(self, command_id: str, columns: Sequence[ResultColumn]) -> MaskingPlan:
        if self._masking is None:
            return NO_MASKING
        return self._masking.plan(command_id, columns)

    def record(self, direction: Direction, frame: bytes) -> None:
        if self._recorded:
            self._evidence.frame(direction, frame)
        if direction is Direction.CLIENT_TO_SERVER:
            self._bytes_in.inc(len(frame))
        else:
            self._bytes_out.inc(len(frame))

    async def report(self, outcome: Outcome) -> None:
        self.report_now(outcome)

    def report_now(self, outcome: Outcome) -> bool:
        """`report` without a coroutine: nothing in it waits (the journal write is
        synchronous, sinks are fed by their pumps), so it always reports."""
        if self._masking is not None:
            outcome = self._masking.scrub(outcome)  # an error may echo masked values
        if self._audited:  # durable first; raises AuditUnavailable (fail closed)
            self._evidence.reported(outcome)
        masked = self._masking.finish(outcome) if self._masking is not None else {}
        level = self._routine_level if not outcome.error else "info"
        if self._logged[level]:
            self._lines.done(level, outcome, masked)  # "command_done" is log-only too
        return True

    def event(self, name: str, **fields: Any) -> None:
        self._log.emit(name, **fields)
        self._evidence.event(name, fields)

    async def close(self, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        services = self._services
        services.metrics.sessions_active.labels(*services.labels).dec()
        duration = round(time.monotonic() - self._started, 3)
        self.event("session_end", reason=reason, duration=duration, commands=self._sequence)
        await self._evidence.closed(reason, duration, self._sequence)
        await self._release(self._credential)


def numbered(decision: Decision, command_id: str) -> Decision:
    """`replace(decision, command_id=…)` without its generic field walk (per command)."""
    return Decision(
        decision.action,
        decision.rule,
        decision.reason,
        command_id,
        decision.max_rows,
        decision.kind,
        decision.flags,
        decision.review_id,
        decision.approved_by,
    )


def _needs_review(decision: Decision) -> str:
    """Without a review service a `review` decision refuses and says what it needs."""
    return f"this command needs a reviewer's approval ({decision.reason}); it was not run"
