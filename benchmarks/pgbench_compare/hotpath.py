"""Per-transaction cost of each piece of wardgate's PostgreSQL hot path, in process.

    .venv/bin/python -m benchmarks.pgbench_compare.hotpath [--loops 50000]

One ``pgbench -S`` transaction in simple mode is one Query frame from the client and
one RowDescription + DataRow + CommandComplete + ReadyForQuery burst from the server;
in prepared mode it is Bind + Execute + Sync (the Parse was decided once) and
BindComplete + DataRow + CommandComplete + ReadyForQuery.
This times what the relay does for that transaction without any socket: splitting,
decoding, the gate's ``decide``/``record``/``report`` (with the rule policy and
classifier ``serve`` builds, real metrics and a real event log writing to a file,
as ``wardgate serve`` does at level info), the tracker,
and the relay's own routing and inspection. The sum is the Python work per
transaction; whatever the live gateway spends beyond it (see ``proxy µs/txn`` in
the benchmark) is the event loop, the stream layer and the socket calls.

The first two lines drive the relay's read handlers (``_client_data`` and
``_server_data``, as the transports call them) with a different ``aid`` in every
transaction, as pgbench sends it — once with no audit evidence and once with the
audit journal on (a real ``AuditLog`` in a temporary directory, no sinks).
Recording is not included; its cost shows in the live profile (``--profile cprofile``).
Everything runs inside a running event loop, so log lines are buffered as they are live.

It reaches into the relay's private methods (``_route_frames``, ``_inspect``), so it
follows the code it measures: a piece whose API moved is reported as skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import struct
import tempfile
import time
from collections.abc import Callable, Coroutine
from typing import Any

QUERY_SQL = "SELECT abalance FROM pgbench_accounts WHERE aid = 4242;"


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def client_bytes() -> bytes:
    return _frame(b"Q", QUERY_SQL.encode() + b"\0")


def server_bytes() -> bytes:
    field = b"abalance\0" + struct.pack("!IhIhih", 16397, 3, 23, 4, -1, 0)
    return b"".join(
        [
            _frame(b"T", struct.pack("!h", 1) + field),
            _frame(b"D", struct.pack("!h", 1) + struct.pack("!i", 1) + b"0"),
            _frame(b"C", b"SELECT 1\0"),
            _frame(b"Z", b"I"),
        ]
    )


PREPARED_SQL = "SELECT abalance FROM pgbench_accounts WHERE aid = $1;"


def prepared_bytes() -> tuple[bytes, bytes, bytes]:
    """(Parse sent once, Bind+Execute+Sync per transaction, the server's answer)."""
    parse = _frame(b"P", b"P0_1\0" + PREPARED_SQL.encode() + b"\0" + struct.pack("!h", 0))
    bind = struct.pack("!h", 0) + struct.pack("!h", 1) + struct.pack("!i", 4) + b"4242"
    bind += struct.pack("!h", 0)
    client = b"".join(
        [
            _frame(b"B", b"\0P0_1\0" + bind),
            _frame(b"E", b"\0" + struct.pack("!i", 0)),
            _frame(b"S", b""),
        ]
    )
    server = b"".join(
        [
            _frame(b"2", b""),
            _frame(b"D", struct.pack("!h", 1) + struct.pack("!i", 1) + b"0"),
            _frame(b"C", b"SELECT 1\0"),
            _frame(b"Z", b"I"),
        ]
    )
    return parse, client, server


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never really suspends, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("coroutine suspended; cannot time it without a loop")


def per_call_us(fn: Callable[[], object], loops: int) -> float:
    for _ in range(min(loops // 10, 2000)):
        fn()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / loops


def bench_policy() -> Any:
    """The policy `wardgate serve` builds for the benchmark's config (reads allowed).

    Falls back to allow-all on a checkout that predates rule policies.
    """
    try:
        from wardgate.policy.commands import CommandClassifier
        from wardgate.policy.engine import RulePolicy
        from wardgate.policy.model import PolicyConfig
    except ImportError:
        from wardgate.policy.engine import AllowAllPolicy

        return AllowAllPolicy("bench")
    rule = {"name": "bench-read", "when": {"groups": ["agents"]}, "allow": ["read"]}
    config = PolicyConfig.model_validate({"default": "deny", "rules": [rule]})
    return RulePolicy(config, "bench", CommandClassifier())


class HotPath:
    """A real GatewaySession and Relay, wired as the plugin wires them, minus sockets."""

    def __init__(self, log_file: Any, audit_dir: str | None = None) -> None:
        from wardgate.audit.evidence import NO_EVIDENCE, Evidence
        from wardgate.eventlog import EventLog
        from wardgate.gate.session import GatewaySession, SessionServices
        from wardgate.metrics import Metrics
        from wardgate.seam import ClientInfo, Identity, UpstreamCredential
        from wardgate_postgres.relay import Relay

        async def release(credential: UpstreamCredential) -> None:
            return None

        self.policy = bench_policy()
        metrics, log = Metrics(), EventLog(log_file)
        evidence = NO_EVIDENCE
        if audit_dir is not None:
            from pathlib import Path

            from wardgate.audit.journal import Journal
            from wardgate.audit.log import AuditLog

            audit = AuditLog(Journal(Path(audit_dir)), instance="bench", metrics=metrics, log=log)
            audit.open()
            evidence = Evidence(audit, metrics=metrics)
        self.services = SessionServices(
            "pg", "postgres", self.policy, metrics, log, evidence=evidence
        )
        self.session = GatewaySession(
            self.services,
            "0123456789abcdef",
            Identity("bench", frozenset({"agents"})),
            ClientInfo("127.0.0.1", 40000, user="bench", database="bench"),
            "bench",
            UpstreamCredential("postgres"),
            release,
        )
        self.relay = Relay(None, None, None, None, self.session, "bench", 1 << 20)  # type: ignore[arg-type]

    def pieces(self) -> dict[str, Callable[[], object]]:
        from wardgate.seam import Command, Direction, Identity, Outcome
        from wardgate_postgres.codec import FrameSplitter, decode_backend, decode_frontend
        from wardgate_postgres.tracker import QUERY

        session, relay, services = self.session, self.relay, self.services
        c2s, s2c = client_bytes(), server_bytes()
        c_split, s_split = FrameSplitter(1 << 20), FrameSplitter(1 << 30)
        query_frame = c_split.feed(c2s)[0]
        server_frames = s_split.feed(s2c)
        command = Command("query", QUERY_SQL, "postgres", "bench")
        outcome = Outcome(command_id="x-1", rows=1, bytes_out=11, status="SELECT 1")
        decision = drive(session.decide(command))
        labels = (*services.labels, "read", "allow")
        identity = Identity("bench", frozenset({"agents"}))
        log_fields = {
            "command_id": "x-1",
            "operation": "query",
            "database": "bench",
            "statement": QUERY_SQL,
            "kind": "read",
            "flags": [],
            "tables": ["pgbench_accounts"],
            "decision": "allow",
            "reason": "",
            "rule": "bench-read",
            "policy_version": "bench",
        }

        literals = iter(range(1, 1 << 62))
        answer = server_bytes()

        def handlers_txn() -> None:  # as the transports call the relay, a new aid each time
            sql = f"SELECT abalance FROM pgbench_accounts WHERE aid = {next(literals)};"
            relay._client_data(_frame(b"Q", sql.encode() + b"\0"))
            relay._server_data(answer)

        def simple_txn() -> None:  # both directions, so the tracker stays balanced
            drive(relay._route_frames(c_split.feed(c2s)))
            session.record(Direction.CLIENT_TO_SERVER, c2s)
            _, outcomes = relay._inspect(s_split.feed(s2c))
            for done in outcomes:
                drive(session.report(done))
            session.record(Direction.SERVER_TO_CLIENT, s2c)

        parse, p_c2s, p_s2c = prepared_bytes()
        p_split, ps_split = FrameSplitter(1 << 20), FrameSplitter(1 << 30)
        drive(relay._route_frames(p_split.feed(parse)))  # decided once, as in -M prepared

        def prepared_txn() -> None:
            drive(relay._route_frames(p_split.feed(p_c2s)))
            session.record(Direction.CLIENT_TO_SERVER, p_c2s)
            _, outcomes = relay._inspect(ps_split.feed(p_s2c))
            for done in outcomes:
                drive(session.report(done))
            session.record(Direction.SERVER_TO_CLIENT, p_s2c)

        def inspect_only() -> None:
            relay.tracker.expect(QUERY, "x-1")
            relay._inspect(server_frames)

        return {
            "simple mode, read handlers, a new aid each time": handlers_txn,
            "simple mode, whole transaction (Q; T+D+C+Z)": simple_txn,
            "prepared mode, whole transaction (B+E+S; 2+D+C+Z)": prepared_txn,
            "  FrameSplitter.feed(Query)": lambda: c_split.feed(c2s),
            "  FrameSplitter.feed(T+D+C+Z)": lambda: s_split.feed(s2c),
            "  decode_frontend(Query)": lambda: decode_frontend(query_frame),
            "  decode_backend(CommandComplete)": lambda: decode_backend(server_frames[2]),
            "  GatewaySession.decide (policy + metrics + 'command' line)": lambda: drive(
                session.decide(command)
            ),
            "    policy.decide (classification cached by shape)": lambda: self.policy.decide(
                identity, "pg", command
            ),
            "    session.event: one 'command' log line": lambda: session.event(
                "command", **log_fields
            ),
            "    metrics commands.labels(...).inc()": lambda: services.metrics.commands.labels(
                *labels
            ).inc(),
            "    dataclasses.replace(decision)": lambda: dataclasses.replace(
                decision, command_id="x-2"
            ),
            "  GatewaySession.report (one 'command_done' line)": lambda: drive(
                session.report(outcome)
            ),
            "  GatewaySession.record (a Counter.inc)": lambda: session.record(
                Direction.CLIENT_TO_SERVER, c2s
            ),
            "  tracker.expect + Relay._inspect(T+D+C+Z)": inspect_only,
            "  json.dumps of a 12-field log record": lambda: json.dumps(
                {"ts": 1.0, "level": "info", "event": "command", **log_fields},
                default=str,
                ensure_ascii=False,
            ),
        }


def measure(loops: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryFile("w") as log_file, tempfile.TemporaryDirectory() as audit_dir:
        hot = HotPath(log_file)
        rows = []
        audited = HotPath(log_file, audit_dir).pieces()[
            "simple mode, read handlers, a new aid each time"
        ]
        rows.append(
            ("simple mode, read handlers, a new aid, audit journal on", per_call_us(audited, loops))
        )
        for name, fn in hot.pieces().items():
            try:
                rows.append((name, per_call_us(fn, loops)))
            except Exception as exc:  # the code under test moved on; say so, keep going
                rows.append((f"{name}  [skipped: {type(exc).__name__}: {exc}]", float("nan")))
        return rows


async def _in_a_loop(loops: int) -> list[tuple[str, float]]:
    """`measure` with a running loop, as `serve` runs the relay: the event log then
    buffers lines as it does live (written when `MAX_BUFFERED` fills, since this loop
    never yields) instead of writing each line at once."""
    return measure(loops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--loops", type=int, default=20000)
    args = parser.parse_args(argv)
    rows = asyncio.run(_in_a_loop(args.loops))
    print(f"{'piece (one pgbench -S transaction)':<58} µs/call")
    for name, us in rows:
        print(f"{name:<58} {us:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
