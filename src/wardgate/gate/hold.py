"""Holding a `review` decision until a reviewer decides, inside the live session.

The policy said `review`; this turns that into the final allow or deny. An
approved time-boxed grant for the same fingerprint, identity and resource allows
at once. Otherwise a review is created, the plugin is told (`on_hold`, so a
PostgreSQL client sees a NoticeResponse naming the review and where to approve
it), and the command waits. Approval releases exactly the command that was
reviewed; denial, expiry or cancellation refuse it with the reviewer's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from wardgate.classify.model import Classification
from wardgate.policy.model import Rule
from wardgate.reviews.model import Review, ReviewError, ReviewRequest, ReviewStatus
from wardgate.reviews.service import ReviewService
from wardgate.seam import Action, ClientInfo, Command, Decision, HoldCallback, HoldNotice, Identity
from wardgate.store import StoreError


@dataclass(frozen=True, slots=True)
class HoldContext:
    session_id: str
    resource: str
    protocol: str
    identity: Identity
    client: ClientInfo
    database: str


def _request(
    context: HoldContext,
    command: Command,
    decision: Decision,
    classification: Classification | None,
    rule: Rule | None,
) -> ReviewRequest:
    return ReviewRequest(
        requester=context.identity.name,
        requester_groups=tuple(sorted(context.identity.groups)),
        resource=context.resource,
        protocol=context.protocol,
        session_id=context.session_id,
        command_id=decision.command_id,
        statement=command.text,
        fingerprint=classification.fingerprint if classification else "",
        kind=decision.kind,
        flags=tuple(sorted(decision.flags)),
        tables=tuple(t.name for t in classification.tables) if classification else (),
        rule=decision.rule,
        reason=decision.reason,
        review_by=rule.review_by if rule else (),
        min_approvals=rule.min_approvals if rule else 1,
        timeout=rule.review_timeout if rule else 300.0,
        client=f"{context.client.address}:{context.client.port}",
        database=command.database or context.database,
    )


def _final(decision: Decision, review: Review) -> Decision:
    approvers = tuple(a.reviewer for a in review.approvals)
    if review.status is ReviewStatus.APPROVED:
        reason = f"approved by {', '.join(approvers) or review.decided_by} (review {review.id})"
        return replace(
            decision, action=Action.ALLOW, reason=reason, review_id=review.id, approved_by=approvers
        )
    why = review.decision_reason or review.status.value
    if review.status is ReviewStatus.DENIED:
        reason = f"denied by {review.decided_by} (review {review.id}): {why}"
    else:
        reason = f"review {review.id} {review.status.value}: {why}"
    return replace(decision, action=Action.DENY, reason=reason, review_id=review.id)


async def hold_for_review(
    reviews: ReviewService,
    context: HoldContext,
    command: Command,
    decision: Decision,
    classification: Classification | None,
    rule: Rule | None,
    on_hold: HoldCallback | None,
) -> Decision:
    """The final decision for a `review` verdict; a failing state store denies (fail closed)."""
    if rule is None or not rule.review_by:  # nobody could approve: say so now, not at timeout
        reason = f'rule "{decision.rule}" needs a review but names no reviewers (review_by)'
        return replace(decision, action=Action.DENY, reason=reason)
    try:
        return await _hold(reviews, context, command, decision, classification, rule, on_hold)
    except StoreError as exc:
        raise ReviewError(f"the review queue is unavailable: {exc}", 503) from exc


async def _hold(
    reviews: ReviewService,
    context: HoldContext,
    command: Command,
    decision: Decision,
    classification: Classification | None,
    rule: Rule | None,
    on_hold: HoldCallback | None,
) -> Decision:
    fingerprint = classification.fingerprint if classification else ""
    grant = await reviews.active_grant(context.identity.name, context.resource, fingerprint)
    if grant is not None:
        reason = f"grant from review {grant.id} by {grant.decided_by}"
        return replace(decision, action=Action.ALLOW, reason=reason, review_id=grant.id)
    review = await reviews.request(_request(context, command, decision, classification, rule))
    notice = _notice(reviews, review, decision)
    notify = (lambda: on_hold(notice)) if on_hold is not None else None
    return _final(decision, await reviews.wait(review, notify))


def _notice(reviews: ReviewService, review: Review, decision: Decision) -> HoldNotice:
    url = reviews.link(review.id)
    message = (
        f'wardgate: this command is held for review {review.id} (rule "{decision.rule}"); '
        f"approve or deny at {url} or with `wardgate reviews approve {review.id}`"
    )
    return HoldNotice(review.id, url, message)
