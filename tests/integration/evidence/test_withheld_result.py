"""Fail closed at the result: when a command's audit record cannot be written, psql and
the mariadb client get a protocol error saying so instead of the result, and the
connection closes. The gateway runs in-process so its journal's write can be broken."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.gateway import Token, gateway_config, pg_resource
from wardgate.config import load_config
from wardgate.runtime.gateway import GatewayRuntime

from .test_mysql_replay import mysql_resource

pytestmark = [pytest.mark.slow, pytest.mark.integration]

WITHHELD = "the audit log is unavailable"


def refuse_command_records(fd: int, data: bytes | memoryview) -> int:
    """The journal's write: session records pass, a command's record hits a dead disk."""
    if b'"type":"command"' in bytes(data):
        raise OSError(5, "Input/output error")
    return os.write(fd, data)


async def run_client(argv: list[str], stdin: bytes = b"") -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def clients(addresses: dict[str, str], token: Token) -> dict[str, list[str]]:
    pg_host, pg_port = addresses["pg"].rsplit(":", 1)
    my_host, my_port = addresses["my"].rsplit(":", 1)
    url = f"postgresql://agent:{token.secret}@{pg_host}:{pg_port}/postgres?sslmode=disable"
    return {
        "psql": ["psql", "-X", "-A", url, "-c", "SELECT 42 AS answer"],
        "mariadb": [
            "mariadb",
            "--no-defaults",
            f"-h{my_host}",
            f"-P{my_port}",
            "-uagent",
            f"-p{token.secret}",
            "-e",
            "SELECT 42 AS answer",
        ],
    }


async def serve_and_query(config: Path, token: Token, client: str) -> tuple[int, str]:
    runtime = GatewayRuntime(load_config(config))
    ready = config.with_name("ready.json")
    await runtime.start(ready)
    try:
        assert runtime.evidence.audit is not None
        runtime.evidence.audit.journal._write = refuse_command_records
        addresses = json.loads(ready.read_text())["resources"]
        return await run_client(clients(addresses, token)[client])
    finally:
        await runtime.shutdown(grace=0)


EXPECTED = {
    "psql": f"FATAL:  wardgate: {WITHHELD}",
    "mariadb": f"ERROR 1105 (HY000) at line 1: wardgate: {WITHHELD}",
}


@pytest.mark.parametrize("client", sorted(EXPECTED))
def test_an_unauditable_result_is_withheld_with_a_clear_error(
    tmp_path: Path, agent_token: Token, machine_pg: Any, client: str
) -> None:
    if shutil.which(client) is None:
        pytest.skip(f"{client} is not installed")
    pg = pg_resource("pg", host=machine_pg.host, port=machine_pg.port, user=machine_pg.user)
    config = gateway_config(
        [pg, mysql_resource()],
        [agent_token],
        tmp_path,
        audit={"sinks": [], "fsync_interval": "20ms"},
    )
    path = tmp_path / "wardgate.yaml"
    path.write_text(yaml.safe_dump(config))
    code, out = asyncio.run(serve_and_query(path, agent_token, client))
    assert code != 0
    assert EXPECTED[client] in out
    assert "42" not in out
