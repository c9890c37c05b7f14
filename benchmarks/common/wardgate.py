"""Run ``wardgate serve`` as a child process from a configuration dict.

The config is written as JSON (a subset of YAML) into a work directory; serve is
started with ``--ready-file`` and we wait for that file, which serve writes once every
listener is bound: ``{"admin": "host:port", "resources": {"NAME": "host:port"}}``.
Listeners use port 0, so runs never collide. stderr (the JSON event log, one line per
command at level ``info``) goes to a file; its tail is shown if serve fails to start.

`python_args` go before ``-m wardgate``: ``("-m", "cProfile", "-o", FILE)`` runs serve
under cProfile, which writes FILE when serve exits after SIGTERM.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .processes import Processes

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StaticToken:
    name: str
    secret: str = field(repr=False)
    groups: tuple[str, ...] = ("agents",)

    @property
    def entry(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.secret.encode()).hexdigest()
        return {"name": self.name, "groups": list(self.groups), "sha256": digest}


def new_token(name: str = "bench") -> StaticToken:
    return StaticToken(name, "wgt_bench_" + secrets.token_urlsafe(18))


def wardgate_python() -> str:
    """An interpreter that can run wardgate: this one if it has wardgate and its
    dependencies (a PYTHONPATH snapshot alone is not enough), else the repo's .venv."""
    if all(importlib.util.find_spec(name) for name in ("wardgate", "pydantic", "sqlglot")):
        return sys.executable
    venv = REPO / ".venv" / "bin" / "python"
    if venv.exists():
        return str(venv)
    raise SystemExit(
        "wardgate is not importable here and there is no .venv in the repository; "
        "install it first (see README.md) or run with .venv/bin/python"
    )


def interpreter_description(python: str) -> str:
    """`python`'s path, version and build date: an interpreter built without PGO/LTO
    (a default pyenv build) runs the gateway measurably slower (docs/performance.md)."""
    code = "import platform, sys; print(sys.version.split()[0], platform.python_build()[1])"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return f"{python} (CPython {out.stdout.strip() or 'unknown'})"


@dataclass
class WardgateServer:
    """A running ``wardgate serve``; `address(name)` gives a resource's host and port."""

    proc: subprocess.Popen[Any]
    ready: dict[str, Any]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def address(self, resource: str) -> tuple[str, int]:
        host, _, port = self.ready["resources"][resource].rpartition(":")
        return host, int(port)


def start_wardgate(
    procs: Processes,
    config: dict[str, Any],
    workdir: Path,
    *,
    log_path: Path | None = None,
    python_args: tuple[str, ...] = (),
    timeout: float = 30.0,
) -> WardgateServer:
    config_path = workdir / "wardgate.yaml"
    config_path.write_text(json.dumps(config, indent=2))
    ready_path = workdir / "wardgate.ready.json"
    ready_path.unlink(missing_ok=True)
    log_path = log_path or workdir / "wardgate.log"
    argv = [wardgate_python(), *python_args, "-m", "wardgate"]
    argv += ["serve", "-c", str(config_path), "--ready-file", str(ready_path)]
    with log_path.open("wb") as log:
        proc = procs.start(argv, cwd=workdir, stderr=log)
    ready = _wait_ready(proc, ready_path, log_path, timeout)
    return WardgateServer(proc, ready, log_path)


def _wait_ready(
    proc: subprocess.Popen[Any], ready_path: Path, log_path: Path, timeout: float
) -> dict[str, Any]:
    try:
        return wait_for_json(proc, ready_path, timeout)
    except RuntimeError as exc:
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        raise RuntimeError(f"wardgate serve {exc}; its log ends:\n{tail}") from None


def wait_for_json(proc: subprocess.Popen[Any], path: Path, timeout: float) -> dict[str, Any]:
    """Wait for a child to write its ready file (a JSON object) and return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                return dict(json.loads(path.read_text()))
            except json.JSONDecodeError:
                pass  # written but not yet complete
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    state = f"exited with status {proc.returncode}" if proc.poll() is not None else "timed out"
    raise RuntimeError(f"{state} before it was ready")
