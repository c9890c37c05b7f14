"""The gateway stops while a command is held: the client hears why, nothing runs later."""

from __future__ import annotations

import signal
import time
from typing import Any

import psycopg

from support.gateway import Gateway
from support.reviews import Admin, ReviewTokens, Scratch, hold_update, review_policy


def test_restart_while_a_review_is_pending(
    gateway_factory: Any, resources: list[Any], scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    extra = {"policy": review_policy(), "reviews": {"poll_interval": 0.2}}
    gateway: Gateway = gateway_factory(resources, tokens=review_tokens.all(), extra_config=extra)
    alice = Admin(gateway, review_tokens.alice)

    # SIGTERM: the held command is refused with the reason before the drain.
    held, row, stopped = hold_update(gateway, scratch, "psycopg", review_tokens.agent, alice)
    gateway.terminate()
    held.result()
    assert gateway.wait() == 0
    assert isinstance(held.error, psycopg.errors.InsufficientPrivilege)
    assert f"review {stopped['id']} cancelled" in str(held.error)
    assert "shutting down" in str(held.error)

    # SIGKILL: the client loses its connection; the next start marks the review.
    gateway.start()
    alice = Admin(gateway, review_tokens.alice)
    crashed_held, crashed_row, crashed = hold_update(
        gateway, scratch, "psycopg", review_tokens.agent, alice
    )
    assert gateway.proc is not None
    gateway.proc.send_signal(signal.SIGKILL)
    gateway.wait()
    crashed_held.result()
    assert isinstance(crashed_held.error, psycopg.OperationalError)

    gateway.start()
    alice = Admin(gateway, review_tokens.alice)
    assert alice.review(stopped["id"])["status"] == "cancelled"
    abandoned = alice.review(crashed["id"])
    assert (abandoned["status"], abandoned["decided_by"]) == ("abandoned", "gateway")
    for review in (stopped, crashed):
        response = alice.approve(review["id"])
        assert response.status_code == 409
        assert "already" in response.json()["detail"]
    time.sleep(0.5)
    assert scratch.balance("postgres", row) == 100  # nothing ran, then or later
    assert scratch.balance("postgres", crashed_row) == 100
    assert any(e["review"] == crashed["id"] for e in gateway.events("review_abandoned"))
