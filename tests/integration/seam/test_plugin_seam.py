"""A new protocol needs no core change: the test-only `lineecho` plugin is found
through the ``wardgate.protocols`` entry point and served by an unmodified core."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.gateway import Gateway, make_token

PLUGIN_PATH = Path(__file__).parents[2] / "plugins"

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def line_service() -> Iterator[int]:
    """A TCP service answering each line with the line upper-cased."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve_client(conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                stream.write(line.upper())
                stream.flush()

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve_client, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield port
    server.close()


def _plugin_env() -> dict[str, str]:
    paths = [str(PLUGIN_PATH), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def test_entry_point_discovery_sees_the_test_plugin() -> None:
    code = "from wardgate.plugins import discover_plugins; print(sorted(discover_plugins()))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **_plugin_env()},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = json.loads(out.replace("'", '"'))
    assert "lineecho" in names
    assert "postgres" in names


async def _talk(port: int, lines: list[str]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    for line in lines:
        writer.write(line.encode() + b"\n")
        await writer.drain()
        replies.append((await reader.readline()).decode().strip())
    writer.close()
    await writer.wait_closed()
    return replies


def test_core_serves_a_plugin_it_has_never_heard_of(line_service: int) -> None:
    token = make_token("line-agent")
    resource = {
        "name": "lines",
        "protocol": "lineecho",
        "listen": "127.0.0.1:0",
        "upstream": {"host": "127.0.0.1", "port": line_service},
        "credentials": {"static": {"user": "unused"}},
    }
    with Gateway([resource], [token], env=_plugin_env()) as gateway:
        port = gateway.port("lines")
        replies = asyncio.run(_talk(port, [f"AUTH {token.secret}", "hello", "select 1"]))
        assert replies == ["OK line-agent", "HELLO", "SELECT 1"]
        refused = asyncio.run(_talk(port, ["AUTH not-a-token"]))
        assert refused == ["ERR authentication failed: the presented token is not valid"] or (
            refused[0].startswith("ERR") and "token" in refused[0]
        )
        events = [json.loads(line) for line in gateway.stderr_text().splitlines() if line]
        commands = [e for e in events if e.get("event") == "command"]
        assert [c["statement"] for c in commands] == ["hello", "select 1"]
        assert all(c["protocol"] == "lineecho" and c["decision"] == "allow" for c in commands)
        assert any(e.get("event") == "auth_failed" for e in events)


def test_check_rejects_unknown_plugin_settings(tmp_path: Path) -> None:
    config = tmp_path / "w.yaml"
    config.write_text(
        "resources:\n"
        "  - name: lines\n"
        "    protocol: lineecho\n"
        '    listen: "127.0.0.1:0"\n'
        "    upstream: {host: 127.0.0.1, prot: 7}\n"
        "    credentials: {static: {user: u}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "wardgate", "check", "-c", str(config)],
        env={**os.environ, **_plugin_env()},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert f"{config}:5: resources[0].upstream.prot:" in result.stderr
