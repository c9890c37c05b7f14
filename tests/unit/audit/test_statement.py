"""Literal redaction for audit statements."""

from __future__ import annotations

import pytest

from wardgate.audit.statement import redact


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "SELECT * FROM t WHERE email = 'a@b.c' AND id = 42",
            "postgres",
            "select * from t where email = ? and id = ?",
        ),
        ("select $$secret$$, E'x\\'y', 1.5e3", "postgres", "select ? , ? , ?"),
        (
            "select 'a'; update t set p = 'pw' where id = 1",
            "postgres",
            "select ?; update t set p = ? where id = ?",
        ),
        ("SELECT \"s3cret\", x'ff' FROM t", "mysql", "SELECT ? , ? FROM t"),
        ("select 'unterminated secret", "postgres", "select ?"),
        ("select $1, $2", "postgres", "select $1 , $2"),
    ],
)
def test_literals_become_placeholders(sql: str, dialect: str, expected: str) -> None:
    assert redact(sql, dialect).text == expected


def test_same_shape_same_fingerprint() -> None:
    one = redact("select * from t where id = 1", "postgres")
    two = redact("SELECT  *  FROM t WHERE id = 2 -- note", "postgres")
    other = redact("select * from u where id = 1", "postgres")
    assert one.fingerprint == two.fingerprint != other.fingerprint
    assert len(one.fingerprint) == 16


def test_http_request_line_keeps_path_drops_query_values() -> None:
    assert redact("GET /v1/models?api_key=sk-123&x=1", "").text == "GET /v1/models?api_key=?&x=?"


def test_unknown_dialect_is_redacted_conservatively() -> None:
    assert redact("PING 'token-abc' 12", "redis").text == "PING ? ?"
