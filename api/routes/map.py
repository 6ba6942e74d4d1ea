"""`/v1/map`: the offline basemap (roads, buildings, water, green) from the city's OSM extract."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CoordinatorDep, Viewer
from fleet.basemap import LAYERS, BasemapCache, default_map_file
from fleet.errors import NotFound
from fleet.service import Coordinator

router = APIRouter(prefix="/v1/map", tags=["map"])

# The layers only change when the extract does: let the browser keep them for an hour.
_CACHE_CONTROL = "private, max-age=3600"


def _cache(request: Request, c: Coordinator) -> BasemapCache:
    # Built on first use rather than in the lifespan: a service nobody looks at never pays
    # the seconds of reading the extract. Kept on app.state, the app's one owner of state.
    cache: BasemapCache | None = getattr(request.app.state, "basemap", None)
    if cache is None:
        cache = BasemapCache(default_map_file(c.settings.map_file), c.settings.data_dir / "cache")
        request.app.state.basemap = cache
    return cache


@router.get("")
async def map_info(request: Request, c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    """Bounds `[west, south, east, north]`, centre `[lon, lat]`, the layers and the attribution."""
    basemap = await asyncio.to_thread(_cache(request, c).get)
    return basemap.meta()


@router.get(
    "/layers/{layer}.geojson",
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def map_layer(layer: str, request: Request, c: CoordinatorDep, _: Viewer) -> Response:
    """One basemap layer as a GeoJSON FeatureCollection (gzip-encoded, simplified to ~1 m).

    Roads carry `class` (`major`, `secondary`, `minor`, `path`, `coastline`) and `name`.
    """
    if layer not in LAYERS:
        raise NotFound(f"no basemap layer {layer!r}; layers are {', '.join(LAYERS)}")
    body = await asyncio.to_thread(_cache(request, c).layer_gzip, layer)
    # Every browser accepts gzip; sending it pre-compressed costs nothing per request.
    return Response(
        body,
        media_type="application/geo+json",
        headers={"Content-Encoding": "gzip", "Cache-Control": _CACHE_CONTROL},
    )
