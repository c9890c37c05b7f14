"""Where benchmark results go: ``benchmarks/results/NAME.json`` (git-ignored)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[1]
RESULTS_DIR = BENCHMARKS / "results"


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(BENCHMARKS), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()


def run_metadata() -> dict[str, Any]:
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git": git_revision(),
        "argv": sys.argv[1:],
        "pythonpath": os.environ.get("PYTHONPATH", ""),  # set to benchmark another checkout
        "snapshot": snapshot_revision(),
    }


def snapshot_revision() -> str:
    """The commit of a `benchmarks.common.snapshot` export on PYTHONPATH, if any."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        marker = Path(entry).parent / "REVISION" if entry else None
        if marker is not None and marker.is_file():
            return marker.read_text().strip()
    return ""


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
