"""`ResourceGate` and `GatewaySession` with real metrics and a JSON event log in memory."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wardgate.config.model import StaticCredentials, StaticToken
from wardgate.credentials.static import StaticCredentialProvider
from wardgate.eventlog import EventLog
from wardgate.expiry import schedule_expiry
from wardgate.gate import GatewaySession, ResourceGate
from wardgate.gate.session import SessionServices
from wardgate.identity.authenticator import Authenticator
from wardgate.identity.tokens import StaticTokenVerifier, token_digest
from wardgate.metrics import Metrics
from wardgate.policy.engine import AllowAllPolicy
from wardgate.seam import (
    AccessDenied,
    Action,
    AuthenticationFailed,
    ClientInfo,
    Command,
    Decision,
    Direction,
    Identity,
    Outcome,
    PresentedCredential,
    UpstreamCredential,
    UpstreamUnavailable,
)

T = TypeVar("T")

SECRET = "wgt_the-agents-real-token-0123456789"
UPSTREAM_PASSWORD = "upstream-pw-never-logged"
CLIENT = ClientInfo(address="127.0.0.1", port=50000, user="alice", database="orders")
LABELS = {"resource": "orders", "protocol": "postgres"}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class ExplodingPolicy:
    version = "v-broken"

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision:
        raise RuntimeError("rule table corrupted")

    def evaluate(
        self, identity: Identity, resource: str, command: Command, functions: object = None
    ) -> tuple[Decision, None]:
        return self.decide(identity, resource, command), None


class FixedPolicy:
    version = "v-fixed"

    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision:
        return self.decision

    def evaluate(
        self, identity: Identity, resource: str, command: Command, functions: object = None
    ) -> tuple[Decision, None]:
        return self.decision, None


@dataclass
class RecordingCredentials:
    """A credential provider double that remembers leases and releases."""

    fail: bool = False
    leased: int = 0
    released: list[UpstreamCredential] = field(default_factory=list)

    async def lease(self, identity: Identity | None = None) -> UpstreamCredential:
        if self.fail:
            raise UpstreamUnavailable("vault is sealed")
        self.leased += 1
        return UpstreamCredential(username="app", password=UPSTREAM_PASSWORD)

    async def release(self, credential: UpstreamCredential) -> None:
        self.released.append(credential)


@dataclass
class Harness:
    gate: ResourceGate
    metrics: Metrics
    stream: io.StringIO
    credentials: RecordingCredentials

    def sample(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, {**LABELS, **labels})

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [record for record in self.events() if record["event"] == event]

    def session(self, database: str = "") -> GatewaySession:
        identity = run(self.gate.authenticate(PresentedCredential(SECRET, "alice"), CLIENT))
        return run(self.gate.open_session(identity, CLIENT, database))


def harness(
    policy: Any = None,
    databases: tuple[str, ...] | None = None,
    credentials: RecordingCredentials | None = None,
    max_statement_chars: int = 2000,
    provider: Any = None,
) -> Harness:
    stream = io.StringIO()
    metrics = Metrics()
    services = SessionServices(
        resource="orders",
        protocol="postgres",
        policy=policy or AllowAllPolicy("v1"),
        metrics=metrics,
        log=EventLog(stream),
        max_statement_chars=max_statement_chars,
    )
    token = StaticToken(name="agent-1", groups=("agents",), sha256=token_digest(SECRET))
    credentials = credentials or RecordingCredentials()
    gate = ResourceGate(
        services,
        Authenticator(StaticTokenVerifier([token])),
        provider or credentials,
        databases,
        "orders",
    )
    return Harness(gate, metrics, stream, credentials)


def query(sql: str = "SELECT 1") -> Command:
    return Command(operation="query", text=sql, dialect="postgres")


# -- authentication ----------------------------------------------------------------------


def test_authenticate_returns_identity() -> None:
    h = harness()
    identity = run(h.gate.authenticate(PresentedCredential(SECRET, "alice"), CLIENT))
    assert (identity.name, identity.groups) == ("agent-1", frozenset({"agents"}))
    assert h.sample("wardgate_auth_failures_total", reason="invalid_token") is None


@pytest.mark.parametrize("presented", ["", "wgt_guess", SECRET + "x"])
def test_authenticate_failure_is_counted_and_logged(presented: str) -> None:
    h = harness()
    with pytest.raises(AuthenticationFailed):
        run(h.gate.authenticate(PresentedCredential(presented, "alice"), CLIENT))
    assert h.sample("wardgate_auth_failures_total", reason="invalid_token") == 1.0
    (record,) = h.named("auth_failed")
    assert record["level"] == "warning"
    assert record["resource"] == "orders"
    assert record["client"] == "127.0.0.1:50000"
    assert record["user"] == "alice"
    if presented:
        assert presented not in h.stream.getvalue()


# -- decisions ---------------------------------------------------------------------------


def test_command_ids_are_session_id_and_sequence() -> None:
    h = harness()
    session = h.session()
    ids = [run(session.decide(query())).command_id for _ in range(3)]
    assert ids == [f"{session.id}-1", f"{session.id}-2", f"{session.id}-3"]
    assert len(session.id) == 16
    assert h.session().id != session.id


def test_allow_all_decision_names_its_rule() -> None:
    decision = run(harness().session().decide(query()))
    assert (decision.action, decision.rule, decision.allowed) == (Action.ALLOW, "default", True)


def test_policy_fields_kept_but_command_id_is_the_sessions() -> None:
    policy = FixedPolicy(
        Decision(Action.REVIEW, "agents", command_id="forged", kind="write", flags=frozenset({"x"}))
    )
    session = harness(policy).session()
    decision = run(session.decide(query("DELETE FROM t")))
    assert decision.command_id == f"{session.id}-1"
    assert (decision.action, decision.rule, decision.kind) == (Action.REVIEW, "agents", "write")


def test_numbering_a_decision_keeps_every_other_field() -> None:
    from dataclasses import fields, replace

    from wardgate.gate.session import numbered

    decision = Decision(
        Action.ALLOW,
        "r",
        "why",
        "old",
        max_rows=5,
        kind="read",
        flags=frozenset({"f"}),
        review_id="rv",
        approved_by=("bob",),
    )
    assert numbered(decision, "s-1") == replace(decision, command_id="s-1")
    assert len(fields(Decision)) == 9  # a new field must be copied by `numbered` too


def test_policy_that_raises_denies_with_rule_error() -> None:
    h = harness(ExplodingPolicy())
    session = h.session()
    decision = run(session.decide(query()))
    assert decision.action is Action.DENY
    assert decision.rule == "error"
    assert not decision.allowed
    assert "rule table corrupted" in decision.reason
    assert decision.command_id == f"{session.id}-1"
    assert h.sample("wardgate_commands_total", kind="unknown", decision="deny") == 1.0
    assert h.sample("wardgate_commands_total", kind="unknown", decision="allow") is None
    (record,) = h.named("command")
    assert (record["decision"], record["rule"]) == ("deny", "error")
    assert record["policy_version"] == "v-broken"


def test_commands_counted_by_kind_and_decision() -> None:
    h = harness()
    session = h.session()
    for _ in range(3):
        run(session.decide(query()))
    assert h.sample("wardgate_commands_total", kind="unknown", decision="allow") == 3.0
    assert h.sample("wardgate_decision_seconds_count") == 3.0


def test_command_log_line() -> None:
    h = harness()
    session = h.session()
    command = Command(operation="parse", text="SELECT * FROM t", dialect="postgres", database="x")
    run(session.decide(command))
    (record,) = h.named("command")
    assert record["command_id"] == f"{session.id}-1"
    assert record["session"] == session.id
    assert record["identity"] == "agent-1"
    assert (record["operation"], record["statement"], record["database"]) == (
        "parse",
        "SELECT * FROM t",
        "x",
    )
    assert (record["decision"], record["rule"], record["policy_version"]) == (
        "allow",
        "default",
        "v1",
    )
    assert (record["resource"], record["protocol"]) == ("orders", "postgres")


def test_long_statements_are_truncated_in_the_log() -> None:
    h = harness(max_statement_chars=10)
    run(h.session().decide(query("SELECT 'abcdefghijklmnop'")))
    assert h.named("command")[0]["statement"] == "SELECT 'ab…"


def test_report_logs_outcome() -> None:
    h = harness()
    session = h.session()
    decision = run(session.decide(query()))
    run(session.report(Outcome(decision.command_id, rows=2, bytes_out=40, status="SELECT 2")))
    (record,) = h.named("command_done")
    assert record["command_id"] == decision.command_id
    assert (record["rows"], record["bytes"], record["status"], record["error"]) == (
        2,
        40,
        "SELECT 2",
        "",
    )


# -- sessions, metrics, log --------------------------------------------------------------


def test_session_gauge_back_to_zero_after_close() -> None:
    h = harness()
    first, second = h.session(), h.session()
    assert h.sample("wardgate_sessions_active") == 2.0
    assert h.sample("wardgate_sessions_total") == 2.0
    run(first.close("client terminated"))
    assert h.sample("wardgate_sessions_active") == 1.0
    run(second.close())
    run(second.close())  # idempotent
    assert h.sample("wardgate_sessions_active") == 0.0
    assert h.credentials.released == [
        UpstreamCredential("app", UPSTREAM_PASSWORD),
        UpstreamCredential("app", UPSTREAM_PASSWORD),
    ]


def test_bytes_counted_by_direction() -> None:
    h = harness()
    session = h.session()
    session.record(Direction.CLIENT_TO_SERVER, b"x" * 10)
    session.record(Direction.CLIENT_TO_SERVER, b"y" * 5)
    session.record(Direction.SERVER_TO_CLIENT, b"z" * 100)
    assert h.sample("wardgate_bytes_total", direction="c2s") == 15.0
    assert h.sample("wardgate_bytes_total", direction="s2c") == 100.0


def test_log_lines_are_json_with_event_keys() -> None:
    h = harness()
    session = h.session()
    decision = run(session.decide(query()))
    run(session.report(Outcome(decision.command_id)))
    session.event("cancel_forwarded", pid=1)
    run(session.close("bye"))
    records = h.events()
    assert [r["event"] for r in records] == [
        "session_start",
        "command",
        "command_done",
        "cancel_forwarded",
        "session_end",
    ]
    for record in records:
        assert {"ts", "level", "event"} <= set(record)
    start, end = records[0], records[-1]
    assert (start["database"], start["upstream_user"]) == ("orders", "app")
    assert (end["reason"], end["commands"]) == ("bye", 1)
    assert end["duration"] >= 0


def test_secrets_never_appear_in_any_log_line() -> None:
    h = harness(ExplodingPolicy())
    with pytest.raises(AuthenticationFailed):
        run(h.gate.authenticate(PresentedCredential(SECRET[:-1], "alice"), CLIENT))
    session = h.session()
    decision = run(session.decide(query()))
    run(session.report(Outcome(decision.command_id, error="boom")))
    run(session.close())
    log = h.stream.getvalue()
    assert len(log.splitlines()) >= 5
    assert SECRET not in log
    assert SECRET[:-1] not in log
    assert SECRET[4:20] not in log
    assert UPSTREAM_PASSWORD not in log


def test_event_log_level_threshold_and_closed_stream() -> None:
    stream = io.StringIO()
    log = EventLog(stream, level="warning")
    log.emit("quiet")
    log.emit("loud", level="warning", n=1)
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["loud"]
    stream.close()
    log.emit("after_close", level="error")  # never raises


# -- databases and upstream credentials --------------------------------------------------


@pytest.mark.parametrize(
    ("databases", "allowed", "refused"),
    [
        (None, ["", "orders"], ["postgres", "orders_archive", "*"]),
        (("*",), ["", "orders", "postgres", "anything"], []),
        (("orders", "orders_archive"), ["orders", "orders_archive"], ["postgres", "template1"]),
    ],
    ids=["default-only", "star", "list"],
)
def test_database_allow_list(
    databases: tuple[str, ...] | None, allowed: list[str], refused: list[str]
) -> None:
    gate = harness(databases=databases).gate
    for name in allowed:
        assert gate.allows_database(name), name
    for name in refused:
        assert not gate.allows_database(name), name


def test_refused_database_is_access_denied_before_any_lease() -> None:
    h = harness()
    with pytest.raises(AccessDenied, match='"postgres"'):
        h.session("postgres")
    assert h.credentials.leased == 0
    assert h.sample("wardgate_refusals_total", category="authorization") == 1.0
    assert h.sample("wardgate_sessions_active") is None
    (record,) = h.named("refused")
    assert record["category"] == "authorization"


def test_session_database_defaults_to_upstream_database() -> None:
    assert harness().session("").database == "orders"
    assert harness(databases=("*",)).session("other").database == "other"


def test_unavailable_upstream_credential_is_counted_and_refused() -> None:
    h = harness(credentials=RecordingCredentials(fail=True))
    with pytest.raises(UpstreamUnavailable):
        h.session()
    assert h.sample("wardgate_upstream_errors_total") == 1.0
    assert h.sample("wardgate_refusals_total", category="upstream") == 1.0
    assert h.sample("wardgate_sessions_total") is None
    assert h.named("refused")[0]["reason"] == "vault is sealed"


def test_static_provider_missing_env_refuses_session(tmp_path: Path) -> None:
    provider = StaticCredentialProvider(
        StaticCredentials(user="app", password_env="WG_GATE_TEST_UNSET"), tmp_path, environ={}
    )
    h = harness(provider=provider)
    with pytest.raises(UpstreamUnavailable, match="WG_GATE_TEST_UNSET"):
        h.session()
    assert h.sample("wardgate_upstream_errors_total") == 1.0


def test_gate_refuse_counts_by_category() -> None:
    h = harness()
    h.gate.refuse(CLIENT, "SSL required", "protocol")
    h.gate.refuse(CLIENT, "unknown cancel key", "cancel")
    h.gate.refuse(CLIENT, "another", "protocol")
    assert h.sample("wardgate_refusals_total", category="protocol") == 2.0
    assert h.sample("wardgate_refusals_total", category="cancel") == 1.0
    assert h.gate.resource == "orders"


# -- decide_now: the same decision without a coroutine, or nothing at all ----------------


def _without_ts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in record.items() if k not in ("ts", "session", "command_id")}
        for record in records
    ]


def test_decide_now_decides_counts_and_logs_like_decide() -> None:
    now, later = harness(), harness()
    session_now, session_later = now.session(), later.session()
    for sql in ("SELECT 1", "SELECT 2"):
        decided = session_now.decide_now(query(sql))
        awaited = run(session_later.decide(query(sql)))
        assert decided is not None
        assert (decided.action, decided.rule, decided.kind) == (
            awaited.action,
            awaited.rule,
            awaited.kind,
        )
    assert decided.command_id == f"{session_now.id}-2"
    assert _without_ts(now.named("command")) == _without_ts(later.named("command"))
    assert now.sample("wardgate_commands_total", kind="unknown", decision="allow") == 2.0
    assert now.sample("wardgate_decision_seconds_count") == 2.0


def test_decide_now_refuses_like_decide_when_the_policy_breaks() -> None:
    h = harness(policy=ExplodingPolicy())
    decision = h.session().decide_now(query())
    assert decision is not None
    assert (decision.action, decision.rule) == (Action.DENY, "error")


def test_decide_now_leaves_a_review_to_decide_untouched() -> None:
    held = Decision(Action.REVIEW, rule="writes", reason="needs a reviewer")
    h = harness(policy=FixedPolicy(held))
    session = h.session()
    assert session.decide_now(query("DELETE FROM t")) is None
    assert h.named("command") == []  # nothing logged, counted or numbered
    assert h.sample("wardgate_commands_total", kind="unknown", decision="review") is None
    decision = run(session.decide(query("DELETE FROM t")))
    assert decision.command_id == f"{session.id}-1"


def test_report_now_reports_like_report() -> None:
    now, later = harness(), harness()
    session_now, session_later = now.session(), later.session()
    for outcome in (
        Outcome("x-1", rows=2, bytes_out=40, status="SELECT 2"),
        Outcome("x-2", error="boom"),
    ):
        assert session_now.report_now(outcome) is True
        run(session_later.report(outcome))
    assert _without_ts(now.named("command_done")) == _without_ts(later.named("command_done"))
    assert [r["error"] for r in now.named("command_done")] == ["", "boom"]


# -- ends_at: when the identity's token expires, if the resource says so -----------------


def test_a_session_ends_at_its_tokens_expiry_only_when_configured() -> None:
    expiring = Identity("alice", frozenset({"agents"}), "oidc", "https://idp", expires_at=1.5e9)
    h = harness()
    session = run(h.gate.open_session(expiring, CLIENT, ""))
    assert session.ends_at is None  # identity.end_sessions_at_expiry is off by default
    h.gate._services.end_at_expiry = True
    assert run(h.gate.open_session(expiring, CLIENT, "")).ends_at == 1.5e9
    static = h.session()
    assert static.identity.expires_at is None
    assert static.ends_at is None


def test_schedule_expiry_fires_at_the_deadline_or_at_once_when_past() -> None:
    fired: list[str] = []

    async def main() -> None:
        assert schedule_expiry(None, lambda: fired.append("never")) is None
        schedule_expiry(time.time() - 10, lambda: fired.append("past"))
        handle = schedule_expiry(time.time() + 0.5, lambda: fired.append("soon"))
        later = schedule_expiry(time.time() + 0.5, lambda: fired.append("cancelled"))
        assert handle is not None
        assert later is not None
        later.cancel()
        await asyncio.sleep(0.01)
        assert fired == ["past"]  # a deadline already past: on the loop's next turns
        await asyncio.sleep(0.6)

    asyncio.run(main())
    assert fired == ["past", "soon"]


def test_a_refreshed_token_is_the_same_identity() -> None:
    first = Identity("alice", frozenset({"agents"}), "oidc", "https://idp", expires_at=100.0)
    refreshed = Identity("alice", frozenset({"agents"}), "oidc", "https://idp", expires_at=900.0)
    assert first == refreshed
    assert hash(first) == hash(refreshed)
