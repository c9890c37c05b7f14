"""The admin pages share one stylesheet and one script, served next to them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from wardgate.admin.ui import assets_router, page


def test_shared_assets_are_served_and_used_by_both_pages() -> None:
    app = FastAPI()
    app.include_router(assets_router())
    response = TestClient(app).get("/ui/wardgate.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "#login" in response.text
    script = TestClient(app).get("/ui/wardgate.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "async function api(" in script.text
    for name in ("reviews.html", "sessions.html"):
        assert '<link rel="stylesheet" href="/ui/wardgate.css">' in page(name)
        assert '<script src="/ui/wardgate.js"></script>' in page(name)
        assert "function el(" not in page(name)  # one copy, in the shared script
