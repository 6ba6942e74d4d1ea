"""The FastAPI application: lifespan enters `fleet.service.run`, routes map HTTP to it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from api import problems
from api.deps import TokenCache
from api.routes import (
    admin,
    commands,
    console,
    dispatch,
    drones,
    fences,
    health,
    incidents,
    map,
    patrols,
    stream,
    units,
)
from fleet.service import run
from fleet.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (read from the environment when not given)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with run(settings) as coordinator:
            app.state.coordinator = coordinator
            app.state.tokens = TokenCache()
            yield

    app = FastAPI(
        title="patrolfleet",
        version="0.1.0",
        description="Coordinator for city policing fleets: drones and ground patrol units.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (
        health,
        units,
        drones,
        incidents,
        dispatch,
        fences,
        commands,
        admin,
        stream,
        map,
        console,
        patrols,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        coordinator = getattr(request.app.state, "coordinator", None)
        if coordinator is not None:
            coordinator.metrics.api_latency.labels(
                request.method, path, str(response.status_code)
            ).observe(time.perf_counter() - start)
        return response

    return app
