"""The review queue over HTTP: list, show, approve, deny; and the reviewers' web page.

`GET /api/reviews?status=pending`, `GET /api/reviews/{id}`,
`POST /api/reviews/{id}/approve` (`{"reason", "scope": "once"|"grant", "duration"}`),
`POST /api/reviews/{id}/deny` (`{"reason"}`) — bearer-token authenticated with the
same tokens as agents; who may decide is checked by the review service (the
rule's `review_by` groups, never the requester). `/ui/` serves the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from wardgate.admin.ui import assets_router, page
from wardgate.policy.model import parse_duration
from wardgate.reviews.model import ReviewError, ReviewScope
from wardgate.reviews.service import ReviewService
from wardgate.seam import Identity

BearerIdentity = Callable[[str | None], Awaitable[Identity]]


class ApproveBody(BaseModel):
    reason: str = ""
    scope: Literal["once", "grant"] = "once"
    duration: str | float | None = Field(default=None, description="grant length, e.g. 30m")


class DenyBody(BaseModel):
    reason: Annotated[str, Field(min_length=1)]


def reviews_router(service: ReviewService, bearer: BearerIdentity) -> APIRouter:
    router = APIRouter()
    router.include_router(assets_router())

    async def reviewer(authorization: str | None) -> Identity:
        return await bearer(authorization)

    async def guarded(call: Awaitable[Any]) -> Any:
        try:
            return await call
        except ReviewError as exc:
            raise HTTPException(exc.status, exc.message) from None

    @router.get("/api/reviews")
    async def list_reviews(
        status: str | None = None, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        await reviewer(authorization)
        found = await service.list_reviews(status)
        return {"reviews": [review.to_json() for review in found]}

    @router.get("/api/reviews/{review_id}")
    async def show_review(
        review_id: str, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        await reviewer(authorization)
        review = await guarded(service.get(review_id))
        return dict(review.to_json())

    @router.post("/api/reviews/{review_id}/approve")
    async def approve_review(
        review_id: str,
        body: ApproveBody | None = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        who = await reviewer(authorization)
        body = body or ApproveBody()
        try:
            duration = parse_duration(body.duration) if body.duration is not None else None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        scope = ReviewScope(body.scope)
        review = await guarded(service.approve(review_id, who, body.reason, scope, duration))
        return dict(review.to_json())

    @router.post("/api/reviews/{review_id}/deny")
    async def deny_review(
        review_id: str, body: DenyBody, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        who = await reviewer(authorization)
        review = await guarded(service.deny(review_id, who, body.reason))
        return dict(review.to_json())

    @router.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @router.get("/ui/", response_class=HTMLResponse, include_in_schema=False)
    @router.get("/ui/reviews", response_class=HTMLResponse, include_in_schema=False)
    @router.get("/ui/reviews/{review_id}", response_class=HTMLResponse, include_in_schema=False)
    async def ui_page(review_id: str = "") -> HTMLResponse:
        return HTMLResponse(page("reviews.html"))

    return router
