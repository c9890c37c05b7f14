"""Gateways with a real policy in front of the machine's PostgreSQL and a private MariaDB.

Policy (both protocols): `dba` allows all; `agents` allow read and session commands,
deny writes, DDL, admin and unknown statements, and cap results at `MAX_ROWS`;
`bench` allows pgbench's statements; `bench-ro` denies its writes.

PostgreSQL: table `wg_policy_items` (100 rows) in db `postgres`; db `wg_legacy` with
standard_conforming_strings off; db `wg_bench` holding pgbench's tables.
MariaDB: db `shop` with table `items` (100 rows); `other` is not served.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from support.certs import Certs
from support.gateway import Gateway, Token, make_token, pg_resource
from support.mariadb import MariaDB, mariadb_installed

MAX_ROWS = 50
ROWS = 100
TABLE = "wg_policy_items"

POLICY: dict[str, Any] = {
    "default": "deny",
    "rules": [
        {"name": "dba", "when": {"groups": ["dba"]}, "allow": ["all"]},
        {"name": "bench", "when": {"groups": ["bench"]}, "allow": ["read", "write", "session"]},
        {"name": "bench-ro", "when": {"groups": ["bench-ro"]}, "allow": ["read", "session"]},
        {
            "name": "agents",
            "when": {"groups": ["agents"]},
            "allow": ["read", "session"],
            "deny": ["write", "ddl", "admin", "unknown"],
            "max_rows": MAX_ROWS,
        },
    ],
}


@pytest.fixture(scope="session")
def dba_token() -> Token:
    return make_token("root-1", ["dba"])


@pytest.fixture(scope="session")
def bench_tokens() -> tuple[Token, Token]:
    return make_token("bench-1", ["bench"]), make_token("bench-ro-1", ["bench-ro"])


def _prepare_postgres(machine_pg: Any) -> None:
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, name text)")
        conn.execute(
            f"INSERT INTO {TABLE} SELECT g, 'item-' || g FROM generate_series(1, {ROWS}) g"
        )
        conn.execute(
            "CREATE OR REPLACE FUNCTION wg_label(i int) RETURNS text STABLE LANGUAGE sql"
            f" AS $$ SELECT name FROM {TABLE} WHERE id = i $$"
        )
        conn.execute(
            "CREATE OR REPLACE FUNCTION wg_purge() RETURNS int VOLATILE LANGUAGE sql"
            f" AS $$ DELETE FROM {TABLE} WHERE id > {ROWS} RETURNING 1 $$"
        )
        for database in ("wg_legacy", "wg_bench"):
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
            conn.execute(f"CREATE DATABASE {database}")
        conn.execute("ALTER DATABASE wg_legacy SET standard_conforming_strings = off")
        conn.execute("ALTER DATABASE wg_legacy SET escape_string_warning = off")


@pytest.fixture(scope="session")
def pg_policy_gateway(
    session_gateway_factory: Any,
    machine_pg: Any,
    agent_token: Token,
    dba_token: Token,
    bench_tokens: tuple[Token, Token],
) -> Gateway:
    """Resource `pg` (machine server, dbs postgres, wg_legacy, wg_bench) under POLICY."""
    _prepare_postgres(machine_pg)
    resource = pg_resource(
        "pg",
        host=machine_pg.host,
        port=machine_pg.port,
        user=machine_pg.user,
        databases=["postgres", "wg_legacy", "wg_bench"],
    )
    tokens = [agent_token, dba_token, *bench_tokens]
    gateway: Gateway = session_gateway_factory(
        [resource], tokens=tokens, extra_config={"policy": POLICY}
    )
    return gateway


@pytest.fixture
def direct_pg(machine_pg: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        yield conn


SHOP_SQL = f"""
CREATE DATABASE IF NOT EXISTS other;
USE shop;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO items SELECT seq, CONCAT('item-', seq) FROM seq_1_to_{ROWS};
"""


@pytest.fixture(scope="session")
def policy_mariadb(test_certs: Certs) -> Iterator[MariaDB]:
    if not mariadb_installed():
        pytest.skip("MariaDB server binaries are not installed")
    server = MariaDB(test_certs).start()
    server.sql(SHOP_SQL)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def my_policy_gateway(
    session_gateway_factory: Any,
    policy_mariadb: MariaDB,
    agent_token: Token,
    dba_token: Token,
    test_certs: Certs,
) -> Gateway:
    """Resource `shop` (private MariaDB as native_user, db shop, TLS offered) under POLICY."""
    resource = {
        "name": "shop",
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": {
            "host": "127.0.0.1",
            "port": policy_mariadb.port,
            "database": "shop",
            "tls": "disable",
        },
        "credentials": {"static": {"user": "native_user", "password": "native-pw"}},
        "tls": {"cert": str(test_certs.cert), "key": str(test_certs.key)},
    }
    gateway: Gateway = session_gateway_factory(
        [resource], tokens=[agent_token, dba_token], extra_config={"policy": POLICY}
    )
    return gateway
