"""Prometheus metrics, all prefixed `wardgate_` (see docs/metrics.md).

One `Metrics` object owns its own registry and is injected everywhere, so tests and
several gateways in one process never share counters by accident.

The families counted per command or per relayed frame (bytes, commands, audit records,
decision and added-latency histograms) are `LoopCounter`s and `LoopHistogram`s: their
children are plain numbers the event loop's thread adds to, read by a collector at
scrape time. prometheus_client's own children take a lock per `inc`/`observe` (≈0.5 to
1 µs each on the relay path); the exposition is the same samples either way. Families
updated from other threads (Vault calls, audit sinks) stay prometheus_client types.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

#: The `le` label text prometheus_client writes for a bucket bound (untyped upstream).
_le_text = cast(Callable[[float], str], floatToGoString)

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)


class CounterValue:
    """One labelled series of a `LoopCounter`: add to `value` from the loop's thread."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1) -> None:
        self.value += amount


class HistogramValue:
    """One labelled series of a `LoopHistogram`: per-bucket counts (not cumulative)."""

    __slots__ = ("_bounds", "counts", "created", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        self.sum += amount
        self.counts[bisect.bisect_left(self._bounds, amount)] += 1  # first bound ≥ amount


V = TypeVar("V", CounterValue, HistogramValue)


def _use_created() -> bool:
    """Whether prometheus_client writes `_created` series (PROMETHEUS_DISABLE_CREATED_SERIES)."""
    return bool(getattr(prometheus_metrics, "_use_created", True))


class _LoopFamily(Collector, Generic[V]):
    """A labelled family whose children are created under a lock and counted without one.

    Only the event loop's thread may add to a child (`+=` is not atomic across threads);
    `collect` may run in any thread. `_labelnames` is named as in prometheus_client.
    """

    _type = ""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], V] = {}
        registry.register(self)

    def labels(self, *values: str, **named: str) -> V:
        """The child for these label values (positional in `labelnames` order, or named)."""
        if named:
            values = self._ordered(values, named)
        child = self._children.get(values)
        return child if child is not None else self._add(tuple(str(value) for value in values))

    def _ordered(self, values: tuple[str, ...], named: dict[str, str]) -> tuple[str, ...]:
        if values or set(named) != set(self._labelnames):
            raise ValueError(f"{self._name}: expected labels {self._labelnames}, got {named}")
        return tuple(named[name] for name in self._labelnames)

    def _add(self, key: tuple[str, ...]) -> V:
        if len(key) != len(self._labelnames):
            raise ValueError(f"{self._name}: expected labels {self._labelnames}, got {key}")
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._new_child()
            return child

    def _new_child(self) -> V:
        raise NotImplementedError

    def _series(self) -> list[tuple[tuple[str, ...], V]]:
        with self._lock:
            return list(self._children.items())

    def describe(self) -> Iterator[Metric]:
        yield Metric(self._name, self._documentation, self._type)


class LoopCounter(_LoopFamily[CounterValue]):
    """A labelled counter whose `labels(...).inc(n)` takes no lock."""

    _type = "counter"

    def _new_child(self) -> CounterValue:
        return CounterValue()

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        use_created = _use_created()
        for key, child in self._series():
            family.add_metric(key, child.value, created=child.created if use_created else None)
        yield family


class LoopHistogram(_LoopFamily[HistogramValue]):
    """A labelled histogram whose `labels(...).observe(x)` takes no lock."""

    _type = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry,
        buckets: Sequence[float],
    ) -> None:
        bounds = [float(bound) for bound in buckets]
        if bounds != sorted(bounds):
            raise ValueError("buckets not in sorted order")
        if bounds[-1] != math.inf:
            bounds.append(math.inf)
        self._bounds = tuple(bounds)
        self._les = [_le_text(bound) for bound in bounds]
        super().__init__(name, documentation, labelnames, registry)

    def _new_child(self) -> HistogramValue:
        return HistogramValue(self._bounds)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        use_created = _use_created()
        for key, child in self._series():
            cumulative, buckets = 0.0, []
            for le, count in zip(self._les, list(child.counts), strict=True):
                cumulative += count
                buckets.append((le, cumulative))
            family.add_metric(key, buckets, child.sum)
            if use_created:  # where prometheus_client's Histogram puts it: after `_sum`
                labels = dict(zip(self._labelnames, key, strict=True))
                family.add_sample(self._name + "_created", labels, child.created)
        yield family


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        rp = ["resource", "protocol"]
        self._review_metrics()
        self.connections = Counter(
            "wardgate_connections", "Client connections accepted.", rp, registry=r
        )
        self.connections_active = Gauge(
            "wardgate_connections_active", "Client connections open now.", rp, registry=r
        )
        self.sessions = Counter(
            "wardgate_sessions", "Authenticated sessions opened.", rp, registry=r
        )
        self.sessions_active = Gauge(
            "wardgate_sessions_active", "Authenticated sessions open now.", rp, registry=r
        )
        self.commands = LoopCounter(
            "wardgate_commands",
            "Commands decided, by kind and decision.",
            [*rp, "kind", "decision"],
            registry=r,
        )
        self.bytes = LoopCounter(
            "wardgate_bytes", "Bytes relayed, by direction.", [*rp, "direction"], registry=r
        )
        self.auth_failures = Counter(
            "wardgate_auth_failures", "Rejected authentications.", [*rp, "reason"], registry=r
        )
        self.refusals = Counter(
            "wardgate_refusals",
            "Connections or messages refused before or outside policy (protocol, limits).",
            [*rp, "category"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "wardgate_upstream_errors", "Failures reaching the upstream.", rp, registry=r
        )
        self.decision_seconds = LoopHistogram(
            "wardgate_decision_seconds",
            "Time the gate took to decide a command (excluding review waits).",
            rp,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.masked_values = Counter(
            "wardgate_masked_values",
            "Result values rewritten by masking, by masking rule.",
            [*rp, "rule"],
            registry=r,
        )
        self.oidc_key_fetches = Counter(
            "wardgate_oidc_key_fetches",
            "OIDC discovery/JWKS fetches, by issuer and outcome (ok|error).",
            ["issuer", "outcome"],
            registry=r,
        )
        self.vault_lease_operations = Counter(
            "wardgate_vault_lease_operations",
            "Vault lease operations (lease|reuse|renew|revoke), by outcome (ok|error).",
            ["operation", "outcome"],
            registry=r,
        )
        self.vault_leases_active = Gauge(
            "wardgate_vault_leases_active",
            "Vault leases held now (in use or idle in the reuse window), by secret path.",
            ["path"],
            registry=r,
        )
        self.vault_request_seconds = Histogram(
            "wardgate_vault_request_seconds",
            "Time of one Vault request, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._evidence_metrics(r, rp)

    def _evidence_metrics(self, r: CollectorRegistry, rp: list[str]) -> None:
        """Audit, recording, masking and latency (docs/audit.md, docs/recording.md)."""
        self.added_latency_seconds = LoopHistogram(
            "wardgate_added_latency_seconds",
            "Time the core spent on a command (decision and audit append), per command.",
            rp,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audit_records = LoopCounter(
            "wardgate_audit_records", "Audit records written to the journal.", ["type"], registry=r
        )
        self.audit_journal_errors = Counter(
            "wardgate_audit_journal_errors",
            "Failed writes or fsyncs of the audit journal.",
            registry=r,
        )
        self.audit_available = Gauge(
            "wardgate_audit_available",
            "1 while the audit journal takes records, 0 while it fails.",
            registry=r,
        )
        self.audit_fail_open = Counter(
            "wardgate_audit_fail_open",
            "Commands run or released without an audit record (audit.on_failure: open).",
            registry=r,
        )
        self.audit_fsync_seconds = Histogram(
            "wardgate_audit_fsync_seconds",
            "Duration of batched audit journal fsyncs.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audit_sink_records = Counter(
            "wardgate_audit_sink_records",
            "Audit records delivered to a sink.",
            ["sink"],
            registry=r,
        )
        self.audit_sink_errors = Counter(
            "wardgate_audit_sink_errors",
            "Failed deliveries to an audit sink.",
            ["sink"],
            registry=r,
        )
        self.audit_journal_bytes = Gauge(
            "wardgate_audit_journal_bytes",
            "Bytes in the audit journal's segments (measured by the retention task).",
            registry=r,
        )
        self.audit_pruned_segments = Counter(
            "wardgate_audit_pruned_segments",
            "Journal segments deleted by audit.retention.",
            registry=r,
        )
        self.audit_sink_lag = Gauge(
            "wardgate_audit_sink_lag_records",
            "Journal records not yet delivered to a sink.",
            ["sink"],
            registry=r,
        )
        self.recordings_active = Gauge(
            "wardgate_recordings_active", "Session recordings open now.", registry=r
        )
        self.recording_bytes = Counter(
            "wardgate_recording_bytes", "Uncompressed bytes written to recordings.", registry=r
        )
        self.recording_errors = Counter(
            "wardgate_recording_errors",
            "Recordings that failed to write (the session continues unrecorded).",
            registry=r,
        )

    def _review_metrics(self) -> None:
        r = self.registry
        self.reviews_pending = Gauge(
            "wardgate_reviews_pending",
            "Commands held for review on this instance now.",
            registry=r,
        )
        self.reviews = Counter(
            "wardgate_reviews", "Reviews ended, by outcome.", ["outcome"], registry=r
        )
        self.review_wait_seconds = Histogram(
            "wardgate_review_wait_seconds",
            "How long held commands waited for a reviewer.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
