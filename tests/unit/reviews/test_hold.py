"""`hold_for_review`: a `review` verdict becomes the final allow or deny."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from support.review_harness import ALICE, BOB, Harness, harness
from wardgate.classify.model import Classification, Kind
from wardgate.gate.hold import HoldContext, hold_for_review
from wardgate.policy.model import Rule
from wardgate.reviews.model import ReviewError, ReviewScope, ReviewStatus
from wardgate.reviews.service import ReviewService
from wardgate.seam import Action, ClientInfo, Command, Decision, HoldNotice, Identity
from wardgate.store import StoreError

CONTEXT = HoldContext(
    session_id="s1",
    resource="orders",
    protocol="postgres",
    identity=Identity("agent-1", frozenset({"agents"})),
    client=ClientInfo("127.0.0.1", 5555),
    database="app",
)
COMMAND = Command(operation="query", text="UPDATE t SET v = 2 WHERE id = 1", dialect="postgres")
DECISION = Decision(Action.REVIEW, rule="agents", kind="write", reason="write", command_id="s1-1")
RULE = Rule(name="agents", review=("write",), review_by=("dba",), review_timeout=30)


def run(test: Callable[[Harness], Awaitable[None]]) -> None:
    async def main() -> None:
        async with harness() as h:
            await test(h)

    asyncio.run(main())


async def first_pending(service: ReviewService) -> str:
    for _ in range(200):
        found = await service.list_reviews("pending")
        if found:
            return found[0].id
        await asyncio.sleep(0.005)
    raise AssertionError("nothing was held")


def test_approval_allows_and_names_the_approver_and_notice() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        notices: list[HoldNotice] = []
        hold = asyncio.create_task(
            hold_for_review(service, CONTEXT, COMMAND, DECISION, None, RULE, notices.append)
        )
        review_id = await first_pending(service)
        review = await service.get(review_id)
        assert review.request.statement == COMMAND.text
        assert review.request.review_by == ("dba",)
        assert review.request.timeout == 30
        assert review.request.client == "127.0.0.1:5555"
        assert review.request.database == "app"
        await service.approve(review_id, ALICE, "ok")
        decision = await asyncio.wait_for(hold, 1)
        assert decision.action is Action.ALLOW
        assert (decision.review_id, decision.approved_by) == (review_id, ("alice",))
        assert decision.command_id == "s1-1"
        assert decision.rule == "agents"
        [notice] = notices
        assert notice.review_id == review_id
        assert notice.url == f"http://gw.test/ui/reviews/{review_id}"
        assert review_id in notice.message
        assert notice.url in notice.message

    run(test)


def test_denial_and_expiry_deny_with_the_reason() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        hold = asyncio.create_task(
            hold_for_review(service, CONTEXT, COMMAND, DECISION, None, RULE, None)
        )
        review_id = await first_pending(service)
        await service.deny(review_id, BOB, "use the migration tool")
        decision = await asyncio.wait_for(hold, 1)
        assert decision.action is Action.DENY
        assert decision.review_id == review_id
        assert "denied by bob" in decision.reason
        assert "use the migration tool" in decision.reason
        quick = RULE.model_copy(update={"review_timeout": 0.05})
        decision = await hold_for_review(service, CONTEXT, COMMAND, DECISION, None, quick, None)
        assert decision.action is Action.DENY
        assert "expired" in decision.reason
        assert "timed out" in decision.reason

    run(test)


def test_a_rule_without_reviewers_refuses_at_once() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        lonely = Rule(name="agents", review=("write",))
        for rule in (lonely, None):
            decision = await hold_for_review(service, CONTEXT, COMMAND, DECISION, None, rule, None)
            assert decision.action is Action.DENY
            assert "review_by" in decision.reason
        assert await service.list_reviews() == []

    run(test)


def test_an_active_grant_allows_without_a_new_review() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        shape = _classification("fp-1")
        hold = asyncio.create_task(
            hold_for_review(service, CONTEXT, COMMAND, DECISION, shape, RULE, None)
        )
        review_id = await first_pending(service)
        await service.approve(review_id, ALICE, "", ReviewScope.GRANT, 300)
        await hold
        again = await hold_for_review(service, CONTEXT, COMMAND, DECISION, shape, RULE, None)
        assert again.action is Action.ALLOW
        assert again.review_id == review_id
        assert "grant" in again.reason
        assert len(await service.list_reviews()) == 1
        other = asyncio.create_task(
            hold_for_review(
                service, CONTEXT, COMMAND, DECISION, _classification("fp-2"), RULE, None
            )
        )
        other_id = await first_pending(service)
        assert other_id != review_id
        await service.deny(other_id, BOB, "different shape")
        assert (await other).action is Action.DENY
        assert (await service.get(other_id)).status is ReviewStatus.DENIED

    run(test)


def test_a_failing_store_fails_closed() -> None:
    class Broken:
        async def active_grant(self, *args: object) -> None:
            raise StoreError("sqlite: disk I/O error")

    async def test(h: Harness) -> None:
        with pytest.raises(ReviewError) as failed:
            await hold_for_review(
                Broken(),  # type: ignore[arg-type]
                CONTEXT,
                COMMAND,
                DECISION,
                None,
                RULE,
                None,
            )
        assert failed.value.status == 503
        assert "unavailable" in failed.value.message

    run(test)


def _classification(fingerprint: str) -> Classification:
    return Classification(Kind.WRITE, frozenset(), (), (), (), fingerprint)
