"""Everything but a plain approval: denial, timeout, who may decide, quorum, grants, leaving."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import psycopg
import pymysql
import pytest

from support.gateway import Gateway
from support.reviews import (
    UPDATE,
    Admin,
    HeldClient,
    ReviewTokens,
    Scratch,
    cli,
    hold_update,
    wait_until,
)


def test_denial_reaches_the_client_and_the_session_stays_usable(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    bob = Admin(review_gateway, review_tokens.bob)
    held, row, review = hold_update(review_gateway, scratch, "psycopg", review_tokens.agent, bob)
    assert bob.deny(review["id"], "use the migration pipeline").status_code == 200
    held.result()
    assert isinstance(held.error, psycopg.errors.InsufficientPrivilege)  # SQLSTATE 42501
    message = str(held.error)
    assert "denied by bob" in message
    assert "use the migration pipeline" in message
    assert held.after == (1,)  # the same session answered the next query
    assert scratch.balance("postgres", row) == 100


def test_denial_over_mysql_is_an_error_1142_class(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    bob = Admin(review_gateway, review_tokens.bob)
    held, row, review = hold_update(review_gateway, scratch, "pymysql", review_tokens.agent, bob)
    assert bob.deny(review["id"], "not now").status_code == 200
    held.result()
    assert isinstance(held.error, pymysql.err.OperationalError)
    assert held.error.args[0] == 1142
    assert "not now" in held.error.args[1]
    assert held.after == (1,)
    assert scratch.balance("mysql", row) == 100


def test_timeout_refuses_after_the_rules_review_timeout(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    started = time.monotonic()
    held, row, review = hold_update(
        review_gateway, scratch, "psycopg", review_tokens.agent_timeout, alice
    )
    assert review["rule"] == "slow-review"
    held.result(timeout=10)
    waited = time.monotonic() - started
    assert 1.5 < waited < 6
    assert isinstance(held.error, psycopg.errors.InsufficientPrivilege)
    assert "expired" in str(held.error)
    assert held.after == (1,)
    assert alice.review(review["id"])["status"] == "expired"
    assert alice.approve(review["id"]).status_code == 409  # too late: nothing to release
    assert scratch.balance("postgres", row) == 100


def test_the_requester_cannot_approve_their_own_command(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    requester = Admin(review_gateway, review_tokens.agent_dba)  # in dba, yet the requester
    held, row, review = hold_update(
        review_gateway, scratch, "psycopg", review_tokens.agent_dba, requester
    )
    response = requester.approve(review["id"])
    assert response.status_code == 403
    assert "own command" in response.json()["detail"]
    refused = cli(review_gateway, review_tokens.agent_dba, "approve", review["id"])
    assert refused.returncode != 0
    assert "403" in refused.stderr
    assert "the requester cannot review their own command" in refused.stderr
    assert not held.done
    denied = cli(review_gateway, review_tokens.alice, "deny", review["id"], "--reason", "self")
    assert denied.stdout.strip() == f"{review['id']}: denied", denied.stderr
    held.result()
    assert "denied by alice" in str(held.error)
    assert scratch.balance("postgres", row) == 100


def test_a_reviewer_outside_review_by_is_refused(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    mallory = Admin(review_gateway, review_tokens.mallory)
    held, row, review = hold_update(
        review_gateway, scratch, "psycopg", review_tokens.agent, mallory
    )
    response = mallory.approve(review["id"])
    assert response.status_code == 403
    assert "dba" in response.json()["detail"]
    assert mallory.deny(review["id"], "x").status_code == 403
    unauthenticated = Admin(review_gateway, review_tokens.mallory)
    unauthenticated.token = type(review_tokens.mallory)("nobody", (), "wgt_not-a-token")
    assert unauthenticated.approve(review["id"]).status_code == 401
    alice = Admin(review_gateway, review_tokens.alice)
    assert alice.approve("rv_000000000000").status_code == 404
    assert alice.deny(review["id"], "").status_code == 422  # a denial needs a reason
    assert alice.approve(review["id"], scope="grant", duration="soon").status_code == 422
    schema = httpx.get(review_gateway.admin_url + "/openapi.json", timeout=5).json()
    assert "/api/reviews/{review_id}/approve" in schema["paths"]
    assert not held.done
    assert mallory.review(review["id"])["approvals"] == []
    Admin(review_gateway, review_tokens.alice).deny(review["id"], "cleanup")
    held.result()
    assert scratch.balance("postgres", row) == 100


def test_cli_lists_and_shows_pending_reviews(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    held, _, review = hold_update(review_gateway, scratch, "psycopg", review_tokens.agent, alice)
    listed = cli(review_gateway, review_tokens.alice, "list")
    assert listed.returncode == 0, listed.stderr
    assert review["id"] in listed.stdout
    shown = cli(review_gateway, review_tokens.alice, "show", review["id"])
    assert shown.returncode == 0, shown.stderr
    assert review["statement"] in shown.stdout
    assert "agent-1" in shown.stdout
    assert alice.deny(review["id"], "no").status_code == 200
    held.result()


def test_min_approvals_two_needs_two_reviewers(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    bob = Admin(review_gateway, review_tokens.bob)
    held, row, review = hold_update(
        review_gateway, scratch, "psycopg", review_tokens.agent_quorum, alice
    )
    assert review["min_approvals"] == 2
    first = alice.approve(review["id"], reason="one")
    assert first.json()["status"] == "pending"
    assert alice.approve(review["id"]).json()["status"] == "pending"  # alice twice is still one
    time.sleep(0.3)
    assert not held.done
    assert scratch.balance("postgres", row) == 100
    assert bob.approve(review["id"], reason="two").json()["status"] == "approved"
    held.result()
    assert held.error is None
    assert held.value == 110
    final = alice.review(review["id"])
    assert [a["reviewer"] for a in final["approvals"]] == ["alice", "bob"]


def test_a_time_boxed_grant_passes_the_same_shape_only(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    agent = review_tokens.agent_grant
    held, _, review = hold_update(review_gateway, scratch, "psycopg", agent, alice)
    response = alice.approve(review["id"], scope="grant", duration="1m")
    assert response.json()["scope"] == "grant"
    assert response.json()["grant_until"] > response.json()["decided_at"]
    held.result()
    assert held.value == 110
    other_row = scratch.new_row("postgres")
    again = HeldClient(
        review_gateway, "psycopg", agent, UPDATE["postgres"].format(row=other_row), scratch.name
    )
    again.start().result(timeout=5)  # same shape, other literal: no new review
    assert again.error is None
    assert again.value == 110
    different = f"UPDATE accounts SET balance = 0 WHERE id = {other_row}"
    held_again = HeldClient(review_gateway, "psycopg", agent, different, scratch.name).start()
    second = alice.wait_pending(different)
    assert second["id"] != review["id"]
    alice.deny(second["id"], "a different shape needs its own review")
    held_again.result()
    assert held_again.error is not None
    assert scratch.balance("postgres", other_row) == 110
    requests = [
        e for e in review_gateway.events("review_requested") if e["requester"] == "agent-grant"
    ]
    assert len(requests) == 2


@pytest.mark.parametrize("client", ["psql", "mariadb"])
def test_a_client_that_leaves_cancels_its_review(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens, client: str
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    protocol = "postgres" if client == "psql" else "mysql"
    row = scratch.new_row(protocol)
    sql = UPDATE[protocol].format(row=row)
    secret = review_tokens.agent.secret
    if client == "psql":
        dsn = review_gateway.dsn("pg", token=secret, dbname=scratch.name)
        argv = ["psql", dsn, "-X", "-c", sql]
    else:
        port = review_gateway.port("my")
        argv = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", "-uagent", f"-p{secret}"]
        argv += [scratch.name, "-e", sql]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        review = alice.wait_pending(sql)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    cancelled = alice.wait_status(review["id"], "cancelled", timeout=5)
    assert cancelled["decided_by"] == "client"
    assert alice.approve(review["id"]).status_code == 409
    wait_until(
        lambda: any(
            e.get("review") == review["id"] for e in review_gateway.events("review_cancelled")
        )
    )
    assert scratch.balance(protocol, row) == 100
