"""sysbench oltp_read_only: direct vs wardgate, interleaved rounds, ratios as JSON.

    .venv/bin/python -m benchmarks.sysbench_compare [--seconds 10] [--rounds 3] [--threads 4]

Starts a private MariaDB (tests/support/mariadb.py) and ``wardgate serve`` with one
mysql resource in front of it, prepares the sysbench tables once, then runs
``sysbench oltp_read_only`` against direct, wardgate, direct, … for ``--rounds``
rounds. sysbench (libmariadb) sends the token as a cleartext password through the
auth switch; it uses server-side prepared statements, so the binary protocol path is
what is measured. Results go to the console and ``benchmarks/results/sysbench_compare.json``
(plus a PNG when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks.…` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.common.plot import bar_panels
from benchmarks.common.processes import Processes, signals_raise
from benchmarks.common.procstat import CpuWindow
from benchmarks.common.results import RESULTS_DIR, run_metadata, write_json
from benchmarks.common.stats import interleaved, ratio, summary
from benchmarks.common.wardgate import REPO, new_token, start_wardgate

sys.path.insert(0, str(REPO / "tests"))
from support.certs import make_certs
from support.mariadb import MariaDB

NAME = "sysbench_compare"
TARGETS = ("direct", "wardgate")
TPS = re.compile(r"transactions:\s+\d+\s+\(([\d.]+) per sec")
QPS = re.compile(r"queries:\s+\d+\s+\(([\d.]+) per sec")
LATENCY = re.compile(r"avg:\s+([\d.]+)")
P95 = re.compile(r"95th percentile:\s+([\d.]+)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--table-size", type=int, default=10_000)
    return parser.parse_args(argv)


def sysbench(
    port: int, user: str, password: str, command: str, args: argparse.Namespace, seconds: int = 0
) -> str:
    argv = [
        "sysbench",
        "oltp_read_only",
        "--db-driver=mysql",
        "--mysql-host=127.0.0.1",
        f"--mysql-port={port}",
        f"--mysql-user={user}",
        f"--mysql-password={password}",
        "--mysql-db=sbtest",
        "--mysql-ssl=off",
        "--tables=1",
        f"--table-size={args.table_size}",
        f"--threads={args.threads}",
    ]
    if seconds:
        argv += [f"--time={seconds}", "--report-interval=0"]
    result = subprocess.run([*argv, command], capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"sysbench {command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def measure(output: str) -> dict[str, float]:
    def grab(pattern: re.Pattern[str]) -> float:
        match = pattern.search(output)
        return float(match.group(1)) if match else 0.0

    return {
        "tps": grab(TPS),
        "qps": grab(QPS),
        "latency_avg_ms": grab(LATENCY),
        "latency_p95_ms": grab(P95),
    }


def gateway_config(db_port: int, token_entry: dict[str, Any], state: Path) -> dict[str, Any]:
    resource = {
        "name": "bench",
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": {"host": "127.0.0.1", "port": db_port, "database": "sbtest", "tls": "disable"},
        "credentials": {"static": {"user": "root", "password": ""}},
    }
    return {
        "admin": {"listen": "127.0.0.1:0"},
        "state": {"url": f"sqlite:///{state / 'wardgate.db'}"},
        "identity": {"tokens": [token_entry]},
        "resources": [resource],
        "logging": {"level": "info"},  # as deployed, like pgbench_compare
        # What an agent that may read gets: every statement classified; sysbench's
        # BEGIN/COMMIT are session commands.
        "policy": {
            "default": "deny",
            "rules": [
                {
                    "name": "bench-read",
                    "when": {"groups": ["agents"], "resources": ["bench"]},
                    "allow": ["read", "session"],
                }
            ],
        },
    }


def run_rounds(
    ports: dict[str, tuple[int, str, str]], args: argparse.Namespace, wardgate_pid: int
) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {t: [] for t in TARGETS}
    for target in TARGETS:  # warm-up
        sysbench(*ports[target], "run", args, seconds=2)
    for number, target in interleaved(TARGETS, args.rounds):
        window = CpuWindow({"wardgate": wardgate_pid}).start()
        result = measure(sysbench(*ports[target], "run", args, seconds=args.seconds))
        cpu = window.stop()
        result["machine_busy_pct"] = cpu["machine_busy_pct"]
        line = (
            f"round {number} {target:9s} tps {result['tps']:9.1f}  "
            f"avg {result['latency_avg_ms']:.2f} ms  p95 {result['latency_p95_ms']:.2f} ms"
        )
        if target == "wardgate":  # the number that survives a noisy machine
            used = cpu["wardgate_user_seconds"] + cpu["wardgate_system_seconds"]
            queries = max(result["qps"] * args.seconds, 1.0)
            result["wardgate_cpu_us_per_query"] = round(1e6 * used / queries, 1)
            line += f"  wardgate CPU {result['wardgate_cpu_us_per_query']:.0f} µs/query"
        results[target].append(result)
        print(f"{line}  machine busy {cpu['machine_busy_pct']:.0f} %")
    return results


def report(results: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    metrics = ("tps", "qps", "latency_avg_ms", "latency_p95_ms")
    per = {
        t: {m: summary([r[m] for r in rounds]) for m in metrics} for t, rounds in results.items()
    }
    ratios = {
        m: ratio([r[m] for r in results["wardgate"]], [r[m] for r in results["direct"]])
        for m in metrics
    }
    print(f"\n{'metric':16s} {'direct':>10s} {'wardgate':>10s} {'ratio':>7s}")
    for m in metrics:
        print(
            f"{m:16s} {per['direct'][m]['mean']:10.2f} {per['wardgate'][m]['mean']:10.2f} "
            f"{ratios[m].get('of_means', 0):7.3f}"
        )
    cpu = summary([r["wardgate_cpu_us_per_query"] for r in results["wardgate"]])
    per["wardgate"]["wardgate_cpu_us_per_query"] = cpu
    print(f"wardgate CPU per query: {cpu['mean']:.1f} µs (mean of rounds)")
    return {"targets": per, "ratios_wardgate_over_direct": ratios, "rounds": results}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("sysbench") is None:
        raise SystemExit("sysbench is not installed (apt-get install sysbench)")
    work = Path(tempfile.mkdtemp(prefix="wardgate-sysbench-"))
    token = new_token()
    with signals_raise(), Processes() as procs, MariaDB(make_certs(work / "certs")) as db:
        db.sql("CREATE DATABASE sbtest")
        sysbench(db.port, "root", "", "prepare", args)
        server = start_wardgate(procs, gateway_config(db.port, token.entry, work), work)
        ports = {
            "direct": (db.port, "root", ""),
            "wardgate": (server.address("bench")[1], "bench", token.secret),
        }
        results = run_rounds(ports, args, server.pid)
    data = {"benchmark": NAME, "settings": vars(args), **run_metadata(), **report(results)}
    path = write_json(RESULTS_DIR / f"{NAME}.json", data)
    print(f"\nresults written to {path}")
    panels = [
        ("transactions/s", {t: [r["tps"] for r in results[t]] for t in TARGETS}),
        ("avg latency (ms)", {t: [r["latency_avg_ms"] for r in results[t]] for t in TARGETS}),
    ]
    print(bar_panels(RESULTS_DIR / f"{NAME}.png", "sysbench oltp_read_only", panels))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
