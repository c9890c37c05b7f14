"""Reviews in the state store (SQLite by default, PostgreSQL for several instances).

Every state change is one conditional UPDATE (`… WHERE status = 'pending'`), so
two reviewers, two instances or a reviewer racing the timeout can never both win:
the row count says who did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from wardgate.reviews.model import Approval, Review, ReviewRequest, ReviewScope, ReviewStatus
from wardgate.store import Migration, Store


class StoreProvider(Protocol):
    """The gateway's store, opened on first use (`wardgate.store.LazyStore`)."""

    async def get(self) -> Store: ...


_SCHEMA = """
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    instance TEXT NOT NULL,
    requester TEXT NOT NULL,
    resource TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    request TEXT NOT NULL,
    created_at {real} NOT NULL,
    expires_at {real} NOT NULL,
    decided_at {real} NOT NULL DEFAULT 0,
    decided_by TEXT NOT NULL DEFAULT '',
    decision_reason TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL DEFAULT 'once',
    grant_until {real} NOT NULL DEFAULT 0
);
CREATE INDEX reviews_status ON reviews (status, created_at);
CREATE INDEX reviews_grants ON reviews (requester, resource, fingerprint, grant_until);
CREATE TABLE review_approvals (
    review_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at {real} NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (review_id, reviewer)
);
CREATE TABLE review_instances (
    id TEXT PRIMARY KEY,
    last_seen {real} NOT NULL
)
"""

MIGRATIONS = (
    Migration(
        component="reviews",
        version=1,
        name="reviews, approvals and instance heartbeats",
        sql=_SCHEMA.format(real="REAL"),
        postgres_sql=_SCHEMA.format(real="DOUBLE PRECISION"),
    ),
)


def _request_json(request: ReviewRequest) -> str:
    payload = {name: getattr(request, name) for name in request.__dataclass_fields__}
    return json.dumps(payload, sort_keys=True)


def _request_from(text: str) -> ReviewRequest:
    payload = json.loads(text)
    for name in ("requester_groups", "flags", "tables", "review_by"):
        payload[name] = tuple(payload.get(name, ()))
    return ReviewRequest(**payload)


def _review(row: dict[str, Any], approvals: Sequence[Approval]) -> Review:
    return Review(
        id=row["id"],
        request=_request_from(row["request"]),
        status=ReviewStatus(row["status"]),
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
        instance=row["instance"],
        approvals=tuple(approvals),
        decided_by=row["decided_by"],
        decided_at=float(row["decided_at"]),
        decision_reason=row["decision_reason"],
        scope=ReviewScope(row["scope"]),
        grant_until=float(row["grant_until"]),
    )


class FixedStore:
    """A `StoreProvider` for an already open store (tests, tools)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self) -> Store:
        return self._store


class ReviewRepository:
    def __init__(self, stores: StoreProvider) -> None:
        self._stores = stores

    async def _db(self) -> Store:
        return await self._stores.get()

    async def insert(self, review: Review) -> None:
        await (await self._db()).execute(
            "INSERT INTO reviews (id, status, instance, requester, resource, fingerprint, "
            "request, created_at, expires_at) VALUES (:id, :status, :instance, :requester, "
            ":resource, :fingerprint, :request, :created_at, :expires_at)",
            {
                "id": review.id,
                "status": review.status.value,
                "instance": review.instance,
                "requester": review.request.requester,
                "resource": review.request.resource,
                "fingerprint": review.request.fingerprint,
                "request": _request_json(review.request),
                "created_at": review.created_at,
                "expires_at": review.expires_at,
            },
        )

    async def get(self, review_id: str) -> Review | None:
        row = await (await self._db()).fetchone(
            "SELECT * FROM reviews WHERE id = :id", {"id": review_id}
        )
        if row is None:
            return None
        return _review(dict(row), await self._approvals(review_id))

    async def _approvals(self, review_id: str) -> list[Approval]:
        rows = await (await self._db()).fetchall(
            "SELECT reviewer, at, reason FROM review_approvals WHERE review_id = :id ORDER BY at",
            {"id": review_id},
        )
        return [Approval(r["reviewer"], float(r["at"]), r["reason"]) for r in rows]

    async def list_reviews(self, status: str | None = None, limit: int = 200) -> list[Review]:
        if status:
            rows = await (await self._db()).fetchall(
                "SELECT * FROM reviews WHERE status = :status ORDER BY created_at DESC LIMIT :n",
                {"status": status, "n": limit},
            )
        else:
            rows = await (await self._db()).fetchall(
                "SELECT * FROM reviews ORDER BY created_at DESC LIMIT :n", {"n": limit}
            )
        return [_review(dict(row), await self._approvals(row["id"])) for row in rows]

    async def add_approval(self, review_id: str, approval: Approval) -> int:
        """Record one reviewer's approval (idempotent per reviewer); returns the count."""
        await (await self._db()).execute(
            "INSERT INTO review_approvals (review_id, reviewer, at, reason) "
            "VALUES (:id, :who, :at, :reason) ON CONFLICT (review_id, reviewer) DO NOTHING",
            {
                "id": review_id,
                "who": approval.reviewer,
                "at": approval.at,
                "reason": approval.reason,
            },
        )
        row = await (await self._db()).fetchone(
            "SELECT COUNT(*) AS n FROM review_approvals WHERE review_id = :id", {"id": review_id}
        )
        return int(row["n"]) if row is not None else 0

    async def finish(
        self,
        review_id: str,
        status: ReviewStatus,
        by: str,
        at: float,
        reason: str,
        scope: ReviewScope = ReviewScope.ONCE,
        grant_until: float = 0.0,
    ) -> bool:
        """Move a pending review to `status`; False if something else ended it first."""
        changed = await (await self._db()).execute(
            "UPDATE reviews SET status = :status, decided_by = :by, decided_at = :at, "
            "decision_reason = :reason, scope = :scope, grant_until = :grant_until "
            "WHERE id = :id AND status = 'pending'",
            {
                "status": status.value,
                "by": by,
                "at": at,
                "reason": reason,
                "scope": scope.value,
                "grant_until": grant_until,
                "id": review_id,
            },
        )
        return changed == 1

    async def active_grant(
        self, requester: str, resource: str, fingerprint: str, now: float
    ) -> Review | None:
        row = await (await self._db()).fetchone(
            "SELECT id FROM reviews WHERE requester = :requester AND resource = :resource "
            "AND fingerprint = :fingerprint AND status = 'approved' AND scope = 'grant' "
            "AND grant_until > :now ORDER BY grant_until DESC LIMIT 1",
            {"requester": requester, "resource": resource, "fingerprint": fingerprint, "now": now},
        )
        return await self.get(row["id"]) if row is not None else None

    async def heartbeat(self, instance: str, now: float) -> None:
        changed = await (await self._db()).execute(
            "UPDATE review_instances SET last_seen = :now WHERE id = :id",
            {"id": instance, "now": now},
        )
        if not changed:
            await (await self._db()).execute(
                "INSERT INTO review_instances (id, last_seen) VALUES (:id, :now)",
                {"id": instance, "now": now},
            )

    async def orphaned(self, instance: str, stale_before: float) -> list[tuple[str, str]]:
        """(review, holder) of pending reviews whose holders stopped beating (or never did)."""
        rows = await (await self._db()).fetchall(
            "SELECT r.id, r.instance FROM reviews r "
            "LEFT JOIN review_instances i ON i.id = r.instance "
            "WHERE r.status = 'pending' AND r.instance <> :me "
            "AND (i.last_seen IS NULL OR i.last_seen < :stale)",
            {"me": instance, "stale": stale_before},
        )
        return [(row["id"], row["instance"]) for row in rows]

    async def pending_of(self, instance: str) -> list[str]:
        rows = await (await self._db()).fetchall(
            "SELECT id FROM reviews WHERE status = 'pending' AND instance = :me", {"me": instance}
        )
        return [row["id"] for row in rows]

    async def expired(self, now: float) -> list[str]:
        rows = await (await self._db()).fetchall(
            "SELECT id FROM reviews WHERE status = 'pending' AND expires_at <= :now",
            {"now": now},
        )
        return [row["id"] for row in rows]
