"""Turning the rounds into the summary: per-target stats, ratios, RSS, the console table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.common.stats import ratio, summary

TARGET_RATIO = 0.5  # issue 2: wardgate at least 0.5x PgBouncer's TPS
PAIRS = (("wardgate", "direct"), ("wardgate", "pgbouncer"), ("pgbouncer", "direct"))
MIB = 1024 * 1024


def per_target(rounds: Sequence[dict[str, Any]], targets: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target in targets:
        mine = [r for r in rounds if r["target"] == target]
        entry: dict[str, Any] = {
            "tps": summary([r["tps"] for r in mine]),
            "latency_ms": summary([r["latency_ms"] for r in mine]),
            "rounds_tps": [r["tps"] for r in mine],
            "rounds_latency_ms": [r["latency_ms"] for r in mine],
            "failed_transactions": sum(r["failed"] for r in mine),
            "machine_busy_pct": summary([r["cpu"]["machine_busy_pct"] for r in mine]),
        }
        proxy = [r["proxy_cpu_us_per_txn"] for r in mine if r.get("proxy_cpu_us_per_txn")]
        if proxy:
            entry["proxy_cpu_us_per_txn"] = summary(proxy)
            entry["rounds_proxy_cpu_us_per_txn"] = proxy
            entry["proxy_cpu_pct"] = summary([r["proxy_cpu_pct"] for r in mine])
            for part in ("user", "system"):
                key = f"proxy_{part}_us_per_txn"
                entry[key] = summary([r[key] for r in mine])
        out[target] = entry
    return out


def ratios(targets: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"tps": {}, "latency_ms": {}}
    for a, b in PAIRS:
        if a in targets and b in targets:
            key = f"{a}/{b}"
            out["tps"][key] = ratio(targets[a]["rounds_tps"], targets[b]["rounds_tps"])
            out["latency_ms"][key] = ratio(
                targets[a]["rounds_latency_ms"], targets[b]["rounds_latency_ms"]
            )
    return out


def target_check(ratio_table: dict[str, Any]) -> dict[str, Any]:
    measured = ratio_table["tps"].get("wardgate/pgbouncer", {}).get("of_means")
    return {
        "goal": f"wardgate TPS >= {TARGET_RATIO}x PgBouncer TPS (issue 2)",
        "ratio": measured,
        "met": None if measured is None else measured >= TARGET_RATIO,
    }


def mib(value: int) -> float:
    return round(value / MIB, 1)


def round_line(total: int, index: int, entry: dict[str, Any]) -> str:
    line = (
        f"[{index:>2}/{total}] round {entry['round']} {entry['target']:<16} "
        f"tps {entry['tps']:>9,.0f}  latency {entry['latency_ms']:6.3f} ms  "
        f"machine busy {entry['cpu']['machine_busy_pct']:5.1f}%"
    )
    if entry.get("proxy_cpu_us_per_txn"):
        line += (
            f"  proxy cpu {entry['proxy_cpu_pct']:5.1f}% "
            f"= {entry['proxy_cpu_us_per_txn']:.1f} µs/txn "
            f"({entry['proxy_user_us_per_txn']:.0f} user + "
            f"{entry['proxy_system_us_per_txn']:.0f} sys)"
        )
    if entry.get("rss_peak"):
        line += f"  rss peak {mib(entry['rss_peak'])} MiB"
    return line


def table(result: dict[str, Any]) -> list[str]:
    s = result["settings"]
    lines = [
        "",
        f"pgbench -S -M {s['mode']}, {s['clients']} clients, {s['threads']} threads, "
        f"{s['seconds']} s x {s['rounds']} interleaved rounds, scale {s['scale']}",
        f"{'target':<16} {'tps mean':>10} {'(min-max)':>19} {'latency ms':>11} "
        f"{'proxy µs/txn':>13}",
    ]
    for name, t in result["targets"].items():
        spread = f"({t['tps']['min']:,.0f}-{t['tps']['max']:,.0f})"
        cpu = t.get("proxy_cpu_us_per_txn", {}).get("mean")
        lines.append(
            f"{name:<16} {t['tps']['mean']:>10,.0f} {spread:>19} "
            f"{t['latency_ms']['mean']:>11.3f} {'' if cpu is None else f'{cpu:.1f}':>13}"
        )
    lines.append("")
    for key, tps in result["ratios"]["tps"].items():
        lat = result["ratios"]["latency_ms"][key]
        lines.append(
            f"{key:<20} tps x{tps['of_means']:.3f} (paired rounds {tps['min_paired']:.3f}-"
            f"{tps['max_paired']:.3f})   latency x{lat['of_means']:.3f}"
        )
    for name, rss in result.get("rss", {}).items():
        lines.append(
            f"{name} RSS: {rss['idle_mib']} MiB idle after start, "
            f"{rss['peak_under_load_mib']} MiB peak under load, {rss['hwm_mib']} MiB high-water"
        )
    check = result.get("target_check", {})
    if check.get("ratio") is not None:
        verdict = "MET" if check["met"] else "NOT MET"
        lines.append(f"target: {check['goal']}: x{check['ratio']:.3f} -> {verdict}")
    lines.append(
        f"machine: {result['machine']['cpus']} CPUs ({result['machine']['cpu_model']}), "
        f"busy {result['machine']['background_busy_pct']}% before the run started"
    )
    return lines
