"""`/` and `/console/...`: the bundled console, never a file outside it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from api import problems
from api.routes import console


def _client() -> httpx.AsyncClient:
    app = FastAPI()
    problems.install(app)
    app.include_router(console.router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_root_redirects_to_the_console_or_explains_it_is_missing() -> None:
    async with _client() as client:
        r = await client.get("/")
        if (console.STATIC / "index.html").is_file():
            assert r.status_code == 307 and r.headers["location"] == "/console/"
            page = await client.get("/console/")
            assert page.status_code == 200 and "patrolfleet" in page.text
            assert page.headers["cache-control"] == "no-cache"
        else:
            assert r.status_code == 503 and "npm" in r.text


async def test_paths_outside_the_bundle_are_not_found() -> None:
    escapes = ("/console/../routes/console.py", "/console/%2e%2e/%2e%2e/app.py")
    async with _client() as client:
        for path in (*escapes, "/console/nope.js"):
            r = await client.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("application/problem+json")
