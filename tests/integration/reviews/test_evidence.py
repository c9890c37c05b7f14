"""Reviewers are told (webhooks), and every review leaves evidence: log, audit, metrics."""

from __future__ import annotations

import time

from support.gateway import Gateway
from support.reviews import (
    Admin,
    ReviewTokens,
    Scratch,
    WebhookReceiver,
    hold_update,
    metric,
    wait_until,
)


def test_webhooks_slack_generic_retried_and_a_dead_one_never_delays(
    review_gateway: Gateway,
    scratch: Scratch,
    review_tokens: ReviewTokens,
    webhooks: WebhookReceiver,
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    started = time.monotonic()
    held, _, review = hold_update(review_gateway, scratch, "psycopg", review_tokens.agent, alice)
    assert time.monotonic() - started < 3  # held and listed at once, /hang notwithstanding
    link = f"{review_gateway.admin_url}/ui/reviews/{review['id']}"
    [slack] = webhooks.wait_for("/slack", review["id"])
    assert review["statement"] in slack.body["text"]
    assert link in slack.body["text"]
    assert set(slack.body) == {"text"}
    [generic] = webhooks.wait_for("/generic", review["id"])
    assert generic.body["event"] == "review_requested"
    assert generic.body["url"] == link
    assert generic.body["review"]["statement"] == review["statement"]
    assert generic.body["review"]["requester"] == "agent-1"
    flaky = webhooks.wait_for("/flaky", review["id"], count=2)  # a 500 first, then retried
    assert flaky[1].at - flaky[0].at >= 0.4
    assert len(webhooks.wait_for("/hang", review["id"])) == 1
    assert alice.approve(review["id"]).status_code == 200
    held.result()
    assert held.value == 110


def test_review_events_are_logged_audited_and_counted(
    review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    bob = Admin(review_gateway, review_tokens.bob)
    waits_before = metric(review_gateway, "wardgate_review_wait_seconds_count")
    approved_held, _, approved = hold_update(
        review_gateway, scratch, "psycopg", review_tokens.agent, alice
    )
    denied_held, _, denied = hold_update(
        review_gateway, scratch, "pymysql", review_tokens.agent, alice
    )
    expired_held, _, expired = hold_update(
        review_gateway, scratch, "psycopg", review_tokens.agent_timeout, alice
    )
    assert metric(review_gateway, "wardgate_reviews_pending") >= 3
    alice.approve(approved["id"], reason="checked the row")
    bob.deny(denied["id"], "wrong table")
    for held in (approved_held, denied_held, expired_held):
        held.result()
    ended = {
        approved["id"]: ("review_approved", "alice", "checked the row"),
        denied["id"]: ("review_denied", "bob", "wrong table"),
        expired["id"]: ("review_expired", "timeout", "the review timed out"),
    }
    for review_id, (event, who, why) in ended.items():
        [logged] = [e for e in review_gateway.events(event) if e["review"] == review_id]
        assert (logged["decided_by"], logged["reason"]) == (who, why)
        assert logged["decided_at"] > 0
        requested = review_gateway.events("review_requested")
        assert any(e["review"] == review_id for e in requested)
    audit = alice.audit()
    for review_id, (event, who, why) in ended.items():
        records = [r for r in audit if r.get("type") == "review" and r.get("review") == review_id]
        events = [r["event"] for r in records]
        assert events[0] == "review_requested"
        assert events[-1] == event
        assert set(events[1:-1]) <= {"review_approval"}  # each reviewer's approval
        assert (records[-1]["decided_by"], records[-1]["reason"]) == (who, why)
        assert records[0]["requester"] in ("agent-1", "agent-timeout")
    commands = [r for r in audit if r.get("review_id") == approved["id"]]
    assert commands, "the released command's audit record names its review"
    wait_until(
        lambda: metric(review_gateway, "wardgate_review_wait_seconds_count") >= waits_before + 3
    )
    exposition = review_gateway_metrics(review_gateway)
    assert 'wardgate_reviews_total{outcome="approved"}' in exposition
    assert 'wardgate_reviews_total{outcome="expired"}' in exposition
    assert "wardgate_reviews_pending" in exposition


def review_gateway_metrics(gateway: Gateway) -> str:
    import httpx

    return httpx.get(gateway.admin_url + "/metrics", timeout=5).text
