"""The admin FastAPI application.

`/healthz`, `/readyz` and `/metrics` are unauthenticated by contract (DESIGN.md,
"Admin REST API"); everything else added here later takes bearer tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST

from wardgate import __version__
from wardgate.metrics import Metrics


@dataclass(slots=True)
class HealthState:
    """Liveness is the process answering; readiness is listeners up and not draining."""

    listening: bool = False
    draining: bool = False

    @property
    def ready(self) -> bool:
        return self.listening and not self.draining


def create_admin_app(
    metrics: Metrics, health: HealthState, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    app = FastAPI(title="wardgate admin", version=__version__, docs_url=None, redoc_url=None)
    for router in routers:
        app.include_router(router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz")
    def readyz(response: Response) -> dict[str, str]:
        if not health.ready:
            response.status_code = 503
            return {"status": "draining" if health.draining else "starting"}
        return {"status": "ready"}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app
