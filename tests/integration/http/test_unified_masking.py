"""One `masking:` section for every protocol: a PostgreSQL column, an HTTP JSON field
and a secret a model streams split across SSE events, each masked by the same rules
(the same keyed hash on both protocols) and counted per rule in `/metrics`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from support.gateway import Gateway, Token, make_token, pg_resource
from support.http_upstream import HttpUpstreamServer

from .conftest import UPSTREAM_KEY, base_url, http_resource

pytestmark = [pytest.mark.slow, pytest.mark.integration]

AWS = "AKIAABCDEFGHIJKLMNOP"
DATABASE = "wg_http_masking"
MASKING = [
    {"name": "passwords", "columns": ["*.password"], "fields": ["password"], "strategy": "hash"},
    {"name": "secrets", "detectors": ["aws_access_key", "credit_card"], "strategy": "redact"},
]
KEY = "unified-masking-key-0123456789"


@pytest.fixture(scope="module")
def unified(machine_pg: Any, upstream: HttpUpstreamServer, http_token: Token) -> Iterator[Gateway]:
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(machine_pg.dsn(db=DATABASE), autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (name text, password text)")
        conn.execute("INSERT INTO accounts VALUES ('alice', 'hunter2')")
    resources = [
        pg_resource("pg", host=machine_pg.host, port=machine_pg.port, database=DATABASE),
        http_resource("api", upstream.url, request_secrets="log"),
    ]
    config = {"masking": MASKING, "masking_key": KEY, "policy": {"default": "allow"}}
    gateway = Gateway(
        resources,
        [http_token, make_token("pg-agent")],
        env={"WG_TEST_UPSTREAM_KEY": UPSTREAM_KEY},
        extra_config=config,
    )
    with gateway:
        yield gateway


def _masked_count(metrics: str, protocol: str, resource: str, rule: str) -> float:
    labels = f'protocol="{protocol}",resource="{resource}",rule="{rule}"'
    found = re.search(rf"wardgate_masked_values_total\{{{labels}\}} (\S+)", metrics)
    return float(found.group(1)) if found else 0.0


def _streamed_text(client: httpx.Client) -> str:
    body = {
        "model": "gpt-test",
        "stream": True,
        "x_chunk": 3,  # the key arrives in seven pieces
        "messages": [{"role": "user", "content": f"say:your key: {AWS}."}],
    }
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: {")]
    return "".join(
        choice["delta"].get("content", "")
        for line in lines
        for choice in json.loads(line)["choices"]
    )


def test_one_section_masks_postgres_http_json_and_sse(unified: Gateway, http_token: Token) -> None:
    with psycopg.connect(unified.dsn("pg"), autocommit=True) as conn:
        row = conn.execute("SELECT name, password FROM accounts").fetchone()
    assert row is not None
    assert row[1] != "hunter2"
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    with httpx.Client(base_url=base_url(unified, "api"), headers=headers, timeout=10) as client:
        items = client.get("/api/items").json()["data"]
        text = _streamed_text(client)
        cards = client.get("/api/cards").json()["cards"]
    alice = next(item for item in items if item["name"] == "alice")
    assert alice["password"] == row[1]  # the same keyed hash on both protocols
    assert AWS not in text
    assert text == "your key: ****."
    assert cards[0]["number"] is None  # a card number sent as a JSON number
    metrics = httpx.get(f"http://{unified.ready['admin']}/metrics").text
    assert _masked_count(metrics, "postgres", "pg", "passwords") >= 1
    assert _masked_count(metrics, "http", "api", "passwords") >= 2
    assert _masked_count(metrics, "http", "api", "secrets") >= 3  # note, stream, card
