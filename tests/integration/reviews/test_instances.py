"""Two gateway processes share a PostgreSQL state store: approve on B, release on A."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway
from support.reviews import Admin, ReviewTokens, Scratch, hold_update, review_policy


@pytest.fixture
def state_url(machine_pg: Any) -> Iterator[str]:
    name = "wg_state_" + secrets.token_hex(4)
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://{machine_pg.user}@{machine_pg.host}:{machine_pg.port}/{name}"
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_approval_on_one_instance_releases_the_other(
    state_url: str,
    gateway_factory: Any,
    resources: list[Any],
    scratch: Scratch,
    review_tokens: ReviewTokens,
) -> None:
    # A long poll interval: only LISTEN/NOTIFY can release the command in time.
    extra = {
        "policy": review_policy(),
        "state": {"url": state_url},
        "reviews": {"poll_interval": "30s"},
    }
    a: Gateway = gateway_factory(resources, tokens=review_tokens.all(), extra_config=extra)
    b: Gateway = gateway_factory(resources, tokens=review_tokens.all(), extra_config=extra)
    on_a, on_b = Admin(a, review_tokens.alice), Admin(b, review_tokens.alice)
    held, row, review = hold_update(a, scratch, "psycopg", review_tokens.agent, on_a)
    assert on_b.review(review["id"])["status"] == "pending"  # B sees A's queue
    approved_at = time.monotonic()
    response = on_b.approve(review["id"], reason="from B")
    assert response.status_code == 200, response.text
    held.result(timeout=10)
    assert time.monotonic() - approved_at < 5
    assert held.error is None
    assert held.value == 110
    assert scratch.balance("postgres", row) == 110
    assert on_a.review(review["id"])["decided_by"] == "alice"
    assert any(e["review"] == review["id"] for e in a.events("review_requested"))
    assert any(e["review"] == review["id"] for e in b.events("review_approved"))
