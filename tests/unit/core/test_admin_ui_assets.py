"""The admin pages share one stylesheet, served next to them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from wardgate.admin.ui import assets_router, page


def test_stylesheet_is_served_and_linked_by_both_pages() -> None:
    app = FastAPI()
    app.include_router(assets_router())
    response = TestClient(app).get("/ui/wardgate.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "#login" in response.text
    for name in ("reviews.html", "sessions.html"):
        assert '<link rel="stylesheet" href="/ui/wardgate.css">' in page(name)
