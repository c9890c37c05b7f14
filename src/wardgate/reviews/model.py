"""What a review is: the held command, who may decide, and how it ended.

A review is created `pending` when policy says `review`; it ends exactly once as
`approved`, `denied`, `expired` (its rule's timeout passed), `cancelled` (the
client went away or the gateway stopped) or `abandoned` (the instance holding it
died). Only `approved` releases the command, and only to the connection that is
still holding it — nothing runs later by surprise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ReviewStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    @property
    def final(self) -> bool:
        return self is not ReviewStatus.PENDING


class ReviewScope(enum.Enum):
    ONCE = "once"  # this command, this time
    GRANT = "grant"  # this fingerprint, identity and resource until the grant expires


@dataclass(frozen=True, slots=True)
class Approval:
    reviewer: str
    at: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReviewRequest:
    """Everything a reviewer needs to decide, captured when the command is held."""

    requester: str
    requester_groups: tuple[str, ...]
    resource: str
    protocol: str
    session_id: str
    command_id: str
    statement: str
    fingerprint: str
    kind: str
    flags: tuple[str, ...]
    tables: tuple[str, ...]
    rule: str
    reason: str
    review_by: tuple[str, ...]
    min_approvals: int
    timeout: float
    client: str = ""
    database: str = ""


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    request: ReviewRequest
    status: ReviewStatus
    created_at: float
    expires_at: float
    instance: str
    approvals: tuple[Approval, ...] = ()
    decided_by: str = ""
    decided_at: float = 0.0
    decision_reason: str = ""
    scope: ReviewScope = ReviewScope.ONCE
    grant_until: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        request = self.request
        return {
            "id": self.id,
            "status": self.status.value,
            "requester": request.requester,
            "requester_groups": list(request.requester_groups),
            "resource": request.resource,
            "protocol": request.protocol,
            "database": request.database,
            "client": request.client,
            "session_id": request.session_id,
            "command_id": request.command_id,
            "statement": request.statement,
            "fingerprint": request.fingerprint,
            "kind": request.kind,
            "flags": list(request.flags),
            "tables": list(request.tables),
            "rule": request.rule,
            "reason": request.reason,
            "review_by": list(request.review_by),
            "min_approvals": request.min_approvals,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "approvals": [
                {"reviewer": a.reviewer, "at": a.at, "reason": a.reason} for a in self.approvals
            ],
            "decided_by": self.decided_by,
            "decided_at": self.decided_at or None,
            "decision_reason": self.decision_reason,
            "scope": self.scope.value,
            "grant_until": self.grant_until or None,
        }


class ReviewError(Exception):
    """A reviewer's action that cannot be taken; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
