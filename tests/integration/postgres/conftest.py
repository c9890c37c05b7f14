"""Gateways in front of the test PostgreSQL servers, one per session and purpose.

- `machine_gateway`: the machine's trust-auth server, plainly, over TLS (optional
  and required), over its unix socket, and a resource whose upstream is down.
- `cluster_gateway`: the private scram and md5 clusters with the app role's
  password from config, env and file, over TCP, TLS modes and unix sockets, and
  one resource holding a wrong upstream password.
- `small_limit_gateway`: max_message_bytes of 64 KiB in front of the machine server.

Tests that must stop a gateway start their own with `gateway_factory`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from support.certs import Certs, make_certs
from support.gateway import Gateway, pg_resource
from support.pgcluster import PgCluster
from support.ports import unused_closed_port

BIG_LIMIT = {"max_message_bytes": 64 * 1024 * 1024}
SMALL_LIMIT = 64 * 1024


@pytest.fixture(scope="session")
def machine_gateway(session_gateway_factory: Any, machine_pg: Any, test_certs: Certs) -> Gateway:
    """Resources `pg`, `pg_tls`, `pg_tls_required`, `pg_unix`, `pg_down` (machine server)."""
    base: dict[str, Any] = {"port": machine_pg.port, "user": machine_pg.user, "password": ""}
    base["databases"] = ["postgres", "test"]
    resources = [
        pg_resource("pg", host=machine_pg.host, **base),
        pg_resource("pg_tls", host=machine_pg.host, tls=test_certs, **base),
        pg_resource(
            "pg_tls_required", host=machine_pg.host, tls=test_certs, tls_required=True, **base
        ),
        pg_resource("pg_unix", host=machine_pg.socket_dir, **base),
        pg_resource("pg_down", host="127.0.0.1", port=unused_closed_port(), password=""),
    ]
    return session_gateway_factory(resources, limits=BIG_LIMIT)


@pytest.fixture(scope="session")
def cluster_gateway(
    session_gateway_factory: Any,
    scram_cluster: PgCluster,
    md5_cluster: PgCluster,
    test_certs: Certs,
    tmp_path_factory: pytest.TempPathFactory,
) -> Gateway:
    """Resources on the private clusters; every one logs in as `app_user` to db `app`."""
    secret_file = tmp_path_factory.mktemp("secrets") / "md5-password"
    other_ca = make_certs(tmp_path_factory.mktemp("other-ca")).ca  # trusts nothing we serve
    secret_file.write_text(md5_cluster.app_password + "\n")

    def on(cluster: PgCluster, name: str, **kw: Any) -> dict[str, Any]:
        kw.setdefault("password", cluster.app_password)
        kw.setdefault("host", cluster.host)
        return pg_resource(name, port=cluster.port, database="app", user="app_user", **kw)

    resources = [
        on(scram_cluster, "scram"),
        on(scram_cluster, "scram_unix", host=str(scram_cluster.socket_dir)),
        on(scram_cluster, "scram_require", upstream_tls="require"),
        on(scram_cluster, "scram_prefer", upstream_tls="prefer"),
        on(scram_cluster, "scram_verify", upstream_tls="verify-full", ca_file=test_certs.ca),
        on(scram_cluster, "scram_wrong_ca", upstream_tls="verify-full", ca_file=other_ca),
        on(scram_cluster, "scram_badpass", password="not-the-password"),
        on(md5_cluster, "md5"),
        on(md5_cluster, "md5_unix", host=str(md5_cluster.socket_dir)),
        _with_secret(on(md5_cluster, "md5_env", password=None), password_env="WG_TEST_MD5_PW"),
        _with_secret(on(md5_cluster, "md5_file", password=None), password_file=str(secret_file)),
    ]
    env = {"WG_TEST_MD5_PW": md5_cluster.app_password}
    return session_gateway_factory(resources, limits=BIG_LIMIT, env=env)


def _with_secret(resource: dict[str, Any], **source: str) -> dict[str, Any]:
    resource["credentials"]["static"].update(source)
    return resource


@pytest.fixture(scope="session")
def small_limit_gateway(session_gateway_factory: Any, machine_pg: Any) -> Gateway:
    """Resource `pg` (machine server) with max_message_bytes = 64 KiB."""
    resource = pg_resource("pg", host=machine_pg.host, port=machine_pg.port, user=machine_pg.user)
    return session_gateway_factory([resource], limits={"max_message_bytes": SMALL_LIMIT})


@pytest.fixture
def pg_conn(machine_gateway: Gateway) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit psycopg connection through `machine_gateway`'s `pg` resource."""
    with psycopg.connect(machine_gateway.dsn("pg"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def direct_conn(machine_pg: Any) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection straight to the machine server, for looking behind the gateway."""
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        yield conn
