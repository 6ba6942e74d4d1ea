"""Fences and zones: GeoJSON polygons of kind no_fly, keep_in, patrol_zone, checkpoint."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import CoordinatorDep, Dispatcher, Viewer
from api.schemas import FenceCreate, FencePublic, FencesPublic, FenceUpdate
from fleet.types import FenceKind

router = APIRouter(prefix="/v1/fences", tags=["fences"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FencePublic)
async def create_fence(body: FenceCreate, c: CoordinatorDep, who: Dispatcher) -> FencePublic:
    props = body.properties
    assert props is not None
    fence = await c.store.create_fence(
        who,
        name=props.name,
        kind=props.kind,
        geometry=body.geometry.model_dump(mode="json", exclude_none=True),
        active=props.active,
        min_alt_m=props.min_alt_m,
        max_alt_m=props.max_alt_m,
    )
    out = FencePublic.from_domain(fence)
    c.events.publish("fence.created", out.model_dump(mode="json"))
    return out


@router.get("", response_model=FencesPublic)
async def list_fences(
    c: CoordinatorDep, _: Viewer, kind: FenceKind | None = None, active: bool | None = None
) -> FencesPublic:
    fences = await c.store.list_fences(kind=kind, active=active)
    return FencesPublic(features=[FencePublic.from_domain(f) for f in fences], count=len(fences))


@router.get("/{fence_id}", response_model=FencePublic)
async def get_fence(fence_id: str, c: CoordinatorDep, _: Viewer) -> FencePublic:
    return FencePublic.from_domain(await c.store.get_fence(fence_id))


@router.patch("/{fence_id}", response_model=FencePublic)
async def update_fence(
    fence_id: str, body: FenceUpdate, c: CoordinatorDep, who: Dispatcher
) -> FencePublic:
    fence = await c.store.update_fence(who, fence_id, name=body.name, active=body.active)
    out = FencePublic.from_domain(fence)
    c.events.publish("fence.updated", out.model_dump(mode="json"))
    return out


@router.delete("/{fence_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_fence(fence_id: str, c: CoordinatorDep, who: Dispatcher) -> Response:
    await c.store.delete_fence(who, fence_id)
    c.events.publish("fence.deleted", {"id": fence_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
