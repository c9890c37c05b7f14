"""`ReviewService`: create reviews, wait for them, let authorized reviewers decide.

Theory of operation. A held command waits on a future keyed by its review id.
The future resolves when (a) a reviewer decides through this instance, (b) the
change feed (LISTEN/NOTIFY) or the poll loop sees the review end in the store
because another instance decided it, (c) the rule's timeout passes (the review is
marked `expired`), or (d) the waiting connection goes away (the waiter is
cancelled and the review marked `cancelled`). Every end is a conditional update,
so exactly one of them wins. Pending reviews of an instance that stopped beating
are marked `abandoned`; a graceful shutdown cancels its own; a pending review of
this instance that nobody waits on any more (its wait failed) is cancelled by the
poll loop, so a later approval can never release anything.

Every ending is written to the operator log and, when an audit hook is given
(`Evidence.review`), to the audit trail: who, when, why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.reviews.feed import ChangeFeed, LocalFeed
from wardgate.reviews.model import (
    Approval,
    Review,
    ReviewError,
    ReviewRequest,
    ReviewScope,
    ReviewStatus,
)
from wardgate.reviews.notify import Notifier
from wardgate.reviews.repository import ReviewRepository
from wardgate.seam import Identity
from wardgate.store import StoreError

Clock = Callable[[], float]


def instance_name() -> str:
    """`host/pid/random`: unique per run, and tells a sweeper on the same host who is alive."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"


def process_alive(instance: str) -> bool:
    """Whether `instance` (an `instance_name()`) is a running process on this host."""
    host, _, rest = instance.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


class ReviewAudit(Protocol):
    """Where review events are audited (`wardgate.audit.evidence.Evidence`)."""

    def review(self, event: str, **fields: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    public_url: str = ""  # base of the admin listener as reviewers reach it (see bind_url)
    poll_interval: float = 1.0
    heartbeat_interval: float = 5.0
    max_grant: float = 8 * 3600.0


class ReviewService:
    def __init__(
        self,
        repository: ReviewRepository,
        settings: ReviewSettings,
        notifier: Notifier,
        metrics: Metrics,
        log: EventLog,
        feed: ChangeFeed | None = None,
        clock: Clock = time.time,
        instance: str | None = None,
        audit: ReviewAudit | None = None,
    ) -> None:
        self._repository = repository
        self._settings = settings
        self._notifier = notifier
        self._metrics = metrics
        self._log = log
        self._feed = feed or LocalFeed()
        self._clock = clock
        self.instance = instance or instance_name()
        self._public_url = settings.public_url
        self._audit = audit
        self._waiters: dict[str, asyncio.Future[Review]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._refreshes: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Announce this instance and mark reviews orphaned by a previous run.

        A store that is down does not stop the gateway: review requests then fail
        closed (the command is refused) until it is back.
        """
        try:
            await self._repository.heartbeat(self.instance, self._clock())
            await self._sweep_orphans(stale_after=0.0 if self._single_instance else None)
            await self._feed.start(self._on_change)
        except Exception as exc:
            self._log.emit("reviews_store_unavailable", level="error", error=str(exc))
        self._notifier.start()
        self._tasks = [
            asyncio.create_task(self._poll_loop()),
            asyncio.create_task(self._heartbeat_loop()),
        ]

    @property
    def _single_instance(self) -> bool:
        return isinstance(self._feed, LocalFeed)

    async def cancel_held(self, reason: str = "the gateway is shutting down") -> None:
        """End every review held here, so waiting clients get an answer now."""
        with contextlib.suppress(Exception):
            for review_id in await self._repository.pending_of(self.instance):
                await self.cancel(review_id, "gateway", reason)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.cancel_held()
        await self._feed.stop()
        await self._notifier.stop()

    # -- holding a command ---------------------------------------------------------------

    def bind_url(self, admin_address: str) -> None:
        """Without a configured public URL, point reviewers at the bound admin address."""
        self._public_url = self._settings.public_url or f"http://{admin_address}"

    def link(self, review_id: str) -> str:
        base = self._public_url or self._settings.public_url
        return f"{base.rstrip('/')}/ui/reviews/{review_id}"

    async def active_grant(self, requester: str, resource: str, fingerprint: str) -> Review | None:
        if not fingerprint:
            return None
        return await self._repository.active_grant(requester, resource, fingerprint, self._clock())

    async def request(self, request: ReviewRequest) -> Review:
        now = self._clock()
        review = Review(
            id="rv_" + secrets.token_hex(6),
            request=request,
            status=ReviewStatus.PENDING,
            created_at=now,
            expires_at=now + request.timeout,
            instance=self.instance,
        )
        # The waiter exists before the row does: a decision can never find no one to wake.
        self._waiters[review.id] = asyncio.get_running_loop().create_future()
        try:
            await self._repository.insert(review)
        except BaseException:
            self._waiters.pop(review.id, None)
            raise
        self._metrics.reviews_pending.inc()
        self._event("review_requested", review)
        self._notifier.review_requested(review, self.link(review.id))
        return review

    async def wait(self, review: Review, notify: Callable[[], None] | None = None) -> Review:
        """Wait for the review to end; cancelling the wait cancels the review.

        `notify` (telling the client it is held) runs first; if it or the wait
        fails, the review is cancelled so that nothing can release it later.
        """
        future = self._waiters.get(review.id)
        if future is None:
            raise ReviewError(f"review {review.id} is not held here", 404)
        started = time.monotonic()
        try:
            if notify is not None:
                notify()
            return await self._until_decided(review, future)
        except asyncio.CancelledError:
            await self._cancel_quietly(review.id, "client", "the client went away")
            raise
        except Exception as exc:
            await self._cancel_quietly(review.id, "gateway", f"the hold failed: {exc}")
            raise
        finally:
            self._waiters.pop(review.id, None)
            self._metrics.reviews_pending.dec()
            self._metrics.review_wait_seconds.observe(time.monotonic() - started)

    async def _until_decided(self, review: Review, future: asyncio.Future[Review]) -> Review:
        remaining = max(0.0, review.expires_at - self._clock())
        try:
            return await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            await self._end(review.id, ReviewStatus.EXPIRED, "timeout", "the review timed out")
            if not future.done():
                raise ReviewError(f"review {review.id} is gone from the store", 500) from None
            return future.result()

    async def _cancel_quietly(self, review_id: str, by: str, reason: str) -> None:
        """Cancel, surviving a second cancellation; if the store fails, the poll loop retries."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self.cancel(review_id, by, reason))

    async def cancel(self, review_id: str, by: str, reason: str) -> None:
        """End a pending review as `cancelled` (its command will never run)."""
        await self._end(review_id, ReviewStatus.CANCELLED, by, reason)

    # -- reviewers -------------------------------------------------------------------

    async def get(self, review_id: str) -> Review:
        review = await self._repository.get(review_id)
        if review is None:
            raise ReviewError(f"no review {review_id}", 404)
        return review

    async def list_reviews(self, status: str | None = None) -> list[Review]:
        return await self._repository.list_reviews(status)

    def _authorize(self, review: Review, reviewer: Identity) -> None:
        if review.status.final:
            raise ReviewError(f"review {review.id} is already {review.status.value}", 409)
        if reviewer.name == review.request.requester:
            raise ReviewError("the requester cannot review their own command", 403)
        allowed = set(review.request.review_by)
        if not allowed or not (reviewer.groups & allowed):
            needed = ", ".join(sorted(allowed)) or "none configured"
            raise ReviewError(f"{reviewer.name} is not in a reviewer group ({needed})", 403)

    async def approve(
        self,
        review_id: str,
        reviewer: Identity,
        reason: str = "",
        scope: ReviewScope = ReviewScope.ONCE,
        grant_seconds: float | None = None,
    ) -> Review:
        review = await self.get(review_id)
        self._authorize(review, reviewer)
        now = self._clock()
        count = await self._repository.add_approval(review_id, Approval(reviewer.name, now, reason))
        self._record(
            "review_approval", review=review_id, reviewer=reviewer.name, count=count, reason=reason
        )
        if count < review.request.min_approvals:
            return await self.get(review_id)
        grant_until = 0.0
        if scope is ReviewScope.GRANT:
            duration = min(grant_seconds or self._settings.max_grant, self._settings.max_grant)
            grant_until = now + duration
        await self._end(review_id, ReviewStatus.APPROVED, reviewer.name, reason, scope, grant_until)
        return await self.get(review_id)

    async def deny(self, review_id: str, reviewer: Identity, reason: str) -> Review:
        review = await self.get(review_id)
        self._authorize(review, reviewer)
        await self._end(review_id, ReviewStatus.DENIED, reviewer.name, reason)
        return await self.get(review_id)

    # -- endings -------------------------------------------------------------------

    async def _end(
        self,
        review_id: str,
        status: ReviewStatus,
        by: str,
        reason: str,
        scope: ReviewScope = ReviewScope.ONCE,
        grant_until: float = 0.0,
    ) -> None:
        won = await self._repository.finish(
            review_id, status, by, self._clock(), reason, scope, grant_until
        )
        review = await self._repository.get(review_id)
        if review is None:
            return
        if won:
            self._metrics.reviews.labels(status.value).inc()
            self._event(f"review_{status.value}", review)
        self._resolve(review)
        if won:
            await self._publish(review_id)

    async def _publish(self, review_id: str) -> None:
        """Tell the other instances; if that fails, their poll loop still finds out."""
        try:
            await self._feed.publish(review_id)
        except Exception as exc:
            self._log.emit(
                "review_publish_failed", level="warning", review=review_id, error=str(exc)
            )

    def _resolve(self, review: Review) -> None:
        future = self._waiters.get(review.id)
        if future is not None and review.status.final and not future.done():
            future.set_result(review)

    def _on_change(self, review_id: str) -> None:
        if review_id in self._waiters:
            task = asyncio.get_running_loop().create_task(self._refresh(review_id))
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)

    async def _refresh(self, review_id: str) -> None:
        review = await self._repository.get(review_id)
        if review is not None:
            self._resolve(review)

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.poll_interval)
            with contextlib.suppress(StoreError):
                await self._poll()

    async def _poll(self) -> None:
        """Pick up decisions made elsewhere; end what expired or lost its waiter here."""
        for review_id in list(self._waiters):
            await self._refresh(review_id)
        for review_id in await self._repository.expired(self._clock()):
            if review_id in self._waiters:  # held elsewhere: its holder expires it
                await self._end(review_id, ReviewStatus.EXPIRED, "timeout", "the review timed out")
        for review_id in await self._repository.pending_of(self.instance):
            if review_id not in self._waiters:  # its wait failed: nothing can release it
                await self.cancel(review_id, "gateway", "no connection waits for it any more")

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_interval)
            with contextlib.suppress(Exception):
                await self._repository.heartbeat(self.instance, self._clock())
                await self._sweep_orphans()

    async def _sweep_orphans(self, stale_after: float | None = None) -> None:
        """Abandon the pending reviews of instances that stopped beating.

        At start with SQLite (`stale_after=0`) every other instance's review is a
        candidate at once — a previous run left it — except those of a process
        still alive on this host (several processes may share one SQLite file).
        """
        window = self._settings.heartbeat_interval * 6 if stale_after is None else stale_after
        stale_before = self._clock() - window
        for review_id, holder in await self._repository.orphaned(self.instance, stale_before):
            if stale_after is not None and process_alive(holder):
                continue
            await self._end(
                review_id, ReviewStatus.ABANDONED, "gateway", "the instance holding it stopped"
            )

    def _event(self, name: str, review: Review) -> None:
        request = review.request
        self._record(
            name,
            review=review.id,
            requester=request.requester,
            resource=request.resource,
            session=request.session_id,
            command_id=request.command_id,
            rule=request.rule,
            kind=request.kind,
            fingerprint=request.fingerprint,
            decided_by=review.decided_by,
            decided_at=review.decided_at or None,
            reason=review.decision_reason,
            approvals=[a.reviewer for a in review.approvals],
            scope=review.scope.value,
            grant_until=review.grant_until or None,
        )

    def _record(self, name: str, **fields: Any) -> None:
        """The operator log and, when configured, the audit trail."""
        self._log.emit(name, **fields)
        if self._audit is not None:
            try:
                self._audit.review(name, review_instance=self.instance, **fields)
            except Exception as exc:  # the audit log counts its own failures
                self._log.emit("review_audit_failed", level="error", error=str(exc))
