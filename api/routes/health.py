"""Health, readiness, metrics and the dead-letter view."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import CoordinatorDep, Viewer

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(c: CoordinatorDep) -> dict[str, object]:
    """The process is alive and serving (dependencies are /readyz's business)."""
    return {"status": "ok", "uptime_s": round(time.monotonic() - c.started_at, 1)}


@router.get("/readyz")
async def readyz(c: CoordinatorDep) -> JSONResponse:
    """Ready when the database and the broker are both reachable; 503 says which is not."""
    checks = await c.readiness()
    ok = all(bool(v["ok"]) for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks},
        status_code=200 if ok else 503,
    )


@router.get("/metrics")
async def metrics(c: CoordinatorDep) -> Response:
    return Response(c.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/deadletters")
async def dead_letters(c: CoordinatorDep, _: Viewer) -> dict[str, object]:
    """The latest messages that were refused, newest first, with the reason."""
    letters = [d.model_dump(mode="json") for d in reversed(c.ingest.recent_dead_letters)]
    return {"data": letters, "count": len(letters)}
