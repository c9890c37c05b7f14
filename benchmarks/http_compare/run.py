"""Requests/s and added latency through wardgate's HTTP plugin vs straight to the upstream.

Scenarios, each against the same fixture upstream (`tests/support/http_upstream.py`,
uvicorn in its own process):

- `small_json`: `GET /api/items` (≈300 bytes of JSON) from C concurrent keep-alive
  connections for D seconds → requests/s, median and p99 latency;
- `sse_1mb`: `GET /sse/bulk?bytes=1048576`, one stream at a time, N times → seconds
  per 1 MB stream and MB/s.

Targets: `direct` (the upstream), `wardgate` (http resource, credential injected,
no `masking` section: the relay's floor), `wardgate_masked` (a second gateway whose
`masking` section has value detectors and a field rule, applied to every JSON string
and SSE event; masking is one section per gateway, for every resource). Results go
to `benchmarks/results/http_compare.json` and the ratios are printed. Load
generator, gateways and upstream share the machine, so absolute numbers are
pessimistic; compare the ratios.

    .venv/bin/python -m benchmarks.http_compare [--seconds 5] [--concurrency 8] [--streams 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from benchmarks.common.processes import Processes
from benchmarks.common.results import RESULTS_DIR, run_metadata, write_json
from benchmarks.common.wardgate import REPO, new_token, start_wardgate, wardgate_python

UPSTREAM = REPO / "tests" / "support" / "http_upstream.py"


def start_upstream(procs: Processes) -> str:
    proc = procs.start([wardgate_python(), str(UPSTREAM)], stdout=-1)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("http"):
        raise SystemExit("the fixture upstream did not start")
    return line


MASKING = [
    {"name": "fields", "fields": ["*.password"], "strategy": "redact"},
    {
        "name": "secrets",
        "detectors": ["aws_access_key", "private_key", "jwt", "credit_card"],
        "strategy": "redact",
    },
]


def gateway_config(upstream: str, token: Any, masked: bool) -> dict[str, Any]:
    resource = {
        "name": "http",
        "protocol": "http",
        "listen": "127.0.0.1:0",
        "upstream": {"url": upstream},
        "credentials": {"header": {"name": "Authorization", "value": "Bearer bench-upstream-key"}},
    }
    config = {
        "admin": {"listen": "127.0.0.1:0"},
        "logging": {"level": "warning"},
        "identity": {"tokens": [token.entry]},
        "resources": [resource],
        "policy": {"default": "deny", "rules": [{"name": "bench", "allow": ["all"]}]},
    }
    return config | ({"masking": MASKING} if masked else {})


async def small_json(
    url: str, headers: dict[str, str], seconds: float, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(url + "/api/items")
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        await client.get(url + "/api/items")  # warm-up: connections, session
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
    }


async def sse_stream(url: str, headers: dict[str, str], streams: int) -> dict[str, Any]:
    times: list[float] = []
    size = 0
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        for _ in range(streams + 1):
            started = time.perf_counter()
            size = 0
            async with client.stream("GET", url + "/sse/bulk?bytes=1048576") as response:
                async for chunk in response.aiter_raw():
                    size += len(chunk)
            times.append(time.perf_counter() - started)
    times = times[1:]  # the first is warm-up
    median = statistics.median(times)
    return {
        "streams": streams,
        "bytes": size,
        "median_s": round(median, 4),
        "mb_per_s": round(size / median / 1e6, 2),
    }


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    direct_json, direct_sse = results["direct"]["small_json"], results["direct"]["sse_1mb"]
    for target in ("wardgate", "wardgate_masked"):
        json_result, sse_result = results[target]["small_json"], results[target]["sse_1mb"]
        out[target] = {
            "small_json_rps_ratio": round(
                json_result["requests_per_s"] / direct_json["requests_per_s"], 3
            ),
            "small_json_added_median_ms": round(
                json_result["median_ms"] - direct_json["median_ms"], 3
            ),
            "sse_1mb_time_ratio": round(sse_result["median_s"] / direct_sse["median_s"], 3),
            "sse_1mb_added_s": round(sse_result["median_s"] - direct_sse["median_s"], 4),
        }
    return out


async def measure(
    targets: dict[str, tuple[str, dict[str, str]]], args: argparse.Namespace
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (url, headers) in targets.items():
        results[name] = {
            "small_json": await small_json(url, headers, args.seconds, args.concurrency),
            "sse_1mb": await sse_stream(url, headers, args.streams),
        }
        print(f"{name:16} {results[name]}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "http_compare.json")
    args = parser.parse_args(argv)
    token = new_token()
    with tempfile.TemporaryDirectory() as workdir, Processes() as procs:
        upstream = start_upstream(procs)
        auth = {"Authorization": f"Bearer {token.secret}"}

        def via(masked: bool) -> str:
            workspace = Path(workdir) / ("masked" if masked else "plain")
            workspace.mkdir()
            server = start_wardgate(procs, gateway_config(upstream, token, masked), workspace)
            host, port = server.address("http")
            return f"http://{host}:{port}"

        targets = {
            "direct": (upstream, {}),
            "wardgate": (via(False), auth),
            "wardgate_masked": (via(True), auth),
        }
        results = asyncio.run(measure(targets, args))
    summary = ratios(results)
    for target, values in summary.items():
        print(f"{target:16} " + "  ".join(f"{k}={v}" for k, v in values.items()))
    write_json(
        args.out,
        {
            "meta": run_metadata(),
            "args": vars(args) | {"out": str(args.out)},
            "results": results,
            "ratios": summary,
        },
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
