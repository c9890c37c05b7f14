"""A masking gateway in front of the machine's PostgreSQL and MariaDB.

Database `wg_masking` on both servers holds `customers` (masked columns email, ssn,
password), `orders`, a view over customers and a function reading it, plus
`big` (1,000,000 rows, PostgreSQL only) for the streaming test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from support.certs import Certs
from support.gateway import Gateway, pg_resource

MASKING = [
    {
        "name": "pii",
        "columns": ["customers.email", "customers.ssn", "big.email"],
        "strategy": "partial",
    },
    {"name": "secret", "columns": ["*.password"], "strategy": "hash"},
    {"name": "detect", "detectors": ["credit_card", "email", "jwt"], "strategy": "redact"},
]
KEY = "integration-masking-key-0123456789"
PG_SQL = """
DROP TABLE IF EXISTS customers, orders, big CASCADE;
CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE, name text, ssn varchar(11),
  password int, notes jsonb, tags text[]);
INSERT INTO customers VALUES
  (1, 'alice@example.com', 'Alice', '123-45-6789', 4242, '{"card": "4111 1111 1111 1111"}',
   '{a@b.co,x}'),
  (2, 'carol@example.com', 'Carol', '987-65-4321', 7, NULL, NULL);
CREATE TABLE orders (id int, customer_id int, total numeric);
INSERT INTO orders VALUES (10, 1, 9.5);
CREATE VIEW v_contacts AS SELECT email AS contact, name AS who FROM customers;
CREATE FUNCTION get_email(i int) RETURNS text LANGUAGE sql
  AS 'SELECT email FROM customers WHERE id = i';
CREATE TABLE big AS SELECT i AS id, 'user' || i || '@example.com' AS email
  FROM generate_series(1, 1000000) i;
"""
MY_SQL = """
DROP DATABASE IF EXISTS wg_masking; CREATE DATABASE wg_masking; USE wg_masking;
CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) UNIQUE, name VARCHAR(50),
  ssn VARCHAR(11), password INT, notes JSON);
INSERT INTO customers VALUES (1, 'alice@example.com', 'Alice', '123-45-6789', 4242,
  '{"card": "4111 1111 1111 1111"}'), (2, 'carol@example.com', 'Carol', '987-65-4321', 7, NULL);
CREATE VIEW v_contacts AS SELECT email AS contact, name AS who FROM customers;
"""


@pytest.fixture(scope="session")
def masking_db(machine_pg: Any) -> str:
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS wg_masking")
        conn.execute("CREATE DATABASE wg_masking")
    with psycopg.connect(machine_pg.dsn(db="wg_masking"), autocommit=True) as conn:
        conn.execute(PG_SQL)
    return "wg_masking"


@pytest.fixture(scope="session")
def mysql_db() -> str:
    import subprocess

    subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", MY_SQL], check=True)
    return "wg_masking"


@pytest.fixture(scope="session")
def masking_gateway(
    session_gateway_factory: Any, machine_pg: Any, masking_db: str, mysql_db: str, test_certs: Certs
) -> Gateway:
    mysql: dict[str, Any] = {
        "name": "my",
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": {"host": "127.0.0.1", "port": 3306, "database": mysql_db, "tls": "disable"},
        "credentials": {"static": {"user": "root", "password": ""}},
        "tls": {"cert": str(test_certs.cert), "key": str(test_certs.key)},
    }
    resources = [
        pg_resource("pg", host=machine_pg.host, port=machine_pg.port, database=masking_db),
        mysql,
    ]
    return session_gateway_factory(resources, extra_config={"masking": MASKING, "masking_key": KEY})


@pytest.fixture
def pg(masking_gateway: Gateway) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(masking_gateway.dsn("pg"), autocommit=True) as conn:
        yield conn
