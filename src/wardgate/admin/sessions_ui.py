"""The session view under `/ui/sessions`: recorded sessions and their audit records.

A static page; like the reviewers' page it keeps the bearer token in the tab's
sessionStorage and reads `GET /api/sessions`, `GET /api/sessions/{id}?frames=true`
and `GET /api/audit?session=ID`, so it shows exactly what the API allows the token.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from wardgate.admin.ui import page


def sessions_ui_router() -> APIRouter:
    router = APIRouter()

    @router.get("/ui/sessions", response_class=HTMLResponse, include_in_schema=False)
    @router.get("/ui/sessions/{session_id}", response_class=HTMLResponse, include_in_schema=False)
    async def sessions_page(session_id: str = "") -> HTMLResponse:
        return HTMLResponse(page("sessions.html"))

    return router
