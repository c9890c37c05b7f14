"""psql, psycopg and PyMySQL wait on a held UPDATE; a reviewer releases it (CLI or API).

The exact reviewed command runs once, its result reaches the client, and the
session stays usable. (The web page releases the same three: tests/e2e.)
"""

from __future__ import annotations

import pytest

from support.gateway import Gateway
from support.reviews import PROTOCOL, Admin, ReviewTokens, Scratch, cli, hold_update

CLIENTS = ["psql", "psycopg", "pymysql"]


def _released(gateway: Gateway, scratch: Scratch, client: str, held: object, row: int) -> None:
    from support.reviews import HeldClient

    assert isinstance(held, HeldClient)
    held.result()
    assert held.error is None, held.error
    if PROTOCOL[client] == "postgres":
        assert held.value == 110  # RETURNING balance: the result reached the client
        assert held.after in (1, (1,))
    else:
        assert held.value == 1  # affected rows
        assert held.after == (1,)
    assert scratch.balance(PROTOCOL[client], row) == 110  # changed exactly once


def _noticed(held: object, gateway: Gateway, review_id: str, client: str) -> None:
    from support.reviews import HeldClient

    assert isinstance(held, HeldClient)
    if PROTOCOL[client] != "postgres":
        return
    text = "\n".join(held.notices)
    assert f"held for review {review_id}" in text
    assert f"{gateway.admin_url}/ui/reviews/{review_id}" in text


@pytest.mark.parametrize("client", CLIENTS)
def test_released_by_the_cli(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens, client: str
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    held, row, review = hold_update(review_gateway, scratch, client, review_tokens.agent, alice)
    assert not held.done
    done = cli(review_gateway, review_tokens.alice, "approve", review["id"], "--reason", "ok")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{review['id']}: approved"
    _released(review_gateway, scratch, client, held, row)
    _noticed(held, review_gateway, review["id"], client)
    final = alice.review(review["id"])
    assert (final["status"], final["decided_by"], final["decision_reason"]) == (
        "approved",
        "alice",
        "ok",
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_released_by_the_api(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens, client: str
) -> None:
    bob = Admin(review_gateway, review_tokens.bob)
    held, row, review = hold_update(review_gateway, scratch, client, review_tokens.agent, bob)
    assert review["requester"] == "agent-1"
    assert review["kind"] == "write"
    assert review["rule"] == "agents"
    assert review["resource"] == ("my" if client == "pymysql" else "pg")
    assert review["tables"] == ["accounts"]
    response = bob.approve(review["id"], reason="fine")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    _released(review_gateway, scratch, client, held, row)
    _noticed(held, review_gateway, review["id"], client)
