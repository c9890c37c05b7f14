"""Vault dynamic credentials: leased at session open, renewed, revoked, never shown.

The database role Vault creates for a session must exist exactly while it is in
use, its password must never reach the client, and an unavailable Vault (or a
missing role) must refuse the connection before anything upstream is opened.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway, Token
from support.oidc_issuer import OidcIssuer
from support.openbao import LEAK_TABLE, OpenBao
from support.pgcluster import PgCluster
from support.pgwire import RawPg, error_of
from support.ports import unused_closed_port
from support.tcpproxy import TcpProxy

from .conftest import VAULT_TOKEN_ENV, identity_extra, vault_resource


def role_exists(cluster: PgCluster, role: str) -> bool:
    return cluster.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'").strip() == "1"


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def connect(gateway: Gateway, token: str, resource: str) -> psycopg.Connection[Any]:
    return psycopg.connect(gateway.dsn(resource, token=token), autocommit=True, connect_timeout=10)


def test_the_role_lives_exactly_as_long_as_the_session(
    identity_gateway: Gateway, issuer: OidcIssuer, vault_pg: PgCluster
) -> None:
    with connect(identity_gateway, issuer.mint("bob", ["agents"]), "pg") as conn:
        role = conn.execute("SELECT current_user").fetchone()[0]
        assert role.startswith("v-token-ro-")
        assert role_exists(vault_pg, role)
    wait_until(lambda: not role_exists(vault_pg, role))
    identity_gateway.wait_for_event(lambda r: r.get("event") == "vault_lease_revoked")


def test_groups_choose_the_vault_role(identity_gateway: Gateway, issuer: OidcIssuer) -> None:
    with connect(identity_gateway, issuer.mint("dana", ["dba"]), "pg") as conn:
        assert conn.execute("SELECT current_user").fetchone()[0].startswith("v-token-rw-")
        conn.execute("INSERT INTO items VALUES (100, 'by dba') ON CONFLICT DO NOTHING")


def first_value(messages: list[Any]) -> str:
    """The first column of the first DataRow (int16 count, int32 length, bytes)."""
    row = next(m for m in messages if m.type == b"D").payload
    length = int.from_bytes(row[2:6], "big")
    return row[6 : 6 + length].decode()


class RecordingSocket:
    """Wraps a socket and keeps every byte received."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = bytearray()

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        self.received += data
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_the_client_never_sees_the_upstream_password(
    identity_gateway: Gateway, issuer: OidcIssuer, vault_pg: PgCluster
) -> None:
    with RawPg(*identity_gateway.address("pg_reuse")) as raw:
        recorder = RecordingSocket(raw.sock)
        raw.sock = recorder  # type: ignore[assignment]
        assert error_of(raw.login(issuer.mint("eve", ["agents"]), database="app")) is None
        rows = raw.query("SELECT current_user, session_user, current_setting('application_name')")
        assert error_of(rows) is None
        role = first_value(rows)
        raw.query("SELECT * FROM items")
        leaked = vault_pg.psql(f"SELECT password FROM {LEAK_TABLE} WHERE name = '{role}'").strip()
        assert leaked, f"no recorded password for {role}"
        assert leaked.encode() not in bytes(recorder.received)
        assert role.encode() in bytes(recorder.received)  # the scan did see the session's data
    assert leaked not in identity_gateway.stderr_text()


def test_idle_reuse_shares_one_lease_per_identity_and_role(
    identity_gateway: Gateway, issuer: OidcIssuer, openbao: OpenBao
) -> None:
    token = issuer.mint("storm", ["agents"])
    before = len(openbao.leases("database/creds/ro/"))

    def role_of(_: int) -> str:
        with connect(identity_gateway, token, "pg_reuse") as conn:
            return str(conn.execute("SELECT current_user").fetchone()[0])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        roles = set(pool.map(role_of, range(16)))
    assert len(roles) == 1  # one Vault read for a storm of 16 connections
    assert role_of(0) in roles  # and a later connection inside the window reuses it
    assert len(openbao.leases("database/creds/ro/")) == before + 1
    other = issuer.mint("someone-else", ["agents"])
    with connect(identity_gateway, other, "pg_reuse") as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] not in roles


def test_leases_are_renewed_while_the_session_lives(
    identity_gateway: Gateway, issuer: OidcIssuer, vault_pg: PgCluster
) -> None:
    start = len(identity_gateway.events())
    with connect(identity_gateway, issuer.mint("slow", ["agents"]), "pg_short") as conn:
        role = conn.execute("SELECT current_user").fetchone()[0]
        time.sleep(3.0)  # beyond the 2 s TTL: alive only because it was renewed
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] >= 2
        assert role_exists(vault_pg, role)
    renewed = [e for e in identity_gateway.events("vault_lease_renewed")[0:]]
    assert any(e.get("path") == "database/creds/short" for e in renewed)
    assert identity_gateway.events()[start:]
    wait_until(lambda: not role_exists(vault_pg, role))


def test_a_missing_role_refuses_before_anything_upstream(
    identity_gateway: Gateway, issuer: OidcIssuer, vault_pg: PgCluster
) -> None:
    offset = vault_pg.log_size()
    with pytest.raises(psycopg.OperationalError) as caught:
        connect(identity_gateway, issuer.mint("mallory", ["agents"]), "pg_missing")
    assert "upstream credentials unavailable" in str(caught.value)
    assert "database/creds/missing" in str(caught.value)
    assert "connection received" not in vault_pg.log_since(offset)


def test_access_is_decided_before_any_lease(
    identity_gateway: Gateway, issuer: OidcIssuer, openbao: OpenBao
) -> None:
    before = len(openbao.leases("database/creds/ro/"))
    with pytest.raises(psycopg.OperationalError) as caught:
        connect(identity_gateway, issuer.mint("agent-x", ["agents"]), "pg_dba_only")
    assert "may not use resource" in str(caught.value)
    assert len(openbao.leases("database/creds/ro/")) == before
    with connect(identity_gateway, issuer.mint("dba-y", ["dba"]), "pg_dba_only") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_vault_down_fails_closed_and_recovers(
    gateway_factory: Any, openbao: OpenBao, vault_pg: PgCluster, agent_token: Token
) -> None:
    proxy = TcpProxy("127.0.0.1", openbao.port).start()
    try:
        vault = {
            "url": f"http://127.0.0.1:{proxy.port}",
            "timeout": 2,
            "auth": {"method": "token", "token_env": VAULT_TOKEN_ENV},
        }
        resources = [
            vault_resource("pg", vault_pg, {"path": "database/creds/ro", "idle_reuse": 0}),
            vault_resource("dead", vault_pg, {"path": "database/creds/ro"}),
        ]
        gateway = gateway_factory(
            resources,
            env={VAULT_TOKEN_ENV: openbao.token},
            extra_config=identity_extra([], [agent_token], vault),
        )
        with connect(gateway, agent_token.secret, "pg") as conn:
            conn.execute("SELECT 1")
        proxy.refuse = True
        proxy.cut_all()
        offset = vault_pg.log_size()
        with pytest.raises(psycopg.OperationalError) as caught:
            connect(gateway, agent_token.secret, "pg")
        assert "Vault" in str(caught.value)
        assert "connection received" not in vault_pg.log_since(offset)
        proxy.refuse = False
        try:
            with connect(gateway, agent_token.secret, "pg") as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError as exc:
            raise AssertionError(f"{exc}\n{gateway.stderr_text()[-4000:]}") from exc
    finally:
        proxy.stop()


def test_unreachable_vault_at_start_does_not_stop_the_gateway(
    gateway_factory: Any, vault_pg: PgCluster, agent_token: Token
) -> None:
    vault = {
        "url": f"http://127.0.0.1:{unused_closed_port()}",
        "timeout": 1,
        "auth": {"method": "token", "token_env": VAULT_TOKEN_ENV},
    }
    resources = [vault_resource("pg", vault_pg, {"path": "database/creds/ro"})]
    gateway = gateway_factory(
        resources, env={VAULT_TOKEN_ENV: "x"}, extra_config=identity_extra([], [agent_token], vault)
    )
    with pytest.raises(psycopg.OperationalError) as caught:
        connect(gateway, agent_token.secret, "pg")
    assert "Vault is unreachable" in str(caught.value)
    assert gateway.running


def test_shutdown_revokes_leases_held_for_reuse(
    gateway_factory: Any, openbao: OpenBao, vault_pg: PgCluster, agent_token: Token
) -> None:
    vault = {"url": openbao.url, "auth": {"method": "token", "token_env": VAULT_TOKEN_ENV}}
    resources = [vault_resource("pg", vault_pg, {"path": "database/creds/ro", "idle_reuse": 300})]
    gateway = gateway_factory(
        resources,
        env={VAULT_TOKEN_ENV: openbao.token},
        extra_config=identity_extra([], [agent_token], vault),
    )
    with connect(gateway, agent_token.secret, "pg") as conn:
        role = conn.execute("SELECT current_user").fetchone()[0]
    time.sleep(0.3)
    assert role_exists(vault_pg, role)  # idle, kept for reuse
    assert gateway.stop() == 0
    assert not role_exists(vault_pg, role)
