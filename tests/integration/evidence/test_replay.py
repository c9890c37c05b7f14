"""A recorded psql session served back to psql: byte-identical results."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.gateway import Gateway
from wardgate.cli.main import cli
from wardgate.recording.catalog import list_sessions
from wardgate.recording.reader import read_recording

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# Volatile on purpose: identical output can only come from the recording.
QUERIES = (
    "SELECT random() AS r, clock_timestamp() AS t, g, md5(g::text) FROM generate_series(1, 5) g",
    "SELECT 1/0",
    "SELECT repeat('wardgate', 2000) AS big",
)


def psql(url: str) -> subprocess.CompletedProcess[bytes]:
    argv = ["psql", "-X", "-A", url]
    for query in QUERIES:
        argv += ["-c", query]
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    env.pop("PGSSLMODE", None)
    return subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False)


def start_replay(config: Path, session: str) -> tuple[subprocess.Popen[bytes], int]:
    argv = [sys.executable, "-m", "wardgate", "replay", session, "-c", str(config)]
    argv += ["--serve", "127.0.0.1:0", "--once"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "serving session" in line, line + proc.stderr.read().decode()
    return proc, int(line.rsplit(":", 1)[1])


def test_replayed_session_gives_psql_byte_identical_results(evidence_gateway: Gateway) -> None:
    gw = evidence_gateway
    live = psql(gw.dsn("pg"))
    assert b"division by zero" in live.stderr
    recordings = gw.dir / "recordings"
    deadline = time.monotonic() + 10
    while (
        not (found := list_sessions(recordings))
        or not read_recording(recordings / found[0].file).complete
    ):
        assert time.monotonic() < deadline, "recording not finished"
        time.sleep(0.05)
    session = found[0].id
    proc, port = start_replay(gw.config_path, session)
    try:
        replayed = psql(f"postgresql://anyone@127.0.0.1:{port}/anydb?sslmode=prefer")
    finally:
        proc.communicate(timeout=10)  # waits and closes the pipes
    assert replayed.stdout == live.stdout
    assert replayed.stderr == live.stderr
    assert replayed.returncode == live.returncode
    transcript = CliRunner().invoke(
        cli, ["replay", session, "-c", str(gw.config_path), "--speed", "0"]
    )
    assert transcript.exit_code == 0, transcript.output
    assert "select random()" in transcript.output.lower()
    assert "closing digest ok" in transcript.output
    listed = CliRunner().invoke(cli, ["sessions", "list", "-c", str(gw.config_path)])
    assert session in listed.output
