"""Masking through a real gateway with the mariadb client, PyMySQL (text protocol)
and mysql-connector prepared statements (binary protocol)."""

from __future__ import annotations

import subprocess

import mysql.connector
import pymysql
import pytest

from support.gateway import Gateway

EMAIL = "*************.com"


def _address(gateway: Gateway) -> tuple[str, int]:
    host, port = gateway.ready["resources"]["my"].rsplit(":", 1)
    return host, int(port)


def test_pymysql_text_protocol(masking_gateway: Gateway) -> None:
    host, port = _address(masking_gateway)
    conn = pymysql.connect(
        host=host, port=port, user="agent", password=masking_gateway.token, database="wg_masking"
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT email AS e, name, ssn, notes FROM customers WHERE id = 1")
            assert cur.fetchone() == (EMAIL, "Alice", "*******6789", '{"card": "****"}')
            cur.execute("SELECT CONCAT(name, email) FROM customers WHERE id = 1")
            assert cur.fetchone() == ("****",)
            cur.execute("SELECT contact FROM v_contacts WHERE who = 'Alice'")
            assert cur.fetchone() == (EMAIL,)
            cur.execute("SELECT password FROM customers WHERE id = 1")
            (hashed,) = cur.fetchone()  # type: ignore[misc]
            assert isinstance(hashed, int)
            assert hashed != 4242
            with pytest.raises(pymysql.err.IntegrityError) as caught:
                cur.execute("INSERT INTO customers (id, email) VALUES (9, 'alice@example.com')")
            assert "alice" not in str(caught.value)
            assert "'****'" in str(caught.value)
    finally:
        conn.close()


def test_connector_prepared_binary(masking_gateway: Gateway) -> None:
    host, port = _address(masking_gateway)
    conn = mysql.connector.connect(
        host=host,
        port=port,
        user="agent",
        password=masking_gateway.token,
        database="wg_masking",
        ssl_verify_cert=False,
        auth_plugin="mysql_clear_password",
    )
    try:
        cur = conn.cursor(prepared=True)
        cur.execute("SELECT email, password, name FROM customers WHERE id = %s", (1,))
        email, password, name = cur.fetchone()  # type: ignore[misc]
        assert (email, name) == (EMAIL, "Alice")
        assert isinstance(password, int)
        assert password != 4242
        text = conn.cursor()
        text.execute("SELECT password FROM customers WHERE id = 1")
        assert text.fetchone() == (password,)  # same hash in text and binary protocol
    finally:
        conn.close()


def test_mariadb_client(masking_gateway: Gateway) -> None:
    host, port = _address(masking_gateway)
    out = subprocess.run(
        [
            "mariadb",
            "-h",
            host,
            "-P",
            str(port),
            "-u",
            "agent",
            f"-p{masking_gateway.token}",
            "--skip-ssl",
            "-N",
            "-B",
            "wg_masking",
            "-e",
            "SELECT email, ssn FROM customers ORDER BY id",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert out.split("\n")[0] == f"{EMAIL}\t*******6789"
    assert "alice" not in out
