"""Prometheus metrics, all prefixed `wardgate_` (see docs/metrics.md).

One `Metrics` object owns its own registry and is injected everywhere, so tests and
several gateways in one process never share counters by accident.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)


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
        self.commands = Counter(
            "wardgate_commands",
            "Commands decided, by kind and decision.",
            [*rp, "kind", "decision"],
            registry=r,
        )
        self.bytes = Counter(
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
        self.decision_seconds = Histogram(
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
        self.added_latency_seconds = Histogram(
            "wardgate_added_latency_seconds",
            "Time the core spent on a command (decision and audit append), per command.",
            rp,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audit_records = Counter(
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
