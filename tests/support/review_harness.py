"""Review-service test doubles: a clock, a shared change feed, an audit sink.

`harness()` opens an in-memory SQLite state store with the reviews migrations and
builds services on it; several services on one harness behave like gateway
instances sharing a state store.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.reviews.feed import ChangeFeed
from wardgate.reviews.model import ReviewRequest
from wardgate.reviews.notify import Notifier
from wardgate.reviews.repository import MIGRATIONS, FixedStore, ReviewRepository
from wardgate.reviews.service import ReviewService, ReviewSettings
from wardgate.seam import Identity
from wardgate.store import Store, open_store

T0 = 1_700_000_000.0

ALICE = Identity("alice", frozenset({"dba"}))
BOB = Identity("bob", frozenset({"dba"}))
CAROL = Identity("carol", frozenset({"dba", "agents"}))
MALLORY = Identity("mallory", frozenset({"agents"}))
AGENT = Identity("agent-1", frozenset({"agents", "dba"}))  # in dba too: still no self-approval


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FeedHub:
    """LISTEN/NOTIFY in memory: every feed made here hears every publish."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[str], None]] = []
        self.published: list[str] = []

    def feed(self) -> ChangeFeed:
        return _HubFeed(self)


class _HubFeed:
    def __init__(self, hub: FeedHub) -> None:
        self._hub = hub

    async def start(self, on_change: Callable[[str], None]) -> None:
        self._hub.listeners.append(on_change)

    async def publish(self, review_id: str) -> None:
        self._hub.published.append(review_id)
        for listener in list(self._hub.listeners):
            listener(review_id)

    async def stop(self) -> None:
        return None


@dataclass
class AuditSink:
    records: list[dict[str, Any]] = field(default_factory=list)

    def review(self, event: str, **fields: Any) -> None:
        self.records.append({"event": event, **fields})

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["event"] == name]


@dataclass
class Harness:
    store: Store
    clock: FakeClock
    log_stream: io.StringIO
    audit: AuditSink
    metrics: Metrics

    def service(
        self,
        *,
        feed: ChangeFeed | None = None,
        instance: str | None = None,
        settings: ReviewSettings | None = None,
    ) -> ReviewService:
        log = EventLog(self.log_stream)
        return ReviewService(
            ReviewRepository(FixedStore(self.store)),
            settings or ReviewSettings(public_url="http://gw.test", poll_interval=0.02),
            Notifier((), log),
            self.metrics,
            log,
            feed=feed,
            clock=self.clock,
            instance=instance,
            audit=self.audit,
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        lines = self.log_stream.getvalue().splitlines()
        return [r for r in map(json.loads, lines) if r["event"] == name]

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        value = self.metrics.registry.get_sample_value(name, labels or {})
        return 0.0 if value is None else value


@asynccontextmanager
async def harness() -> AsyncIterator[Harness]:
    store = await open_store("sqlite:///:memory:", Path("."), MIGRATIONS)
    try:
        yield Harness(store, FakeClock(), io.StringIO(), AuditSink(), Metrics())
    finally:
        await store.close()


REQUEST = ReviewRequest(
    requester="agent-1",
    requester_groups=("agents", "dba"),
    resource="orders",
    protocol="postgres",
    session_id="s1",
    command_id="s1-1",
    statement="UPDATE t SET v = 1 WHERE id = 1",
    fingerprint="fp-update-t",
    kind="write",
    flags=(),
    tables=("t",),
    rule="agents",
    reason="write needs review",
    review_by=("dba",),
    min_approvals=1,
    timeout=60.0,
)


def request(**changes: Any) -> ReviewRequest:
    return replace(REQUEST, **changes)
