"""A private MariaDB and one gateway in front of it and of the machine's MariaDB.

Gateway resources (all on 127.0.0.1:0):

- `machine`: the machine's server (127.0.0.1:3306, root without password), db `mysql`
- `native`: private server as `native_user` (mysql_native_password), db `shop`,
  client-side TLS offered (needed by mysql-connector, which sends cleartext only over TLS)
- `ed`: private server as `ed_user` (client_ed25519)
- `tls_up`: private server as `tls_user` (REQUIRE SSL) with upstream `tls: verify-full`
- `unix`: private server over its unix socket
- `tls_required`: like `native`, but clients must use TLS
- `down`: an upstream port nothing listens on
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.certs import Certs
from support.gateway import Gateway, Token
from support.mariadb import MariaDB, mariadb_installed
from support.ports import unused_closed_port

BIG_LIMIT = {"max_message_bytes": 64 * 1024 * 1024}
ROWS = 10_000

SHOP_SQL = f"""
USE shop;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2));
INSERT INTO items SELECT seq, CONCAT('item-', seq), seq / 100 FROM seq_1_to_{ROWS};
CREATE TABLE types (
  id INT PRIMARY KEY, t TINYINT, s SMALLINT, m MEDIUMINT, b BIGINT, f FLOAT, d DOUBLE,
  dec_ DECIMAL(12,4), c CHAR(5), v VARCHAR(50), tx TEXT, bl BLOB, dt DATE, tm TIME(3),
  dtm DATETIME(6), ts TIMESTAMP NULL, y YEAR, bit_ BIT(8), e ENUM('a','b'), j JSON, n INT NULL);
INSERT INTO types VALUES (1, -5, 300, 70000, 9000000000, 1.5, 2.25, 12.3456, 'abc', 'héllo',
  'long text', x'00ff10', '2024-02-29', '12:34:56.789', '2024-02-29 01:02:03.456789',
  '2024-01-01 00:00:00', 2024, b'10101010', 'b', '{{"k": [1, 2]}}', NULL);
CREATE TABLE ledger (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(20)) ENGINE=InnoDB;
"""


def mysql_resource(
    name: str,
    *,
    port: int = 3306,
    user: str = "root",
    password: str = "",
    database: str = "shop",
    upstream_tls: str = "disable",
    tls: Certs | None = None,
    tls_required: bool = False,
    **upstream: Any,
) -> dict[str, Any]:
    up: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "database": database,
        "tls": upstream_tls,
        **upstream,
    }
    resource: dict[str, Any] = {
        "name": name,
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": up,
        "credentials": {"static": {"user": user, "password": password}},
    }
    if tls is not None:
        resource["tls"] = {"cert": str(tls.cert), "key": str(tls.key), "required": tls_required}
    return resource


@pytest.fixture(scope="session")
def mariadb(test_certs: Certs) -> Iterator[MariaDB]:
    if not mariadb_installed():
        pytest.skip("MariaDB server binaries are not installed")
    server = MariaDB(test_certs).start()
    server.sql(SHOP_SQL)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mysql_gateway(session_gateway_factory: Any, mariadb: MariaDB, test_certs: Certs) -> Gateway:
    private = {"port": mariadb.port}
    resources = [
        mysql_resource("machine", database="mysql"),
        mysql_resource(
            "native", user="native_user", password="native-pw", tls=test_certs, **private
        ),
        mysql_resource("ed", user="ed_user", password="ed-pw", **private),
        mysql_resource(
            "tls_up",
            user="tls_user",
            password="tls-pw",
            upstream_tls="verify-full",
            ca_file=str(mariadb.ca),
            **private,
        ),
        mysql_resource(
            "unix",
            user="native_user",
            password="native-pw",
            unix_socket=str(mariadb.socket),
            **private,
        ),
        mysql_resource(
            "tls_required",
            user="native_user",
            password="native-pw",
            tls=test_certs,
            tls_required=True,
            **private,
        ),
        mysql_resource("down", port=unused_closed_port()),
    ]
    gateway: Gateway = session_gateway_factory(resources, limits=BIG_LIMIT)
    return gateway


@pytest.fixture
def connect(mysql_gateway: Gateway, agent_token: Token) -> Iterator[Any]:
    """PyMySQL connections to a resource, closed after the test."""
    import pymysql

    opened: list[Any] = []

    def open_(resource: str = "native", **kwargs: Any) -> Any:
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": mysql_gateway.port(resource),
            "user": "agent",
            "password": agent_token.secret,
            "database": "shop" if resource != "machine" else "mysql",
        }
        params.update(kwargs)
        conn = pymysql.connect(**params)
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        try:
            conn.close()
        except Exception:
            pass
