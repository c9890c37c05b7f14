"""The comparison benchmarks still run end to end (one short round each).

They are not timed here (timing assertions do not belong in tests); this only
proves a newcomer's `python -m benchmarks.…` works against the current gateway and
writes its JSON with the ratios the README quotes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]


def run(module: str, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_pgbench_compare_writes_ratios(tmp_path: Path) -> None:
    output = tmp_path / "pgbench.json"
    run(
        "benchmarks.pgbench_compare",
        *("--seconds", "1", "--rounds", "1", "--warmup", "0", "--scale", "1"),
        *("--dbname", "wg_bench_smoke", "--output", str(output)),
    )
    report = json.loads(output.read_text())
    assert set(report["targets"]) >= {"direct", "pgbouncer", "wardgate"}
    assert report["targets"]["wardgate"]
    assert report["ratios"]


def test_pgbench_compare_with_the_audit_trail_off(tmp_path: Path) -> None:
    """`--evidence off` measures issue 2's gateway: no audit section defaults apply."""
    output = tmp_path / "pgbench-off.json"
    run(
        "benchmarks.pgbench_compare",
        *("--seconds", "1", "--rounds", "1", "--warmup", "0", "--scale", "1"),
        *("--dbname", "wg_bench_smoke", "--targets", "wardgate", "--evidence", "off"),
        *("--output", str(output)),
    )
    report = json.loads(output.read_text())
    assert report["targets"]["wardgate"]
    assert report["settings"]["wardgate_evidence"] == "off"


def test_sysbench_compare_writes_ratios() -> None:
    run(
        "benchmarks.sysbench_compare",
        # one thread: libmariadb races loading mysql_clear_password when sysbench's
        # threads connect at once ("already loaded"); see docs/performance.md
        *("--seconds", "1", "--rounds", "1", "--threads", "1", "--table-size", "1000"),
    )
    report = json.loads((ROOT / "benchmarks/results/sysbench_compare.json").read_text())
    assert report["ratios_wardgate_over_direct"]["qps"]["of_means"] > 0


def test_the_hot_path_breakdown_still_times_every_piece() -> None:
    """hotpath.py reaches into the relay's private methods and reports a piece it can
    no longer call as skipped; keep it in step with the code it measures."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.pgbench_compare.hotpath", "--loops", "200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("simple mode, read handlers, a new aid each time") for line in lines)
    assert len(lines) > 10
    assert "skipped" not in result.stdout, result.stdout


def test_a_profiler_round_that_records_nothing_says_why(tmp_path: Path) -> None:
    """`--profile py-spy` once reported "0 samples" and nothing else when py-spy failed;
    the summary now carries py-spy's own error (here: attaching to no process)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.common.processes import Processes
    from benchmarks.pgbench_compare.profiling import Profiler

    fake = tmp_path / "py-spy"  # py-spy is a [bench] extra; its failure is what is tested
    fake.write_text("#!/bin/sh\necho 'Error: Failed to find process 4242' >&2\nexit 1\n")
    fake.chmod(0o755)
    profiler = Profiler("none", tmp_path, "run")
    profiler.kind, profiler._pyspy = "py-spy", str(fake)
    procs = Processes()
    try:
        with profiler.round(procs, 4242, 1):
            pass
    finally:
        procs.stop_all()
    lines = profiler.report()
    assert lines[0].startswith("py-spy: 0 samples")
    assert "  a round without samples: py-spy exited 1: Error: Failed to find process 4242" in lines
