"""Dispatch: recommendations and assignments for an incident, group commands, live coverage."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import shapely
from fastapi import APIRouter, Query, status
from pydantic import Field, model_validator
from shapely.geometry import shape

from api.deps import CoordinatorDep, Viewer
from api.deps import Dispatcher as DispatcherRole
from api.schemas import Strict, StrictMultiPolygon, StrictPolygon
from fleet.dispatch.coverage import coverage
from fleet.dispatch.service import Dispatcher as FleetDispatcher
from fleet.errors import ConfigError, NotFound
from fleet.service import Coordinator
from fleet.store.repo import new_id
from fleet.types import UnitKind

router = APIRouter(prefix="/v1", tags=["dispatch"])


def _dispatcher(c: Coordinator) -> FleetDispatcher:
    if c.dispatcher is None:
        raise ConfigError("the dispatcher is not running")
    return c.dispatcher


@router.get("/incidents/{incident_id}/recommendations")
async def recommendations(
    incident_id: str, c: CoordinatorDep, _: Viewer, limit: int = Query(20, ge=1, le=500)
) -> dict[str, Any]:
    """Units ranked for the incident: ETA, feasibility (and why not), the tier each meets."""
    incident = await c.store.get_incident(incident_id)
    recs = await _dispatcher(c).recommendations(incident, limit=limit)
    data = [
        {
            "unit_id": r.unit_id,
            "kind": r.kind.value,
            "eta_s": round(r.eta_s, 1) if np.isfinite(r.eta_s) else None,
            "tier": r.tier,
            "feasible": r.feasible,
            "reason": r.reason,
        }
        for r in recs[:limit]
    ]
    return {
        "incident_id": incident_id,
        "data": data,
        "count": len(data),
        "response": _dispatcher(c).describe(incident_id),
    }


class AssignmentRequest(Strict):
    unit_id: str
    action: Literal["assign", "release"] = "assign"


@router.post("/incidents/{incident_id}/assignments", status_code=status.HTTP_202_ACCEPTED)
async def assign(
    incident_id: str, body: AssignmentRequest, c: CoordinatorDep, who: DispatcherRole
) -> dict[str, Any]:
    d = _dispatcher(c)
    if body.action == "assign":
        ref = await d.assign(who, incident_id, body.unit_id)
        return {
            "incident_id": incident_id,
            "unit_id": body.unit_id,
            "status": "assigned",
            "command_id": ref if ref != body.unit_id else None,
        }
    await d.release(who, incident_id, body.unit_id)
    return {"incident_id": incident_id, "unit_id": body.unit_id, "status": "released"}


@router.get("/incidents/{incident_id}/assignments")
async def list_assignments(incident_id: str, c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    await c.store.get_incident(incident_id)
    rows = await c.store.list_assignments(incident_id=incident_id)
    data = [
        {
            "id": a.id,
            "unit_id": a.unit_id,
            "status": a.status,
            "tier": a.tier,
            "eta_s": a.eta_s,
            "command_id": a.command_id,
            "actor": a.actor,
            "created_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
        }
        for a in rows
    ]
    return {"data": data, "count": len(data)}


class GroupCommand(Strict):
    """Every unit inside an area (a GeoJSON polygon drawn on the map, or a stored zone)."""

    area: StrictPolygon | StrictMultiPolygon | None = None
    zone_id: str | None = None
    message: str = Field(min_length=1, max_length=1000)
    kind: str = Field(default="group_message", min_length=1, max_length=64)
    unit_kinds: list[UnitKind] | None = None
    on_duty_only: bool = True
    timeout_s: float | None = Field(default=None, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_area(self) -> GroupCommand:
        if (self.area is None) == (self.zone_id is None):
            raise ValueError("give exactly one of area or zone_id")
        return self


@router.post("/commands/group", status_code=status.HTTP_202_ACCEPTED)
async def group_command(
    body: GroupCommand, c: CoordinatorDep, who: DispatcherRole
) -> dict[str, Any]:
    if body.zone_id is not None:
        fence = await c.store.get_fence(body.zone_id)
        geometry = fence.geometry
    else:
        assert body.area is not None
        geometry = body.area.model_dump(mode="json", exclude_none=True)
    area = shape(geometry)
    kinds = set(body.unit_kinds) if body.unit_kinds else None
    units = [
        u
        for u in c.state.units.values()
        if u.lon is not None
        and u.lat is not None
        and u.online
        and (not body.on_duty_only or u.on_duty or u.kind is UnitKind.DRONE)
        and (kinds is None or u.kind in kinds)
    ]
    inside = (
        shapely.contains_xy(area, [u.lon for u in units], [u.lat for u in units]) if units else []
    )
    group_id = new_id("grp")
    command_ids = []
    for u, is_in in zip(units, inside, strict=True):
        if not is_in:
            continue
        cmd = await c.outbox.submit(
            who,
            u.unit_id,
            body.kind,
            {"message": body.message, "group_id": group_id},
            timeout_s=body.timeout_s,
            correlation_id=group_id,
        )
        command_ids.append(cmd.id)
    await c.store.audit(
        who,
        "command.group",
        "group",
        group_id,
        {"units": len(command_ids), "message": body.message, "zone_id": body.zone_id},
    )
    return {"group_id": group_id, "count": len(command_ids), "command_ids": command_ids}


@router.get("/commands/groups/{group_id}")
async def group_status(group_id: str, c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    cmds = await c.store.list_commands(correlation_id=group_id, limit=100_000)
    if not cmds:
        raise NotFound(f"group {group_id!r} does not exist")
    counts: dict[str, int] = {}
    for cmd in cmds:
        counts[cmd.status.value] = counts.get(cmd.status.value, 0) + 1
    return {
        "group_id": group_id,
        "count": len(cmds),
        "by_status": counts,
        "units": {cmd.unit_id: cmd.status.value for cmd in cmds},
    }


@router.get("/coverage")
async def live_coverage(
    c: CoordinatorDep,
    _: Viewer,
    days: int = Query(30, ge=1, le=365),
    cell_m: float = Query(500.0, ge=100, le=5000),
) -> dict[str, Any]:
    """Share of demand (incident history) reachable in 1, 3 and 5 minutes right now."""
    d = _dispatcher(c)
    started = time.perf_counter()
    since = datetime.now(UTC) - timedelta(days=days)
    history, _ = await c.store.list_incidents(since=since, limit=100_000)
    cov = coverage(
        d.snapshot(), d.policy, demand_lonlat=[(i.lon, i.lat) for i in history], cell_m=cell_m
    )
    return {
        "tiers": {"1": cov.shares[1], "3": cov.shares[3], "5": cov.shares[5]},
        "demand": {"source": "incidents" if history else "uniform", "points": len(history)},
        "grid": {"type": "FeatureCollection", "features": cov.cells},
        "computed_ms": round(1000 * (time.perf_counter() - started), 1),
    }
