"""A recorded mariadb CLI session served back to the mariadb CLI: byte-identical output."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from support.gateway import Gateway, Token
from wardgate.cli.main import cli
from wardgate.recording.catalog import list_sessions
from wardgate.recording.reader import Recording, read_recording
from wardgate.seam import Direction

from .conftest import evidence_config

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# Volatile on purpose: identical output can only come from the recording.
QUERIES = (
    "SELECT RAND() AS r, NOW(6) AS t, UUID() AS u",
    "SELECT seq, RAND() AS r, MD5(seq) FROM seq_1_to_5",
    "SELECT * FROM no_such_table",
    "SELECT REPEAT('wardgate', 2000) AS big",
    "SELECT NULL AS n, 1.5 AS d, 'é' AS s",
)


def mysql_resource() -> dict[str, Any]:
    upstream = {"host": "127.0.0.1", "port": 3306, "database": "mysql", "tls": "disable"}
    return {
        "name": "my",
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": upstream,
        "credentials": {"static": {"user": "root", "password": ""}},
    }


@pytest.fixture
def mysql_evidence_gateway(gateway_factory: Any) -> Gateway:
    if shutil.which("mariadb") is None:
        pytest.skip("the mariadb client is not installed")
    gateway: Gateway = gateway_factory([mysql_resource()], extra_config=evidence_config())
    return gateway


def mariadb(port: int, user: str, password: str | None) -> subprocess.CompletedProcess[bytes]:
    argv = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", f"-u{user}", "--force"]
    argv += [f"-p{password}"] if password is not None else []
    script = "".join(f"{query};\n" for query in QUERIES).encode()
    argv.append("--table")  # --force goes on after an error when reading stdin, not -e
    return subprocess.run(argv, input=script, capture_output=True, timeout=60, check=False)


def finished_recording(directory: Path) -> Recording:
    deadline = time.monotonic() + 10
    while True:
        found = list_sessions(directory)
        if found and (recording := read_recording(directory / found[0].file)).complete:
            return recording
        assert time.monotonic() < deadline, "recording not finished"
        time.sleep(0.05)


def start_replay(config: Path, session: str) -> tuple[subprocess.Popen[bytes], int]:
    argv = [sys.executable, "-m", "wardgate", "replay", session, "-c", str(config)]
    argv += ["--serve", "127.0.0.1:0", "--once"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "serving session" in line, line + proc.stderr.read().decode()
    return proc, int(line.rsplit(":", 1)[1])


def test_replayed_session_gives_mariadb_byte_identical_output(
    mysql_evidence_gateway: Gateway, agent_token: Token
) -> None:
    gw = mysql_evidence_gateway
    live = mariadb(gw.port("my"), "agent", agent_token.secret)
    assert b"no_such_table" in live.stderr
    assert b"wardgatewardgate" in live.stdout
    recording = finished_recording(gw.dir / "recordings")
    everything = b"".join(frame.data for frame in recording.frames)
    assert agent_token.secret.encode() not in everything
    assert recording.frames[0].direction is Direction.SERVER_TO_CLIENT  # the greeting
    proc, port = start_replay(gw.config_path, recording.session_id)
    try:
        replayed = mariadb(port, "anyone", None)
    finally:
        proc.communicate(timeout=10)
    assert (replayed.stdout, replayed.stderr) == (live.stdout, live.stderr)
    assert replayed.returncode == live.returncode
    again = mariadb(gw.port("my"), "agent", agent_token.secret)
    assert again.stdout != live.stdout  # the queries are volatile: the replay is no re-run
    transcript = CliRunner().invoke(
        cli, ["replay", recording.session_id, "-c", str(gw.config_path), "--speed", "0"]
    )
    assert transcript.exit_code == 0, transcript.output
    assert "SELECT RAND()" in transcript.output
