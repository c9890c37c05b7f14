"""Masked vs unmasked vs direct result streaming, in one run, as ratios.

One table (`mask_bench`: id, email, ssn, note) of `--rows` rows on the machine's
PostgreSQL is read whole, `--rounds` times per target, interleaved:

* ``direct``   — straight to the server;
* ``unmasked`` — through a wardgate without a masking section (the relay's hot path);
* ``masked``   — through a wardgate masking email (partial) and ssn (hash), with the
  credit-card and e-mail detectors scanning every text column.

The client streams with a server-side cursor (psycopg, text format), so neither it
nor the gateway may hold the result. Reported per target: rows/s, MB/s of DataRow
payload, and each gateway's peak RSS (VmHWM); ratios masked/unmasked,
masked/direct and unmasked/direct. Results go to ``benchmarks/results/`` as JSON
and a PNG.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from benchmarks.common.plot import bar_panels
from benchmarks.common.processes import Processes
from benchmarks.common.procstat import peak_rss_bytes
from benchmarks.common.results import run_metadata, write_json
from benchmarks.common.stats import interleaved, ratio, summary
from benchmarks.common.wardgate import StaticToken, new_token, start_wardgate

RESULTS = Path(__file__).resolve().parents[1] / "results"
MASKING = [
    {"name": "pii", "columns": ["mask_bench.email"], "strategy": "partial"},
    {"name": "ids", "columns": ["mask_bench.ssn"], "strategy": "hash"},
    {"name": "detect", "detectors": ["credit_card", "email"], "strategy": "redact"},
]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


def _prepare(dsn: str, rows: int) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS mask_bench")
        conn.execute(
            "CREATE TABLE mask_bench AS SELECT i AS id, 'user' || i || '@example.com' AS email,"
            " lpad((i % 1000000000)::text, 9, '0') AS ssn, repeat('n', 40) AS note"
            f" FROM generate_series(1, {rows}) i"
        )
        size = conn.execute(
            "SELECT sum(octet_length(id::text) + octet_length(email) + octet_length(ssn)"
            " + octet_length(note)) FROM mask_bench"
        ).fetchone()
    return int(size[0] if size else 0)


def _config(dsn: str, token: StaticToken, masked: bool) -> dict[str, Any]:
    params = dict(part.split("=", 1) for part in dsn.split())
    upstream = {"host": params.get("host", "127.0.0.1"), "port": int(params.get("port", 5432))}
    upstream |= {"database": params.get("dbname", "postgres"), "tls": "disable"}
    config: dict[str, Any] = {
        "admin": {"listen": "127.0.0.1:0"},
        "identity": {"tokens": [token.entry]},
        "logging": {"level": "warning"},
        "policy": {"default": "allow"},
        "resources": [
            {
                "name": "pg",
                "protocol": "postgres",
                "listen": "127.0.0.1:0",
                "upstream": upstream,
                "credentials": {"static": {"user": params.get("user", "postgres"), "password": ""}},
            }
        ],
    }
    if masked:
        config |= {"masking": MASKING, "masking_key": "benchmark-masking-key-0123456789"}
    return config


def _read_all(dsn: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor(name="bench") as cursor:
        cursor.itersize = 10_000
        cursor.execute("SELECT id, email, ssn, note FROM mask_bench")
        for _ in cursor:
            pass
    return time.perf_counter() - started


def main() -> int:
    args = _arguments()
    payload = _prepare(args.dsn, args.rows)
    token = new_token()
    times: dict[str, list[float]] = {"direct": [], "unmasked": [], "masked": []}
    with tempfile.TemporaryDirectory() as tmp, Processes() as procs:
        servers = {}
        for name in ("unmasked", "masked"):
            workdir = Path(tmp) / name
            workdir.mkdir()
            servers[name] = start_wardgate(
                procs, _config(args.dsn, token, name == "masked"), workdir
            )
        dsns = {"direct": args.dsn}
        for name, server in servers.items():
            host, port = server.address("pg")
            dsns[name] = f"host={host} port={port} user=bench password={token.secret}"
        for _, target in interleaved(list(times), args.rounds):
            times[target].append(_read_all(dsns[target]))
        peaks = {name: peak_rss_bytes(server.pid) for name, server in servers.items()}
    return _report(args, payload, times, peaks)


def _report(
    args: argparse.Namespace, payload: int, times: dict[str, list[float]], peaks: dict[str, int]
) -> int:
    rows_per_s = {t: [args.rows / s for s in v] for t, v in times.items()}
    mb_per_s = {t: [payload / s / 1e6 for s in v] for t, v in times.items()}
    result = {
        **run_metadata(),
        "rows": args.rows,
        "payload_bytes": payload,
        "rows_per_second": {t: summary(v) for t, v in rows_per_s.items()},
        "mb_per_second": {t: summary(v) for t, v in mb_per_s.items()},
        "peak_rss_mib": {t: round(b / 2**20, 1) for t, b in peaks.items()},
        "ratios": {
            "masked_vs_unmasked_throughput": ratio(rows_per_s["masked"], rows_per_s["unmasked"]),
            "masked_vs_direct_throughput": ratio(rows_per_s["masked"], rows_per_s["direct"]),
            "unmasked_vs_direct_throughput": ratio(rows_per_s["unmasked"], rows_per_s["direct"]),
            "masked_vs_unmasked_peak_rss": round(peaks["masked"] / peaks["unmasked"], 3),
        },
    }
    path = write_json(RESULTS / "masking_compare.json", result)
    print(f"results written to {path}")
    print(
        bar_panels(
            RESULTS / "masking_compare.png",
            f"masking_compare, {args.rows} rows",
            [("rows/s", rows_per_s), ("MB/s", mb_per_s)],
        )
    )
    for key, value in result["ratios"].items():
        print(f"{key}: {value}")
    return 0
