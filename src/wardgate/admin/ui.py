"""Static pieces of the admin web pages: the page files, their shared stylesheet and script."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response


def page(name: str) -> str:
    """An HTML page shipped in this package (read per request: they are small)."""
    return resources.files("wardgate.admin").joinpath(name).read_text(encoding="utf-8")


def assets_router() -> APIRouter:
    router = APIRouter()

    @router.get("/ui/wardgate.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return Response(page("wardgate.css"), media_type="text/css")

    @router.get("/ui/wardgate.js", include_in_schema=False)
    async def script() -> Response:
        return Response(page("wardgate.js"), media_type="text/javascript")

    return router
