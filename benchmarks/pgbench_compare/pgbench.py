"""Driving pgbench and psql: the bench database, one timed run, its parsed summary.

Every run is ``pgbench -n -S`` (no vacuum, select-only: one ``SELECT abalance FROM
pgbench_accounts WHERE aid = :aid`` per transaction) against one endpoint. TLS is
off for every target (``PGSSLMODE=disable``) so none pays for a refused SSLRequest.
The TPS we keep is pgbench's figure *without* the initial connection time, so the
gateway's per-connection authentication does not count against its relay speed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

_TPS = re.compile(r"^tps = ([0-9.]+) \((?:without|excluding)", re.MULTILINE)
_TPS_ANY = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)
_PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)
_CONNECT = re.compile(r"^initial connection time = ([0-9.]+) ms", re.MULTILINE)


@dataclass(frozen=True)
class Endpoint:
    """Where pgbench connects; ``password`` is the wardgate token (never printed)."""

    name: str
    host: str
    port: int
    user: str
    password: str = field(default="", repr=False)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10"}
        env.pop("PGPASSWORD", None)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def conn_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]


def require_tools() -> None:
    missing = [tool for tool in ("pgbench", "psql") if not shutil.which(tool)]
    if missing:
        raise SystemExit(
            f"{', '.join(missing)} not found; install them with: "
            "sudo apt-get install postgresql-client"
        )


def tool_version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def psql(endpoint: Endpoint, database: str, sql: str) -> tuple[int, str]:
    """Run one statement; (exit status, stdout or stderr)."""
    argv = ["psql", *endpoint.conn_args(), "-d", database, "-XtAq", "-v", "ON_ERROR_STOP=1"]
    out = subprocess.run(
        [*argv, "-c", sql], env=endpoint.env(), capture_output=True, text=True, check=False
    )
    return out.returncode, (out.stdout if out.returncode == 0 else out.stderr).strip()


def server_version(endpoint: Endpoint) -> str:
    status, text = psql(endpoint, "postgres", "SHOW server_version")
    if status != 0:
        raise SystemExit(
            f"cannot reach PostgreSQL at {endpoint.host}:{endpoint.port} as {endpoint.user}: {text}"
        )
    return text


def ensure_database(endpoint: Endpoint, database: str, scale: int, reinit: bool) -> str:
    """Create and initialise the bench database unless it exists at this scale."""
    status, text = psql(
        endpoint, "postgres", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"
    )
    if status == 0 and text != "1":
        subprocess.run(
            ["createdb", *endpoint.conn_args(), database], env=endpoint.env(), check=True
        )
    status, text = psql(endpoint, database, "SELECT count(*) FROM pgbench_branches")
    if not reinit and status == 0 and text == str(scale):
        return f"database {database!r} already initialised at scale {scale}"
    argv = ["pgbench", *endpoint.conn_args(), "-i", "-q", "-s", str(scale), database]
    out = subprocess.run(argv, env=endpoint.env(), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"pgbench -i failed:\n{out.stderr}")
    return f"database {database!r} initialised at scale {scale} (pgbench -i)"


@dataclass(frozen=True)
class RunSettings:
    seconds: int
    clients: int
    threads: int
    mode: str
    database: str


def run_pgbench(
    endpoint: Endpoint, settings: RunSettings, seconds: int | None = None
) -> dict[str, Any]:
    """One select-only run; returns tps, latency_ms, transactions, failed, connect_ms."""
    duration = seconds if seconds is not None else settings.seconds
    argv = [
        "pgbench",
        *endpoint.conn_args(),
        "-n",
        "-S",
        "-c",
        str(settings.clients),
        "-j",
        str(settings.threads),
        "-T",
        str(duration),
        "-M",
        settings.mode,
        settings.database,
    ]
    out = subprocess.run(
        argv,
        env=endpoint.env(),
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"pgbench against {endpoint.name} failed (status {out.returncode}):\n"
            f"{out.stderr.strip()[-2000:]}"
        )
    return parse_output(out.stdout)


def parse_output(text: str) -> dict[str, Any]:
    tps = _TPS.search(text) or _TPS_ANY.search(text)
    latency = _LATENCY.search(text)
    processed = _PROCESSED.search(text)
    if not (tps and latency and processed):
        raise RuntimeError(f"could not read pgbench's summary:\n{text[-2000:]}")
    failed = _FAILED.search(text)
    connect = _CONNECT.search(text)
    return {
        "tps": float(tps.group(1)),
        "latency_ms": float(latency.group(1)),
        "transactions": int(processed.group(1)),
        "failed": int(failed.group(1)) if failed else 0,
        "connect_ms": float(connect.group(1)) if connect else None,
    }
