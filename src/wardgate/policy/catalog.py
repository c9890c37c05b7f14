"""Function volatility from the upstream catalog, fetched only when it can matter.

A call to a function the classifier does not know as a read-only built-in makes a
statement ``write`` + ``side_effect_function`` — unless the database says the
function is ``stable`` or ``immutable`` (PostgreSQL ``pg_proc.provolatile``; the
server runs those with a read-only snapshot). The answer comes from the resource's
`CatalogCache` (the same snapshots masking uses), read with the session's own
credential.

The hot path never waits for it: a cached snapshot is used when there is one, and
the catalog is read (then cached) only when a command was refused *and* calls such
a function — the one case where the answer can turn a refusal into a read. A
missing or failing catalog answers nothing, so the refusal stands.

MySQL stored routines are never taken as read-only: their declared characteristics
(DETERMINISTIC, READS SQL DATA) are not enforced by the server, so a MySQL source
is `trusted=False` and contributes nothing.
"""

from __future__ import annotations

from typing import Protocol, cast

from wardgate.catalog.cache import CatalogCache
from wardgate.classify.context import FunctionCatalog
from wardgate.classify.model import Classification
from wardgate.eventlog import EventLog
from wardgate.policy.engine import Policy
from wardgate.policy.functions import CatalogFunctions
from wardgate.seam import (
    CatalogFunction,
    CatalogReader,
    Command,
    Decision,
    Identity,
    UpstreamCredential,
)


class FunctionIndex(Protocol):
    """What the policy needs from a catalog index: the snapshot's functions."""

    @property
    def known(self) -> bool: ...

    @property
    def version(self) -> int: ...

    @property
    def routines(self) -> tuple[CatalogFunction, ...]: ...


class IndexCache(Protocol):
    """The part of `wardgate.catalog.CatalogCache` the policy uses."""

    def cached(self, database: str) -> FunctionIndex | None: ...

    async def get(self, credential: UpstreamCredential, database: str) -> FunctionIndex: ...


class FunctionSource:
    """Function volatility per database, adapted from a catalog cache."""

    def __init__(self, cache: IndexCache, trusted: bool = True) -> None:
        self._cache = cache
        self._trusted = trusted
        self._adapted: dict[str, tuple[int, CatalogFunctions]] = {}

    def cached(self, database: str) -> FunctionCatalog | None:
        index = self._cache.cached(database) if self._trusted else None
        return self._adapt(database, index)

    async def load(self, credential: UpstreamCredential, database: str) -> FunctionCatalog | None:
        if not self._trusted:
            return None
        try:
            index = await self._cache.get(credential, database)
        except Exception:  # the catalog is advisory: no answer, the safe outcome stands
            return None
        return self._adapt(database, index)

    def _adapt(self, database: str, index: FunctionIndex | None) -> FunctionCatalog | None:
        if index is None or not index.known:
            return None
        seen = self._adapted.get(database)
        if seen is None or seen[0] != index.version:
            seen = (index.version, CatalogFunctions(index.routines))
            self._adapted[database] = seen
        return seen[1]


def function_source(
    listener: object,
    resource: str,
    dialect: str,
    log: EventLog,
    shared: IndexCache | None = None,
) -> FunctionSource | None:
    """The policy's function volatility for one resource (PostgreSQL only).

    Shares the masking engine's catalog cache when there is one; otherwise keeps
    its own over the plugin's `CatalogReader`. None when the plugin reads no catalog.
    """
    if dialect != "postgres":
        return None  # MySQL routine characteristics are not enforced: never a read
    if shared is not None:
        return FunctionSource(shared)
    if not hasattr(listener, "read_catalog"):
        return None
    reader = cast(CatalogReader, listener)
    return FunctionSource(CatalogCache(reader, resource, lambda database: "public", log))


def could_be_read(decision: Decision, classification: Classification | None) -> bool:
    """Whether the catalog's answer could change this refusal (it calls user functions)."""
    return (
        not decision.allowed
        and classification is not None
        and "side_effect_function" in classification.flags
    )


def evaluate_now(
    policy: Policy,
    identity: Identity,
    resource: str,
    command: Command,
    source: FunctionSource | None,
    database: str,
) -> tuple[Decision, Classification | None] | None:
    """`evaluate` when it needs no catalog read; None when it does (call `evaluate`)."""
    database = command.database or database
    functions = source.cached(database) if source is not None else None
    decision, classification = policy.evaluate(identity, resource, command, functions)
    if source is None or functions is not None or not could_be_read(decision, classification):
        return decision, classification
    return None


async def evaluate(
    policy: Policy,
    identity: Identity,
    resource: str,
    command: Command,
    source: FunctionSource | None,
    credential: UpstreamCredential,
    database: str,
) -> tuple[Decision, Classification | None]:
    """`policy.evaluate` with function volatility from the catalog when it can matter."""
    database = command.database or database
    functions = source.cached(database) if source is not None else None
    decision, classification = policy.evaluate(identity, resource, command, functions)
    if source is None or functions is not None or not could_be_read(decision, classification):
        return decision, classification
    functions = await source.load(credential, database)
    if functions is None:
        return decision, classification
    return policy.evaluate(identity, resource, command, functions)
