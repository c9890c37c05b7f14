"""Fixtures shared by every suite: certificates, PostgreSQL servers, gateways.

Servers are session-scoped and lazy: a private cluster starts the first time a
test asks for it and stops when the session ends. Tests that use them are marked
``slow`` and ``integration`` (automatic under ``tests/integration/``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # `support` must import under any --import-mode
    sys.path.insert(0, str(HERE))

from support.certs import Certs, make_certs  # noqa: E402
from support.gateway import Gateway, Token, make_token  # noqa: E402
from support.pgcluster import PgCluster, pg_bindir  # noqa: E402


@dataclass(frozen=True)
class MachinePg:
    """The machine's PostgreSQL (trust auth on 127.0.0.1 and its unix socket)."""

    host: str
    port: int
    user: str
    database: str
    socket_dir: str

    def dsn(self, user: str | None = None, db: str | None = None, *, unix: bool = False) -> str:
        host = self.socket_dir if unix else self.host
        return f"host={host} port={self.port} user={user or self.user} dbname={db or self.database}"


@pytest.fixture(scope="session")
def test_certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost (PEM paths)."""
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def machine_pg() -> MachinePg:
    """The trust-auth server at $WARDGATE_TEST_PGHOST:$WARDGATE_TEST_PGPORT (127.0.0.1:5432)."""
    import psycopg

    info = MachinePg(
        host=os.environ.get("WARDGATE_TEST_PGHOST", "127.0.0.1"),
        port=int(os.environ.get("WARDGATE_TEST_PGPORT", "5432")),
        user=os.environ.get("WARDGATE_TEST_PGUSER", "postgres"),
        database="postgres",
        socket_dir=os.environ.get("WARDGATE_TEST_PGSOCKET", "/var/run/postgresql"),
    )
    try:
        psycopg.connect(info.dsn(), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"the machine's PostgreSQL at {info.host}:{info.port} is not reachable: {exc}")
    return info


def _start_cluster(auth: str, certs: Certs) -> PgCluster:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) are not installed")
    return PgCluster(auth, certs).start()


@pytest.fixture(scope="session")
def scram_cluster(test_certs: Certs) -> Iterator[PgCluster]:
    """A private cluster: scram-sha-256 everywhere, TLS on, db `app`, role `app_user`."""
    cluster = _start_cluster("scram-sha-256", test_certs)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def md5_cluster(test_certs: Certs) -> Iterator[PgCluster]:
    """A private cluster: md5 everywhere (passwords stored as md5), TLS on."""
    cluster = _start_cluster("md5", test_certs)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def agent_token() -> Token:
    """A static token for identity `agent-1` in group `agents`."""
    return make_token("agent-1", ["agents"])


GatewayFactory = Callable[..., Gateway]


def _gateway_factory(default_tokens: Sequence[Token]) -> Iterator[GatewayFactory]:
    started: list[Gateway] = []

    def start(
        resources: Sequence[Mapping[str, Any]],
        tokens: Sequence[Token] | None = None,
        **kwargs: Any,
    ) -> Gateway:
        gateway = Gateway(resources, default_tokens if tokens is None else tokens, **kwargs)
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.cleanup()


@pytest.fixture
def gateway_factory(agent_token: Token) -> Iterator[GatewayFactory]:
    """Start `wardgate serve` for given resources; stopped after the test.

    ``gateway_factory([pg_resource("pg", port=...)], tokens=None, limits=None)``
    returns a started `Gateway` (tokens default to ``[agent_token]``).
    """
    yield from _gateway_factory([agent_token])


@pytest.fixture(scope="session")
def session_gateway_factory(agent_token: Token) -> Iterator[GatewayFactory]:
    """Like `gateway_factory`, but the gateways live until the session ends."""
    yield from _gateway_factory([agent_token])
