"""`policy.catalog.evaluate`: the catalog is consulted only when it can turn a refusal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from wardgate.policy.catalog import FunctionSource, evaluate
from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import RulePolicy
from wardgate.policy.model import PolicyConfig, Rule
from wardgate.seam import Action, CatalogFunction, Command, Identity, UpstreamCredential

AGENT = Identity("a", frozenset({"agents"}))
POLICY = RulePolicy(
    PolicyConfig(rules=(Rule(name="agents", allow=("read",)),)), "v1", CommandClassifier()
)


@dataclass
class Index:
    routines: tuple[CatalogFunction, ...]
    known: bool = True
    version: int = 1


@dataclass
class Cache:
    index: Index
    warm: bool = False
    reads: list[str] = field(default_factory=list)
    fail: bool = False

    def cached(self, database: str) -> Index | None:
        return self.index if self.warm else None

    async def get(self, credential: UpstreamCredential, database: str) -> Index:
        self.reads.append(database)
        if self.fail:
            raise OSError("upstream down")
        self.warm = True
        return self.index


def decide(cache: Cache | None, sql: str, trusted: bool = True) -> Action:
    source = FunctionSource(cache, trusted) if cache is not None else None
    command = Command("query", sql, "postgres")
    decision, _ = asyncio.run(
        evaluate(POLICY, AGENT, "pg", command, source, UpstreamCredential(), "app")
    )
    return decision.action


STABLE = Index((CatalogFunction("public", "label", "stable"),))


def test_reads_never_wait_for_the_catalog() -> None:
    cache = Cache(STABLE)
    assert decide(cache, "SELECT 1") is Action.ALLOW
    assert cache.reads == []


def test_a_refused_call_reads_the_catalog_once_then_uses_the_cache() -> None:
    cache = Cache(STABLE)
    assert decide(cache, "SELECT label(1)") is Action.ALLOW
    assert decide(cache, "SELECT label(2)") is Action.ALLOW
    assert cache.reads == ["app"]


def test_volatile_unknown_and_failing_catalogs_keep_the_refusal() -> None:
    volatile = Cache(Index((CatalogFunction("public", "label", "volatile"),)))
    assert decide(volatile, "SELECT label(1)") is Action.DENY
    assert decide(Cache(STABLE), "SELECT other(1)") is Action.DENY
    assert decide(Cache(STABLE, fail=True), "SELECT label(1)") is Action.DENY
    assert decide(Cache(Index(STABLE.routines, known=False)), "SELECT label(1)") is Action.DENY
    assert decide(None, "SELECT label(1)") is Action.DENY


def test_an_untrusted_source_answers_nothing() -> None:
    cache = Cache(STABLE, warm=True)
    assert decide(cache, "SELECT label(1)", trusted=False) is Action.DENY
    assert cache.reads == []
