"""ReviewService on an in-memory SQLite store with an injected clock (no servers)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from support.review_harness import (
    AGENT,
    ALICE,
    BOB,
    CAROL,
    MALLORY,
    FeedHub,
    Harness,
    harness,
    request,
)
from wardgate.reviews.model import Review, ReviewError, ReviewScope, ReviewStatus
from wardgate.reviews.service import ReviewService, ReviewSettings, process_alive


def run(test: Callable[[Harness], Awaitable[None]]) -> None:
    async def main() -> None:
        async with harness() as h:
            await test(h)

    asyncio.run(main())


async def held(service: ReviewService, **changes: Any) -> tuple[Review, asyncio.Task[Review]]:
    review = await service.request(request(**changes))
    waiter = asyncio.create_task(service.wait(review))
    await asyncio.sleep(0)
    return review, waiter


# -- approve, deny, timeout ----------------------------------------------------------


def test_approval_releases_the_waiter_and_is_evidenced() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        assert h.metric("wardgate_reviews_pending") == 1
        approved = await service.approve(review.id, ALICE, "looks fine")
        assert approved.status is ReviewStatus.APPROVED
        done = await asyncio.wait_for(waiter, 1)
        assert (done.status, done.decided_by, done.decision_reason) == (
            ReviewStatus.APPROVED,
            "alice",
            "looks fine",
        )
        assert done.decided_at == h.clock.now
        assert h.metric("wardgate_reviews_pending") == 0
        assert h.metric("wardgate_reviews_total", {"outcome": "approved"}) == 1
        assert h.metric("wardgate_review_wait_seconds_count") == 1
        assert [e["review"] for e in h.events("review_requested")] == [review.id]
        audited = h.audit.events("review_approved")
        assert audited[0]["decided_by"] == "alice"
        assert audited[0]["reason"] == "looks fine"
        assert audited[0]["review_instance"] == service.instance

    run(test)


def test_denial_carries_the_reason() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        await service.deny(review.id, BOB, "not on a Friday")
        done = await asyncio.wait_for(waiter, 1)
        assert (done.status, done.decided_by, done.decision_reason) == (
            ReviewStatus.DENIED,
            "bob",
            "not on a Friday",
        )
        assert h.audit.events("review_denied")[0]["reason"] == "not on a Friday"

    run(test)


def test_timeout_expires_the_review() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service, timeout=0.05)
        done = await asyncio.wait_for(waiter, 2)
        assert (done.status, done.decided_by) == (ReviewStatus.EXPIRED, "timeout")
        assert h.audit.events("review_expired")
        with pytest.raises(ReviewError) as refused:
            await service.approve(review.id, ALICE)
        assert refused.value.status == 409
        assert "expired" in refused.value.message

    run(test)


# -- who may approve -----------------------------------------------------------------


def test_the_requester_cannot_approve_even_in_a_reviewer_group() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        with pytest.raises(ReviewError) as refused:
            await service.approve(review.id, AGENT)
        assert refused.value.status == 403
        assert "own command" in refused.value.message
        with pytest.raises(ReviewError) as refused:
            await service.deny(review.id, AGENT, "no")
        assert refused.value.status == 403
        assert (await service.get(review.id)).status is ReviewStatus.PENDING
        waiter.cancel()

    run(test)


def test_reviewers_outside_review_by_are_refused() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        with pytest.raises(ReviewError) as refused:
            await service.approve(review.id, MALLORY)
        assert refused.value.status == 403
        assert "dba" in refused.value.message
        assert (await service.get(review.id)).approvals == ()
        waiter.cancel()

    run(test)


def test_unknown_review_is_404() -> None:
    async def test(h: Harness) -> None:
        with pytest.raises(ReviewError) as missing:
            await h.service().approve("rv_nope", ALICE)
        assert missing.value.status == 404

    run(test)


def test_min_approvals_needs_distinct_reviewers() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service, min_approvals=2)
        first = await service.approve(review.id, ALICE)
        again = await service.approve(review.id, ALICE)  # the same reviewer twice counts once
        assert first.status is again.status is ReviewStatus.PENDING
        assert [a.reviewer for a in again.approvals] == ["alice"]
        assert not waiter.done()
        h.clock.advance(1)
        second = await service.approve(review.id, CAROL)
        assert second.status is ReviewStatus.APPROVED
        done = await asyncio.wait_for(waiter, 1)
        assert [a.reviewer for a in done.approvals] == ["alice", "carol"]
        assert len(h.audit.events("review_approval")) == 3

    run(test)


# -- races ---------------------------------------------------------------------------


def test_two_reviewers_racing_end_it_once() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        results = await asyncio.gather(
            service.approve(review.id, ALICE, "a"),
            service.deny(review.id, BOB, "b"),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, ReviewError)]
        done = await asyncio.wait_for(waiter, 1)
        assert done.status in (ReviewStatus.APPROVED, ReviewStatus.DENIED)
        ended = h.events("review_approved") + h.events("review_denied")
        assert len(ended) == 1  # exactly one winner, whatever the order
        assert len(errors) <= 1
        assert all(r.status is done.status for r in results if isinstance(r, Review))

    run(test)


def test_approval_racing_the_timeout_has_one_winner() -> None:
    async def test(h: Harness) -> None:
        for _ in range(5):
            service = h.service()
            review, waiter = await held(service, timeout=0.02)
            await asyncio.sleep(0.02)
            outcome = await asyncio.gather(
                service.approve(review.id, ALICE), return_exceptions=True
            )
            done = await asyncio.wait_for(waiter, 1)
            final = await service.get(review.id)
            assert done.status is final.status
            assert final.status in (ReviewStatus.APPROVED, ReviewStatus.EXPIRED)
            if isinstance(outcome[0], ReviewError):
                assert final.status is ReviewStatus.EXPIRED
        ended = h.events("review_approved") + h.events("review_expired")
        assert len(ended) == 5

    run(test)


def test_a_late_approval_never_releases_anything() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        await service.deny(review.id, BOB, "no")
        await waiter
        with pytest.raises(ReviewError) as refused:
            await service.approve(review.id, ALICE)
        assert refused.value.status == 409
        assert (await service.get(review.id)).status is ReviewStatus.DENIED

    run(test)


# -- cancellation ------------------------------------------------------------------------


def test_cancelling_the_wait_cancels_the_review() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        cancelled = await service.get(review.id)
        assert (cancelled.status, cancelled.decided_by) == (ReviewStatus.CANCELLED, "client")
        assert h.metric("wardgate_reviews_pending") == 0
        assert h.audit.events("review_cancelled")

    run(test)


def test_a_failing_notice_cancels_the_review() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review = await service.request(request())

        def broken() -> None:
            raise RuntimeError("socket gone")

        with pytest.raises(RuntimeError):
            await service.wait(review, broken)
        assert (await service.get(review.id)).status is ReviewStatus.CANCELLED
        assert h.metric("wardgate_reviews_pending") == 0

    run(test)


def test_cancel_held_answers_every_waiter() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        other = h.service()
        mine = [await held(service) for _ in range(2)]
        theirs, their_waiter = await held(other)
        await service.cancel_held()
        for _review, waiter in mine:
            done = await asyncio.wait_for(waiter, 1)
            assert (done.status, done.decided_by) == (ReviewStatus.CANCELLED, "gateway")
        assert (await other.get(theirs.id)).status is ReviewStatus.PENDING
        their_waiter.cancel()

    run(test)


def test_a_pending_review_nobody_waits_for_is_cancelled_by_the_poll() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review = await service.request(request())
        service._waiters.pop(review.id)  # as if its wait had failed without cleaning up
        await service.start()
        try:
            for _ in range(100):
                if (await service.get(review.id)).status.final:
                    break
                await asyncio.sleep(0.01)
            assert (await service.get(review.id)).status is ReviewStatus.CANCELLED
        finally:
            await service.stop()

    run(test)


# -- grants --------------------------------------------------------------------------


def test_a_grant_covers_the_same_shape_identity_and_resource_until_it_ends() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        review, waiter = await held(service)
        approved = await service.approve(review.id, ALICE, "", ReviewScope.GRANT, 600)
        await waiter
        assert approved.scope is ReviewScope.GRANT
        assert approved.grant_until == h.clock.now + 600
        grant = await service.active_grant("agent-1", "orders", "fp-update-t")
        assert grant is not None
        assert grant.id == review.id
        assert await service.active_grant("agent-1", "orders", "fp-other") is None
        assert await service.active_grant("agent-2", "orders", "fp-update-t") is None
        assert await service.active_grant("agent-1", "shop", "fp-update-t") is None
        assert await service.active_grant("agent-1", "orders", "") is None
        h.clock.advance(601)
        assert await service.active_grant("agent-1", "orders", "fp-update-t") is None

    run(test)


def test_grants_are_capped_by_max_grant_and_once_grants_nothing() -> None:
    async def test(h: Harness) -> None:
        service = h.service(settings=ReviewSettings(max_grant=60, poll_interval=0.02))
        review, waiter = await held(service)
        approved = await service.approve(review.id, ALICE, "", ReviewScope.GRANT, 3600)
        await waiter
        assert approved.grant_until == h.clock.now + 60
        once, once_waiter = await held(service, fingerprint="fp-once")
        await service.approve(once.id, ALICE)
        await once_waiter
        assert await service.active_grant("agent-1", "orders", "fp-once") is None

    run(test)


# -- several instances ---------------------------------------------------------------


def test_a_decision_on_another_instance_releases_the_holder_through_the_feed() -> None:
    async def test(h: Harness) -> None:
        hub = FeedHub()
        slow = ReviewSettings(public_url="http://gw.test", poll_interval=60)  # no poll help
        holder = h.service(feed=hub.feed(), settings=slow)
        deciders = h.service(feed=hub.feed(), settings=slow)
        await holder.start()
        await deciders.start()
        try:
            review, waiter = await held(holder)
            await deciders.approve(review.id, ALICE)
            done = await asyncio.wait_for(waiter, 1)
            assert done.status is ReviewStatus.APPROVED
            assert hub.published == [review.id]
        finally:
            await holder.stop()
            await deciders.stop()

    run(test)


def test_without_a_feed_the_poll_finds_the_decision() -> None:
    async def test(h: Harness) -> None:
        holder = h.service()
        other = h.service()
        await holder.start()
        try:
            review, waiter = await held(holder)
            await other.deny(review.id, BOB, "from elsewhere")
            done = await asyncio.wait_for(waiter, 1)
            assert done.decision_reason == "from elsewhere"
        finally:
            await holder.stop()

    run(test)


def test_orphan_sweep_single_instance_abandons_what_a_previous_run_left() -> None:
    async def test(h: Harness) -> None:
        crashed = h.service(instance="old-run")
        review = await crashed.request(request())  # never waited on: the process died
        restarted = h.service(instance="new-run")
        await restarted.start()
        try:
            swept = await restarted.get(review.id)
            assert (swept.status, swept.decided_by) == (ReviewStatus.ABANDONED, "gateway")
            assert h.audit.events("review_abandoned")[0]["review"] == review.id
            with pytest.raises(ReviewError):
                await restarted.approve(review.id, ALICE)
        finally:
            await restarted.stop()

    run(test)


def test_orphan_sweep_at_start_spares_a_live_process_sharing_the_sqlite_file() -> None:
    async def test(h: Harness) -> None:
        alive = h.service()  # its name says this host and this (running) process
        assert process_alive(alive.instance)
        held_by_live = await alive.request(request())
        gone = h.service(instance=f"{socket.gethostname()}/999999999/x")
        assert not process_alive(gone.instance)
        held_by_dead = await gone.request(request(command_id="s1-2"))
        restarted = h.service()
        await restarted.start()
        try:
            assert (await restarted.get(held_by_live.id)).status is ReviewStatus.PENDING
            assert (await restarted.get(held_by_dead.id)).status is ReviewStatus.ABANDONED
        finally:
            await restarted.stop()

    run(test)


def test_orphan_sweep_with_several_instances_spares_live_ones() -> None:
    async def test(h: Harness) -> None:
        hub = FeedHub()
        dead = h.service(instance="dead", feed=hub.feed())
        alive = h.service(instance="alive", feed=hub.feed())
        await dead.start()  # heartbeat at T0
        stale = await dead.request(request())
        h.clock.advance(100)
        await alive.start()  # heartbeat at T0 + 100
        fresh = await alive.request(request(command_id="s1-2"))
        sweeper = h.service(instance="sweeper", feed=hub.feed())
        await sweeper.start()
        try:
            assert (await sweeper.get(stale.id)).status is ReviewStatus.ABANDONED
            assert (await sweeper.get(fresh.id)).status is ReviewStatus.PENDING
        finally:
            for service in (sweeper, alive, dead):
                service._waiters.clear()
                await service.stop()

    run(test)


def test_list_and_link() -> None:
    async def test(h: Harness) -> None:
        service = h.service()
        first = await service.request(request())
        h.clock.advance(1)
        second = await service.request(request(command_id="s1-2"))
        await service.deny(first.id, BOB, "no")
        pending = await service.list_reviews("pending")
        assert [r.id for r in pending] == [second.id]
        assert [r.id for r in await service.list_reviews()] == [second.id, first.id]
        assert service.link(second.id) == f"http://gw.test/ui/reviews/{second.id}"
        service.bind_url("127.0.0.1:9")
        assert service.link("x").startswith("http://gw.test/")  # a configured URL wins
        payload = second.to_json()
        assert payload["statement"] == "UPDATE t SET v = 1 WHERE id = 1"
        assert payload["review_by"] == ["dba"]
        assert payload["status"] == "pending"

    run(test)
