"""Reviewers decide in the web page under /ui/; the waiting clients get the answer."""

from __future__ import annotations

from typing import Any

import pytest

from support.gateway import Gateway, Token
from support.reviews import PROTOCOL, Admin, ReviewTokens, Scratch, hold_update

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def sign_in(page: Any, url: str, token: Token) -> None:
    page.goto(url)
    page.fill("#token", token.secret)
    page.click("#login button[type=submit]")


def card(page: Any, review_id: str) -> Any:
    section = page.locator(f"#review-{review_id}")
    section.wait_for()
    return section


@pytest.mark.parametrize("client", ["psql", "psycopg", "pymysql"])
def test_approved_in_the_page(
    page: Any, review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens, client: str
) -> None:
    alice = Admin(review_gateway, review_tokens.alice)
    held, row, review = hold_update(review_gateway, scratch, client, review_tokens.agent, alice)
    sign_in(page, review_gateway.admin_url + "/ui/", review_tokens.alice)
    section = card(page, review["id"])
    text = section.inner_text()
    for shown in ("agent-1", review["resource"], "write", "agents", "accounts"):
        assert shown in text
    assert section.locator("pre.sql").inner_text() == review["statement"]
    section.locator("input.reason").fill("ok from the page")
    section.locator("button.approve").click()
    page.locator("#message", has_text=f"{review['id']} is now approved").wait_for()
    held.result()
    assert held.error is None, held.error
    assert held.value == (110 if PROTOCOL[client] == "postgres" else 1)
    assert scratch.balance(PROTOCOL[client], row) == 110
    final = alice.review(review["id"])
    assert (final["decided_by"], final["decision_reason"]) == ("alice", "ok from the page")


def test_denied_from_the_notice_link_with_a_reason(
    page: Any, review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    bob = Admin(review_gateway, review_tokens.bob)
    held, row, review = hold_update(review_gateway, scratch, "psycopg", review_tokens.agent, bob)
    link = f"{review_gateway.admin_url}/ui/reviews/{review['id']}"
    sign_in(page, link, review_tokens.bob)  # the URL the client's NoticeResponse named
    section = card(page, review["id"])
    section.locator("button.deny").click()  # no reason yet: the page asks for one
    page.locator("#message.error", has_text="give a reason").wait_for()
    assert not held.done
    section.locator("input.reason").fill("needs a ticket")
    section.locator("button.deny").click()
    page.locator("#message", has_text=f"{review['id']} is now denied").wait_for()
    held.result()
    assert "needs a ticket" in str(held.error)
    assert held.after == (1,)
    assert scratch.balance("postgres", row) == 100
    page.locator(f"#review-{review['id']}[data-status=denied]").wait_for()  # re-rendered


def test_the_page_shows_why_a_reviewer_is_refused(
    page: Any, review_gateway: Gateway, scratch: Scratch, review_tokens: ReviewTokens
) -> None:
    requester = review_tokens.agent_dba
    alice = Admin(review_gateway, review_tokens.alice)
    held, row, review = hold_update(review_gateway, scratch, "psycopg", requester, alice)
    sign_in(page, review_gateway.admin_url + "/ui/", requester)
    card(page, review["id"]).locator("button.approve").click()
    page.locator("#message.error", has_text="cannot review their own command").wait_for()
    assert alice.review(review["id"])["status"] == "pending"
    alice.deny(review["id"], "cleanup")
    held.result()
    assert scratch.balance("postgres", row) == 100
