"""The test servers themselves behave as the gateway tests assume."""

from __future__ import annotations

import psycopg
import pytest

from support.pgcluster import PgCluster
from support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.mark.parametrize(
    ("cluster_name", "stored"), [("scram_cluster", "SCRAM"), ("md5_cluster", "md5")]
)
def test_cluster_auth_and_tls(
    request: pytest.FixtureRequest, cluster_name: str, stored: str
) -> None:
    cluster: PgCluster = request.getfixturevalue(cluster_name)
    assert cluster.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_user'").startswith(
        stored
    )
    dsn = cluster.dsn(cluster.app_user, db=cluster.app_database) + " sslmode=require"
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row == (True,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(cluster.dsn(cluster.app_user, "wrong", db=cluster.app_database))


def test_cluster_unix_socket(scram_cluster: PgCluster) -> None:
    dsn = scram_cluster.dsn(scram_cluster.app_user, db=scram_cluster.app_database, unix=True)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("app_user",)


def test_tcp_proxy_cut(scram_cluster: PgCluster) -> None:
    with TcpProxy(scram_cluster.host, scram_cluster.port) as proxy:
        dsn = f"host=127.0.0.1 port={proxy.port} user=postgres dbname=postgres"
        dsn += f" password={scram_cluster.superuser_password} sslmode=disable"
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            proxy.cut_all()
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
