"""Vault-leased MariaDB users through the MySQL plugin: in `mysql.user` only while used."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.certs import Certs
from support.gateway import Gateway, Token
from support.mariadb import MariaDB, mariadb_installed
from support.openbao import OpenBao

from .conftest import VAULT_TOKEN_ENV, identity_extra, vault_section

ADMIN_SQL = """
CREATE USER vault_admin@'%' IDENTIFIED BY 'vault-admin-pw';
GRANT ALL ON *.* TO vault_admin@'%' WITH GRANT OPTION;
CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20));
INSERT INTO shop.items VALUES (1, 'one'), (2, 'two');
"""


@pytest.fixture(scope="module")
def vault_mariadb(openbao: OpenBao, test_certs: Certs) -> Iterator[MariaDB]:
    if not mariadb_installed():
        pytest.skip("MariaDB server binaries are not installed")
    server = MariaDB(test_certs).start()
    try:
        configure(openbao, server)
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


def configure(openbao: OpenBao, server: MariaDB) -> None:
    server.sql(ADMIN_SQL)
    openbao.ensure_database()
    openbao.write(
        "database/config/my",
        plugin_name="mysql-database-plugin",
        connection_url=f"{{{{username}}}}:{{{{password}}}}@tcp(127.0.0.1:{server.port})/",
        username="vault_admin",
        password="vault-admin-pw",
        allowed_roles="*",
    )
    openbao.write(
        "database/roles/shop-ro",
        db_name="my",
        creation_statements=[
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
            "GRANT SELECT ON shop.* TO '{{name}}'@'%';",
        ],
        revocation_statements=["DROP USER IF EXISTS '{{name}}'@'%';"],
        default_ttl=60,
        max_ttl=600,
    )


@pytest.fixture(scope="module")
def mysql_gateway(
    session_gateway_factory: Any, openbao: OpenBao, vault_mariadb: MariaDB, agent_token: Token
) -> Gateway:
    resource = {
        "name": "shop",
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": {
            "host": "127.0.0.1",
            "port": vault_mariadb.port,
            "database": "shop",
            "tls": "disable",
        },
        "credentials": {"vault": {"path": "database/creds/shop-ro", "idle_reuse": 0}},
    }
    return session_gateway_factory(
        [resource],
        env={VAULT_TOKEN_ENV: openbao.token},
        extra_config=identity_extra([], [agent_token], vault_section(openbao)),
    )


def user_exists(server: MariaDB, user: str) -> bool:
    return server.sql(f"SELECT COUNT(*) FROM mysql.user WHERE user = '{user}'").strip() == "1"


def test_leased_user_exists_only_while_the_session_lives(
    mysql_gateway: Gateway, vault_mariadb: MariaDB, agent_token: Token
) -> None:
    import pymysql

    conn = pymysql.connect(
        host="127.0.0.1",
        port=mysql_gateway.port("shop"),
        user="agent",
        password=agent_token.secret,
        database="shop",
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER(), (SELECT name FROM items WHERE id = 2)")
            current, name = cursor.fetchone()
        user = current.split("@")[0]
        assert user.startswith("v-token-shop-ro-")
        assert name == "two"
        assert user_exists(vault_mariadb, user)
    finally:
        conn.close()
    deadline = time.monotonic() + 10
    while user_exists(vault_mariadb, user):
        assert time.monotonic() < deadline, "the leased user was not dropped"
        time.sleep(0.1)


def test_connect_runs_the_mariadb_client_with_a_leased_user(
    mysql_gateway: Gateway, agent_token: Token, tmp_path: Any
) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "WARDGATE_"))}
    env.update(WARDGATE_TOKEN=agent_token.secret, XDG_CONFIG_HOME=str(tmp_path))
    argv = [
        sys.executable,
        "-m",
        "wardgate",
        "connect",
        "shop",
        "-c",
        str(mysql_gateway.config_path),
        "--ready-file",
        str(mysql_gateway.ready_path),
        "--",
        "--protocol=TCP",
        "-N",
        "-B",
        "-e",
        "SELECT CURRENT_USER(), COUNT(*) FROM items",
    ]
    ran = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    user, count = ran.stdout.strip().split("\t")
    assert user.startswith("v-token-shop-ro-")
    assert count == "2"
