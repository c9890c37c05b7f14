"""psql through the gateway: queries, meta-commands, \\copy both ways, TLS."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.certs import Certs
from support.gateway import Gateway

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def psql(
    url: str, *commands: str, env: dict[str, str] | None = None, flags: str = "-At"
) -> subprocess.CompletedProcess[str]:
    argv = ["psql", "-X", flags, "-v", "ON_ERROR_STOP=1", url]
    for command in commands:
        argv += ["-c", command]
    full_env = dict(os.environ, PGCONNECT_TIMEOUT="10", **(env or {}))
    full_env.pop("PGSSLMODE", None)
    return subprocess.run(
        argv, capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_simple_query(machine_gateway: Gateway) -> None:
    out = ok(psql(machine_gateway.dsn("pg"), "SELECT 40 + 2, 'wardgate'"))
    assert out.strip() == "42|wardgate"


def test_other_allowed_database(machine_gateway: Gateway) -> None:
    out = ok(psql(machine_gateway.dsn("pg", dbname="test"), "SELECT current_database()"))
    assert out.strip() == "test"


def test_describe_meta_commands(machine_gateway: Gateway) -> None:
    out = ok(
        psql(
            machine_gateway.dsn("pg"),
            "CREATE TEMP TABLE wg_described (id int PRIMARY KEY, note text NOT NULL)",
            r"\d wg_described",
            r"\dt pg_catalog.pg_class",
            r"\l",
            flags="-A",  # footers such as "Indexes:" only print outside tuples-only mode
        )
    )
    assert "note" in out
    assert "not null" in out
    assert "wg_described_pkey" in out
    assert "pg_class" in out
    assert "postgres" in out


def test_copy_both_directions(machine_gateway: Gateway, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("".join(f'{i},name {i},"quoted, {i}"\n' for i in range(5000)))
    target = tmp_path / "out.csv"
    out = ok(
        psql(
            machine_gateway.dsn("pg"),
            "CREATE TEMP TABLE wg_copy (id int, name text, note text)",
            rf"\copy wg_copy FROM '{source}' WITH (FORMAT csv)",
            "SELECT count(*), sum(id) FROM wg_copy",
            rf"\copy (SELECT * FROM wg_copy ORDER BY id) TO '{target}' WITH (FORMAT csv)",
        )
    )
    assert "COPY 5000" in out
    assert f"5000|{sum(range(5000))}" in out
    assert target.read_text() == source.read_text()


def test_copy_from_stdin_error_keeps_session(machine_gateway: Gateway, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("1,ok\nnot-a-number,boom\n")
    result = psql(
        machine_gateway.dsn("pg"),
        "CREATE TEMP TABLE wg_copy_bad (id int, name text)",
        rf"\copy wg_copy_bad FROM '{bad}' WITH (FORMAT csv)",
    )
    assert result.returncode != 0
    assert "invalid input syntax for type integer" in result.stderr


def test_tls_sslmode_require(machine_gateway: Gateway) -> None:
    out = ok(psql(machine_gateway.dsn("pg_tls", sslmode="require"), "SELECT 1"))
    assert out.strip() == "1"


def test_tls_verify_full_with_test_ca(machine_gateway: Gateway, test_certs: Certs) -> None:
    url = machine_gateway.dsn("pg_tls", sslmode="verify-full", sslrootcert=str(test_certs.ca))
    assert ok(psql(url, "SELECT 'tls'")).strip() == "tls"


def test_tls_required_refuses_plaintext(machine_gateway: Gateway) -> None:
    result = psql(machine_gateway.dsn("pg_tls_required", sslmode="disable"), "SELECT 1")
    assert result.returncode != 0
    assert "SSL" in result.stderr or "TLS" in result.stderr or "encrypt" in result.stderr
    assert ok(psql(machine_gateway.dsn("pg_tls_required", sslmode="require"), "SELECT 1"))


def test_no_tls_resource_answers_n(machine_gateway: Gateway) -> None:
    result = psql(machine_gateway.dsn("pg", sslmode="require"), "SELECT 1")
    assert result.returncode != 0
    assert "server does not support SSL" in result.stderr


def test_command_is_logged(machine_gateway: Gateway, agent_token: Any) -> None:
    marker = "wg-log-marker-7f3a"
    ok(psql(machine_gateway.dsn("pg"), f"SELECT '{marker}'"))
    record = machine_gateway.wait_for_event(
        lambda r: r.get("event") == "command" and marker in str(r)
    )
    assert record.get("resource") == "pg"
    assert agent_token.secret not in machine_gateway.stderr_text()
