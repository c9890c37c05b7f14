"""No token or password anywhere in the evidence: journal, sinks, store, recordings, logs."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway, make_token, pg_resource
from support.pgcluster import PgCluster
from support.pgwire import ConnectionClosed, RawPg

from .conftest import evidence_config

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def every_byte(directory: Path, skip: tuple[str, ...] = ("wardgate.yaml",)) -> bytes:
    """All files under `directory` but the config (which holds the password), decompressed."""
    blobs = []
    for path in directory.rglob("*"):
        if path.is_file() and path.name not in skip:
            data = path.read_bytes()
            blobs.append(gzip.decompress(data) if path.name.endswith(".gz") else data)
    return b"\n".join(blobs)


def test_no_token_or_password_in_any_evidence(
    gateway_factory: Any, scram_cluster: PgCluster
) -> None:
    token = make_token("agent-1", ["agents"])
    resource = pg_resource(
        "scram",
        host=scram_cluster.host,
        port=scram_cluster.port,
        database="app",
        user="app_user",
        password=scram_cluster.app_password,
    )
    gw: Gateway = gateway_factory([resource], tokens=[token], extra_config=evidence_config())
    with psycopg.connect(gw.dsn("scram"), autocommit=True) as conn:
        conn.execute("SELECT current_user, 'payload'").fetchall()
    with pytest.raises(psycopg.OperationalError):  # a wrong token: audited, never echoed
        psycopg.connect(gw.dsn("scram", token=token.secret[:-3] + "xyz"), connect_timeout=5)
    host, port = gw.address("scram")
    with RawPg(host, port) as raw:  # a password message in mid-session is refused unrecorded
        raw.login(token.secret, database="app")
        raw.send(b"p", token.secret.encode() + b"\0")
        with pytest.raises(ConnectionClosed):
            raw.read_until(b"Z")
    time.sleep(1.5)  # sinks catch up, recordings close
    gw.stop()
    evidence = every_byte(gw.dir)
    assert b"session_end" in evidence
    audit = every_byte(gw.dir / "audit") + (gw.dir / "audit.jsonl").read_bytes()
    assert b"payload" not in audit  # literals are redacted from the audit trail
    assert b"payload" in evidence  # … while the recording keeps what the agent saw
    for secret in (token.secret, token.secret[:-3] + "xyz", scram_cluster.app_password):
        assert secret.encode() not in evidence, "a secret leaked into the evidence"
    assert list((gw.dir / "recordings").glob("*.wgrec.gz"))
