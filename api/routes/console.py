"""The browser console: `/` and its bundled assets under `/console/` (built from api/console)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from fleet.errors import NotFound

router = APIRouter(include_in_schema=False)

#: Where the Python build (setup.py's build_py) writes `npm run build`'s output.
STATIC = Path(__file__).resolve().parent.parent / "static" / "console"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>patrolfleet</title>
<h1>patrolfleet</h1><p>The console was not built into this installation: Node.js and npm were
missing when it was installed. Install them and reinstall (<code>pip install .</code>), or run
<code>npm ci &amp;&amp; npm run build</code> in the source tree. The API works: see
<a href="/docs">/docs</a>.</p>"""


@router.get("/")
async def index() -> Response:
    if not (STATIC / "index.html").is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503)
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/{path:path}")
async def asset(path: str) -> Response:
    target = (STATIC / (path or "index.html")).resolve()
    # Never serve anything outside the bundle (no ../ escapes).
    if not target.is_relative_to(STATIC) or not target.is_file():
        raise NotFound(f"no console asset {path!r}")
    # The bundle's names do not change between releases: make browsers revalidate (ETag) so an
    # upgraded service never runs yesterday's console.
    return FileResponse(target, headers={"Cache-Control": "no-cache"})
