"""pgbench select-only: direct vs PgBouncer (session pooling) vs wardgate, interleaved.

    .venv/bin/python -m benchmarks.pgbench_compare [--seconds 15] [--rounds 3] …
    python benchmarks/pgbench_compare/run.py …            (the same, as a script)

Steps: create and initialise the bench database (``pgbench -i``, once per scale);
start PgBouncer (installed with apt-get if missing) and ``wardgate serve`` on free
ports; warm each target up; then run ``pgbench -n -S -c 8 -j 2 -T N -M MODE`` against
direct, pgbouncer, wardgate, direct, … for ``--rounds`` rounds. Each round records
TPS, average latency, the CPU the proxy used (per transaction) and how busy the
machine was; the gateway's RSS is sampled throughout. The summary goes to the console,
to ``benchmarks/results/pgbench_compare.json`` and to a PNG plot beside it. Everything
started is stopped on exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks.…` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.common import procstat
from benchmarks.common.plot import bar_panels
from benchmarks.common.processes import Processes, signals_raise
from benchmarks.common.results import RESULTS_DIR, run_metadata, write_json
from benchmarks.common.stats import interleaved
from benchmarks.common.wardgate import (
    REPO,
    WardgateServer,
    interpreter_description,
    new_token,
    start_wardgate,
    wait_for_json,
    wardgate_python,
)
from benchmarks.pgbench_compare import pgbouncer, report
from benchmarks.pgbench_compare.pgbench import (
    Endpoint,
    RunSettings,
    ensure_database,
    require_tools,
    run_pgbench,
    server_version,
    tool_version,
)
from benchmarks.pgbench_compare.profiling import Profiler

NAME = "pgbench_compare"
TARGETS = ("direct", "pgbouncer", "wardgate")
# Byte-for-byte Python relays (benchmarks.common.tcprelay): the floor under wardgate.
FLOORS = ("pyrelay-streams", "pyrelay-protocol")


#: The `audit` section wardgate gets for each --evidence choice (None: the defaults).
EVIDENCE: dict[str, dict[str, Any] | None] = {
    "full": None,
    "journal": {"sinks": []},
    "off": {"enabled": False},
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.pgbench_compare",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--seconds", type=int, default=15, help="length of one round")
    p.add_argument("--rounds", type=int, default=3, help="rounds per target, interleaved")
    p.add_argument("--clients", type=int, default=8, help="pgbench -c")
    p.add_argument("--threads", type=int, default=2, help="pgbench -j")
    p.add_argument(
        "--mode",
        choices=("simple", "extended", "prepared"),
        default="simple",
        help="pgbench -M: query protocol",
    )
    p.add_argument("--warmup", type=int, default=5, help="seconds per target before round 1")
    p.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated, from direct,pgbouncer,wardgate and the Python floors "
        "pyrelay-streams,pyrelay-protocol (bare relays, no protocol parsing)",
    )
    p.add_argument("--scale", type=int, default=10, help="pgbench -i -s")
    p.add_argument("--reinit", action="store_true", help="re-run pgbench -i even if present")
    p.add_argument("--dbname", default="bench", help="bench database (created if missing)")
    p.add_argument("--pg-host", default="127.0.0.1", help="upstream PostgreSQL host")
    p.add_argument("--pg-port", type=int, default=5432, help="upstream PostgreSQL port")
    p.add_argument("--pg-user", default="postgres", help="upstream user (trust auth)")
    p.add_argument(
        "--pgbouncer-user", default="postgres", help="OS user PgBouncer runs as when we are root"
    )
    p.add_argument(
        "--log-level",
        default="info",
        help="wardgate's logging.level (info logs every command: the default)",
    )
    p.add_argument(
        "--evidence",
        choices=tuple(EVIDENCE),
        default="full",
        help="wardgate's audit trail: full = the defaults (journal + store sink); "
        "journal = the journal without sinks; off = no audit (issue 2's gateway: relay, "
        "identity, rule policy and a log line per command)",
    )
    p.add_argument(
        "--wardgate-log",
        type=Path,
        help="keep wardgate's event log here (default: a temporary file)",
    )
    p.add_argument(
        "--profile",
        choices=("none", "py-spy", "cprofile"),
        default="none",
        help="profile wardgate during its rounds (see docs/performance.md)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR / f"{NAME}.json",
        help="result JSON; the plot is written beside it as .png",
    )
    args = p.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not args.targets or any(t not in (*TARGETS, *FLOORS) for t in args.targets):
        p.error(f"--targets takes names from {', '.join((*TARGETS, *FLOORS))}")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.dbname):
        p.error("--dbname must be a plain lower-case identifier")
    if min(args.seconds, args.rounds, args.clients, args.threads, args.scale) < 1:
        p.error("--seconds, --rounds, --clients, --threads and --scale must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with signals_raise(), tempfile.TemporaryDirectory(prefix=f"{NAME}.") as tmp:
        try:
            with Processes() as procs:
                return Benchmark(args, procs, Path(tmp)).run()
        except KeyboardInterrupt:
            print("\ninterrupted: everything this run started has been stopped", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"\nerror: {exc}", file=sys.stderr)
            return 1


class Benchmark:
    def __init__(self, args: argparse.Namespace, procs: Processes, workdir: Path) -> None:
        self.args = args
        self.procs = procs
        self.workdir = workdir
        self.settings = RunSettings(
            args.seconds, args.clients, args.threads, args.mode, args.dbname
        )
        self.direct = Endpoint("direct", args.pg_host, args.pg_port, args.pg_user)
        self.profiler = Profiler(args.profile, args.output.parent, args.output.stem)
        self.pids: dict[str, int] = {}
        self.rss: dict[str, dict[str, Any]] = {}

    def run(self) -> int:
        args = self.args
        require_tools()
        machine = procstat.machine_description()
        machine["background_busy_pct"] = procstat.background_busy_pct()
        print(
            f"machine: {machine['cpus']} CPUs, {machine['cpu_model']}; "
            f"{machine['background_busy_pct']}% busy before we start"
        )
        versions = {"postgres": server_version(self.direct), "pgbench": tool_version("pgbench")}
        print(ensure_database(self.direct, args.dbname, args.scale, args.reinit))
        endpoints = self.start_targets(versions)
        self.warm_up(endpoints)
        rounds = self.measure(endpoints)
        self.stop_gateway()
        result = self.summarise(machine, versions, rounds)
        for line in report.table(result):
            print(line)
        write_json(args.output, result)
        print(f"results written to {args.output}")
        print(self.plot(result))
        for line in self.profiler.report():
            print(line)
        return 0

    # -- targets -----------------------------------------------------------------------

    def start_targets(self, versions: dict[str, str]) -> dict[str, Endpoint]:
        endpoints: dict[str, Endpoint] = {}
        for target in self.args.targets:
            if target == "direct":
                endpoints[target] = self.direct
            elif target == "pgbouncer":
                endpoints[target] = self.start_pgbouncer(versions)
            elif target == "wardgate":
                versions["wardgate_python"] = interpreter_description(wardgate_python())
                print(f"wardgate interpreter: {versions['wardgate_python']}")
                endpoints[target] = self.start_gateway()
            else:
                endpoints[target] = self.start_floor(target)
        return endpoints

    def start_floor(self, target: str) -> Endpoint:
        args = self.args
        mode = target.removeprefix("pyrelay-")
        ready = self.workdir / f"{target}.ready.json"
        argv = [wardgate_python(), "-m", "benchmarks.common.tcprelay", "--mode", mode]
        argv += ["--upstream", f"{args.pg_host}:{args.pg_port}", "--ready-file", str(ready)]
        proc = self.procs.start(argv, cwd=REPO)
        listen = wait_for_json(proc, ready, 15.0)["listen"]
        host, _, port = listen.rpartition(":")
        self.pids[target] = proc.pid
        self.rss[target] = {"idle": procstat.rss_bytes(proc.pid), "peak": 0}
        print(f"{target}: bare Python relay ({mode}) on {listen}")
        return Endpoint(target, host, int(port), args.pg_user)

    def start_pgbouncer(self, versions: dict[str, str]) -> Endpoint:
        args = self.args
        binary = pgbouncer.ensure_pgbouncer()
        versions["pgbouncer"] = pgbouncer.version(binary)
        bouncer = pgbouncer.start_pgbouncer(
            self.procs,
            binary,
            upstream_host=args.pg_host,
            upstream_port=args.pg_port,
            database=args.dbname,
            user=args.pg_user,
            pool_size=args.clients,
            run_as=args.pgbouncer_user,
        )
        self.pids["pgbouncer"] = bouncer.pid
        self.rss["pgbouncer"] = {"idle": procstat.rss_bytes(bouncer.pid), "peak": 0}
        print(
            f"pgbouncer: {versions['pgbouncer']} on {bouncer.host}:{bouncer.port} (session pooling)"
        )
        return Endpoint("pgbouncer", bouncer.host, bouncer.port, self.args.pg_user)

    def start_gateway(self) -> Endpoint:
        args = self.args
        token = new_token()
        config = {
            "admin": {"listen": "127.0.0.1:0"},
            "logging": {"level": args.log_level},
            "identity": {"tokens": [token.entry]},
            "resources": [
                {
                    "name": "pg",
                    "protocol": "postgres",
                    "listen": "127.0.0.1:0",
                    "upstream": {
                        "host": args.pg_host,
                        "port": args.pg_port,
                        "database": args.dbname,
                        "tls": "disable",
                    },
                    "credentials": {"static": {"user": args.pg_user}},
                }
            ],
            # What an agent that may read gets: every statement classified, reads allowed.
            "policy": {
                "default": "deny",
                "rules": [
                    {
                        "name": "bench-read",
                        "when": {"groups": ["agents"], "resources": ["pg"]},
                        "allow": ["read"],
                    }
                ],
            },
        }
        audit = EVIDENCE[args.evidence]
        if audit is not None:
            config["audit"] = audit
        self.gateway: WardgateServer = start_wardgate(
            self.procs,
            config,
            self.workdir,
            log_path=args.wardgate_log,
            python_args=self.profiler.python_args(),
        )
        self.pids["wardgate"] = self.gateway.pid
        self.rss["wardgate"] = {"idle": procstat.rss_bytes(self.gateway.pid), "peak": 0}
        host, port = self.gateway.address("pg")
        print(
            f"wardgate: pid {self.gateway.pid} on {host}:{port} "
            f"(log level {args.log_level}, evidence {args.evidence})"
        )
        return Endpoint("wardgate", host, port, "bench", token.secret)

    def stop_gateway(self) -> None:
        """Stop the gateway (so a cProfile run writes its stats) after a last RSS look."""
        gateway = getattr(self, "gateway", None)
        if gateway is None:
            return
        with contextlib.suppress(OSError):
            self.rss["wardgate"]["hwm"] = procstat.peak_rss_bytes(gateway.pid)
        self.procs.stop(gateway.proc)

    # -- measuring ---------------------------------------------------------------------

    def warm_up(self, endpoints: dict[str, Endpoint]) -> None:
        if self.args.warmup <= 0:
            return
        for target, endpoint in endpoints.items():
            result = run_pgbench(endpoint, self.settings, self.args.warmup)
            print(
                f"warm-up {target:<16} {self.args.warmup} s: tps {result['tps']:,.0f} (discarded)"
            )

    def measure(self, endpoints: dict[str, Endpoint]) -> list[dict[str, Any]]:
        schedule = list(interleaved(list(endpoints), self.args.rounds))
        rounds = []
        for index, (number, target) in enumerate(schedule, 1):
            entry = self.one_round(number, target, endpoints[target])
            rounds.append(entry)
            print(report.round_line(len(schedule), index, entry), flush=True)
        return rounds

    def one_round(self, number: int, target: str, endpoint: Endpoint) -> dict[str, Any]:
        pid = self.pids.get(target)
        window = procstat.CpuWindow(dict(self.pids)).start()
        sampler = procstat.RssSampler(pid) if pid else contextlib.nullcontext()
        profile = (
            self.profiler.round(self.procs, pid, self.args.seconds)
            if target == "wardgate" and pid
            else contextlib.nullcontext()
        )
        with sampler, profile:
            result = run_pgbench(endpoint, self.settings)
        cpu = window.stop()
        entry: dict[str, Any] = {"round": number, "target": target, **result, "cpu": cpu}
        if pid:
            user, system = cpu[f"{target}_user_seconds"], cpu[f"{target}_system_seconds"]
            per_txn = 1e6 / max(result["transactions"], 1)
            entry["proxy_cpu_pct"] = round(100.0 * (user + system) / self.args.seconds, 1)
            entry["proxy_cpu_us_per_txn"] = round((user + system) * per_txn, 2)
            entry["proxy_user_us_per_txn"] = round(user * per_txn, 2)
            entry["proxy_system_us_per_txn"] = round(system * per_txn, 2)
            entry["rss_peak"] = sampler.peak  # type: ignore[union-attr]
            self.rss[target]["peak"] = max(self.rss[target]["peak"], entry["rss_peak"])
        return entry

    # -- results -----------------------------------------------------------------------

    def summarise(
        self, machine: dict[str, Any], versions: dict[str, str], rounds: list[dict[str, Any]]
    ) -> dict[str, Any]:
        args = self.args
        targets = report.per_target(rounds, args.targets)
        ratio_table = report.ratios(targets)
        for name, pid in self.pids.items():
            if name != "wardgate":  # stopped already; its high-water mark was taken then
                with contextlib.suppress(OSError):
                    self.rss[name]["hwm"] = procstat.peak_rss_bytes(pid)
        return {
            "benchmark": NAME,
            "meta": run_metadata(),
            "machine": machine,
            "versions": versions,
            "settings": {
                "seconds": args.seconds,
                "rounds": args.rounds,
                "clients": args.clients,
                "threads": args.threads,
                "mode": args.mode,
                "scale": args.scale,
                "warmup_seconds": args.warmup,
                "wardgate_log_level": args.log_level,
                "wardgate_evidence": args.evidence,
                "profile": args.profile,
                "order": "interleaved",
            },
            "targets": targets,
            "ratios": ratio_table,
            "rss": {
                name: {
                    "idle_mib": report.mib(v["idle"]),
                    "peak_under_load_mib": report.mib(v["peak"]),
                    "hwm_mib": report.mib(v.get("hwm", 0)),
                }
                for name, v in self.rss.items()
            },
            "target_check": report.target_check(ratio_table),
            "rounds": rounds,
        }

    def plot(self, result: dict[str, Any]) -> str:
        targets = result["targets"]
        s = result["settings"]
        title = (
            f"pgbench -S -M {s['mode']}, {s['clients']} clients, {s['seconds']} s x "
            f"{s['rounds']} rounds; {result['machine']['cpus']} CPUs"
        )
        panels = [
            ("TPS (higher is better)", {n: t["rounds_tps"] for n, t in targets.items()}),
            ("average latency, ms", {n: t["rounds_latency_ms"] for n, t in targets.items()}),
        ]
        proxies = {
            n: t["rounds_proxy_cpu_us_per_txn"]
            for n, t in targets.items()
            if "rounds_proxy_cpu_us_per_txn" in t
        }
        if proxies:
            panels.append(("proxy CPU µs per transaction", proxies))
        return bar_panels(self.args.output.with_suffix(".png"), title, panels)


if __name__ == "__main__":
    raise SystemExit(main())
