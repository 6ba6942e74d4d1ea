"""Patrol operations over HTTP: hot spots, patrol plans (GeoJSON, QGroundControl export),
start/stop and progress, recurring schedules, event overwatch."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import CoordinatorDep, Dispatcher, Operator, Viewer
from fleet.errors import ConfigError, NotFound
from fleet.patrols.domain import HotSpot, Overwatch, Patrol, centroid
from fleet.patrols.hotspots import Estimator
from fleet.patrols.plans import InvalidPatrolInput, merged_geojson
from fleet.patrols.schedule import parse_hhmm
from fleet.patrols.service import PatrolService
from fleet.service import Coordinator

router = APIRouter(prefix="/v1", tags=["patrols"])


def _svc(c: Coordinator) -> PatrolService:
    if c.patrols is None:
        raise ConfigError("patrol service is not running")
    return c.patrols


# --- schemas -------------------------------------------------------------------------------


class Geometry(BaseModel):
    """A GeoJSON Point or Polygon (lon/lat)."""

    type: Literal["Point", "Polygon"]
    coordinates: list[Any]

    def checked(self) -> dict[str, Any]:
        geo = self.model_dump()
        try:
            centroid(geo)
            ring = geo["coordinates"][0] if geo["type"] == "Polygon" else [geo["coordinates"]]
            if geo["type"] == "Polygon" and len(ring) < 4:
                raise ValueError("a polygon ring needs at least 4 positions")
            for p in ring:
                if not (-180 <= float(p[0]) <= 180 and -90 <= float(p[1]) <= 90):
                    raise ValueError(f"{p} is not a [lon, lat] position")
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError) as exc:
            raise InvalidPatrolInput(f"bad geometry: {exc}", where="geometry") from None
        return geo


class HotSpotProps(BaseModel):
    name: str = "hot spot"
    weight: float = Field(default=1.0, gt=0)
    revisit_s: float = Field(default=3600.0, gt=0, description="target revisit interval")
    dwell_s: float = Field(default=60.0, ge=0, description="time on site per visit")
    active_hours: list[tuple[int, int]] = Field(
        default_factory=list, description="[[from_hour, to_hour]], empty: always"
    )


class HotSpotCreate(BaseModel):
    """A GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    geometry: Geometry
    properties: HotSpotProps = Field(default_factory=lambda: HotSpotProps())


class HotSpotUpdate(BaseModel):
    name: str | None = None
    weight: float | None = Field(None, gt=0)
    revisit_s: float | None = Field(None, gt=0)
    dwell_s: float | None = Field(None, ge=0)
    active_hours: list[tuple[int, int]] | None = None
    active: bool | None = None
    geometry: Geometry | None = None


class DeriveRequest(BaseModel):
    from_hour: int = Field(0, ge=0, le=23)
    to_hour: int = Field(24, ge=1, le=24)
    days: int = Field(28, ge=1, le=365)
    cell_m: float = Field(250.0, gt=0)
    min_score: float = Field(2.0, ge=0)
    top: int = Field(10, ge=1, le=200)
    revisit_min_s: float = Field(1800.0, gt=0)
    revisit_max_s: float = Field(7200.0, gt=0)
    dwell_s: float = Field(60.0, ge=0)
    replace: bool = True


def hotspot_feature(h: HotSpot) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": h.id,
        "geometry": h.geometry,
        "properties": {
            "id": h.id,
            "name": h.name,
            "weight": h.weight,
            "revisit_s": h.revisit_s,
            "dwell_s": h.dwell_s,
            "active_hours": [list(x) for x in h.active_hours],
            "source": h.source,
            "active": h.active,
            "created_at": h.created_at.isoformat(),
            "updated_at": h.updated_at.isoformat(),
            **{k: v for k, v in h.properties.items() if k not in ("id", "name")},
        },
    }


class PatrolCreate(BaseModel):
    """A patrol request: where, what, when and with whom."""

    model_config = ConfigDict(extra="forbid")

    name: str = "patrol"
    zone: Geometry | None = Field(None, description="Polygon: the hot spots active inside it")
    zone_id: str | None = Field(None, description="a stored zone (fence id) instead of zone")
    hot_spot_ids: list[str] | None = Field(None, description="these hot spots instead")
    duration_s: float = Field(..., gt=0, le=7 * 86_400, description="patrol window length")
    starts_at: datetime | None = Field(None, description="window start (hot spots' active hours)")
    timezone: str = "UTC"
    drones: list[str] = Field(default_factory=list)
    ground_units: list[str] = Field(default_factory=list)
    swap_s: float = Field(600.0, ge=0, description="battery swap or charge between sorties")
    altitude_m: float = Field(60.0, gt=0, le=120)
    time_limit_s: float = Field(5.0, gt=0, le=120)
    seed: int = 0
    allow_partial: bool = Field(False, description="plan what fits instead of refusing")
    clock_scale: float = Field(
        1.0, gt=0, le=1000, description="plan seconds per wall second (drills, simulation)"
    )

    @field_validator("zone")
    @classmethod
    def _zone_is_polygon(cls, v: Geometry | None) -> Geometry | None:
        if v is not None and v.type != "Polygon":
            raise ValueError("zone must be a Polygon")
        return v

    def to_request(self) -> dict[str, Any]:
        d = self.model_dump(mode="json", exclude_none=True)
        return d


class PatrolReplan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hot_spot_ids: list[str] | None = None
    duration_s: float | None = Field(None, gt=0)
    drones: list[str] | None = None
    ground_units: list[str] | None = None
    allow_partial: bool | None = None
    seed: int | None = None


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    days: list[int] = Field(..., min_length=1, description="ISO weekdays 1 (Mon) .. 7 (Sun)")
    start_time: str = Field(..., examples=["17:00"])
    end_time: str = Field(..., examples=["20:00"])
    timezone: str = "UTC"
    patrol: PatrolCreate = Field(..., description="the request run each time (duration ignored)")

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if not all(1 <= d <= 7 for d in v):
            raise ValueError("days are ISO weekdays 1..7")
        return sorted(set(v))

    @field_validator("start_time", "end_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v


class OverwatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geometry: Geometry
    alt_m: float = Field(60.0, gt=0, le=120)
    duration_s: float = Field(..., gt=0, le=86_400)
    radius_m: float | None = Field(None, gt=0, le=1000, description="orbit radius")
    drones: list[str] | None = Field(None, description="default: every known drone")
    handover_s: float = Field(30.0, ge=0)
    recharge_s: float = Field(600.0, ge=0)
    clock_scale: float = Field(1.0, gt=0, le=1000)


async def patrol_public(svc: PatrolService, p: Patrol) -> dict[str, Any]:
    sorties = await svc.patrols.list_sorties(p.id, p.version)
    routes = await svc.patrols.list_routes(p.id, p.version)
    aerial = p.plan.get("aerial") or {}
    return {
        "id": p.id,
        "name": p.name,
        "status": p.status,
        "version": p.version,
        "clock_scale": p.clock_scale,
        "schedule_id": p.schedule_id,
        "created_at": p.created_at.isoformat(),
        "started_at": p.started_at.isoformat() if p.started_at else None,
        "ended_at": p.ended_at.isoformat() if p.ended_at else None,
        "error": p.error,
        "request": p.request,
        "horizon_s": p.plan.get("horizon_s"),
        "hot_spots": p.plan.get("hot_spots", []),
        "summary": aerial.get("summary"),
        "planned_coverage": aerial.get("coverage", []),
        "unreachable": aerial.get("unreachable", []),
        "sorties": [
            {
                "id": s.id,
                "drone_id": s.drone_id,
                "index": s.index,
                "launch_s": s.launch_s,
                "land_s": s.land_s,
                "hot_spots": list(s.hot_spots),
                "status": s.status,
                "reason": s.reason,
                "mission_id": s.mission_id,
                "launched_at": s.launched_at.isoformat() if s.launched_at else None,
                "ended_at": s.ended_at.isoformat() if s.ended_at else None,
            }
            for s in sorties
        ],
        "routes": [
            {
                "id": r.id,
                "unit_id": r.unit_id,
                "status": r.status,
                "command_id": r.command_id,
                "reason": r.reason,
                "stops": list(r.stops),
                "length_m": r.route.get("properties", {}).get("length_m"),
            }
            for r in routes
        ],
        "progress": await svc.progress(p),
    }


def overwatch_public(svc: PatrolService, op: Overwatch) -> dict[str, Any]:
    return {
        "id": op.id,
        "status": op.status,
        "geometry": op.geometry,
        "alt_m": op.alt_m,
        "radius_m": op.radius_m,
        "duration_s": op.duration_s,
        "clock_scale": op.clock_scale,
        "drones": list(op.drones),
        "plan": op.plan,
        "report": svc.overwatch_report(op),
        "error": op.error,
        "started_at": op.started_at.isoformat() if op.started_at else None,
        "ended_at": op.ended_at.isoformat() if op.ended_at else None,
    }


# --- hot spots -----------------------------------------------------------------------------


@router.post("/hotspots", status_code=status.HTTP_201_CREATED)
async def create_hotspot(body: HotSpotCreate, c: CoordinatorDep, who: Dispatcher) -> dict[str, Any]:
    p = body.properties
    h = await _svc(c).patrols.create_hotspot(
        who,
        name=p.name,
        geometry=body.geometry.checked(),
        weight=p.weight,
        revisit_s=p.revisit_s,
        dwell_s=p.dwell_s,
        active_hours=p.active_hours,
    )
    return hotspot_feature(h)


@router.get("/hotspots")
async def list_hotspots(
    c: CoordinatorDep, _: Viewer, active: bool | None = None, hour: int | None = None
) -> dict[str, Any]:
    spots = await _svc(c).patrols.list_hotspots(active=active)
    if hour is not None:
        spots = [h for h in spots if h.active_at_hour(hour)]
    return {
        "type": "FeatureCollection",
        "features": [hotspot_feature(h) for h in spots],
        "count": len(spots),
    }


@router.post("/hotspots/derive", status_code=status.HTTP_201_CREATED)
async def derive(body: DeriveRequest, c: CoordinatorDep, who: Dispatcher) -> dict[str, Any]:
    try:
        est = Estimator(
            from_hour=body.from_hour,
            to_hour=body.to_hour,
            cell_m=body.cell_m,
            min_score=body.min_score,
            top=body.top,
            revisit_min_s=body.revisit_min_s,
            revisit_max_s=body.revisit_max_s,
            dwell_s=body.dwell_s,
        )
    except ValueError as exc:
        raise InvalidPatrolInput(str(exc), where="body") from None
    spots = await _svc(c).derive_hotspots(who, est, days=body.days, replace=body.replace)
    return {
        "type": "FeatureCollection",
        "features": [hotspot_feature(h) for h in spots],
        "count": len(spots),
    }


@router.get("/hotspots/{hotspot_id}")
async def get_hotspot(hotspot_id: str, c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    return hotspot_feature(await _svc(c).patrols.get_hotspot(hotspot_id))


@router.patch("/hotspots/{hotspot_id}")
async def update_hotspot(
    hotspot_id: str, body: HotSpotUpdate, c: CoordinatorDep, who: Dispatcher
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if body.geometry is not None:
        changes["geometry"] = body.geometry.checked()
    return hotspot_feature(await _svc(c).patrols.update_hotspot(who, hotspot_id, changes))


@router.delete("/hotspots/{hotspot_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_hotspot(hotspot_id: str, c: CoordinatorDep, who: Dispatcher) -> Response:
    await _svc(c).patrols.delete_hotspot(who, hotspot_id)
    return Response(status_code=204)


# --- patrols -------------------------------------------------------------------------------


@router.post("/patrols", status_code=status.HTTP_201_CREATED)
async def create_patrol(body: PatrolCreate, c: CoordinatorDep, who: Dispatcher) -> dict[str, Any]:
    svc = _svc(c)
    return await patrol_public(svc, await svc.create_patrol(who, body.to_request()))


@router.get("/patrols")
async def list_patrols(c: CoordinatorDep, _: Viewer, status: str | None = None) -> dict[str, Any]:
    svc = _svc(c)
    patrols = await svc.patrols.list_patrols(statuses=[status] if status else None)
    data = [
        {
            "id": p.id,
            "name": p.name,
            "status": p.status,
            "version": p.version,
            "created_at": p.created_at.isoformat(),
            "schedule_id": p.schedule_id,
        }
        for p in patrols
    ]
    return {"data": data, "count": len(data)}


@router.get("/patrols/{patrol_id}.geojson")
async def patrol_geojson(
    patrol_id: str, c: CoordinatorDep, _: Viewer, version: int | None = None
) -> JSONResponse:
    p = await _svc(c).patrols.get_patrol(patrol_id, version=version)
    return JSONResponse(merged_geojson(p.plan), media_type="application/geo+json")


@router.get("/patrols/{patrol_id}/sorties/{sortie_id}.plan")
async def sortie_plan(patrol_id: str, sortie_id: str, c: CoordinatorDep, _: Viewer) -> JSONResponse:
    from planners.aerial import AerialProblem, Sortie, Waypoint, sortie_to_qgc

    svc = _svc(c)
    p = await svc.patrols.get_patrol(patrol_id)
    sortie = next(
        (s for s in await svc.patrols.list_sorties(p.id, p.version) if s.id == sortie_id), None
    )
    if sortie is None or "aerial" not in p.plan:
        raise NotFound(f"sortie {sortie_id!r} is not in patrol {patrol_id}")
    problem = AerialProblem.from_dict(p.plan["aerial"]["problem"])
    wps = tuple(Waypoint(**w) for w in sortie.waypoints)
    plan = sortie_to_qgc(
        Sortie(
            sortie.drone_id,
            sortie.index,
            f"dock-{sortie.drone_id}",
            sortie.launch_s,
            sortie.land_s,
            sortie.land_s - sortie.launch_s,
            0.0,
            wps,
            (),
            (),
        ),
        problem,
    )
    return JSONResponse(
        plan, headers={"Content-Disposition": f'attachment; filename="{sortie_id}.plan"'}
    )


@router.get("/patrols/{patrol_id}")
async def get_patrol(patrol_id: str, c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    svc = _svc(c)
    return await patrol_public(svc, await svc.patrols.get_patrol(patrol_id))


@router.post("/patrols/{patrol_id}/replan")
async def replan(
    patrol_id: str, body: PatrolReplan, c: CoordinatorDep, who: Dispatcher
) -> dict[str, Any]:
    svc = _svc(c)
    p = await svc.replan(who, patrol_id, body.model_dump(exclude_none=True))
    return await patrol_public(svc, p)


@router.post("/patrols/{patrol_id}/start", status_code=status.HTTP_202_ACCEPTED)
async def start_patrol(patrol_id: str, c: CoordinatorDep, who: Operator) -> dict[str, Any]:
    svc = _svc(c)
    return await patrol_public(svc, await svc.start(who, patrol_id))


@router.post("/patrols/{patrol_id}/stop")
async def stop_patrol(patrol_id: str, c: CoordinatorDep, who: Operator) -> dict[str, Any]:
    svc = _svc(c)
    return await patrol_public(svc, await svc.stop(who, patrol_id))


# --- schedules -----------------------------------------------------------------------------


def _schedule_public(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "days": list(s.days),
        "start_time": s.start_time,
        "end_time": s.end_time,
        "timezone": s.timezone,
        "active": s.active,
        "patrol": s.template,
        "last_run_on": s.last_run_on,
        "last_patrol_id": s.last_patrol_id,
    }


@router.post("/patrol-schedules", status_code=status.HTTP_201_CREATED)
async def create_schedule(body: ScheduleCreate, c: CoordinatorDep, who: Operator) -> dict[str, Any]:
    s = await _svc(c).patrols.create_schedule(
        who,
        name=body.name,
        template=body.patrol.to_request(),
        days=body.days,
        start_time=body.start_time,
        end_time=body.end_time,
        timezone=body.timezone,
    )
    return _schedule_public(s)


@router.get("/patrol-schedules")
async def list_schedules(c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    data = [_schedule_public(s) for s in await _svc(c).patrols.list_schedules()]
    return {"data": data, "count": len(data)}


@router.post("/patrol-schedules/{schedule_id}/active")
async def set_schedule_active(
    schedule_id: str, active: bool, c: CoordinatorDep, who: Operator
) -> dict[str, Any]:
    s = await _svc(c).patrols.update_schedule(
        schedule_id, actor=who, action="schedule.update", active=active
    )
    return _schedule_public(s)


@router.delete("/patrol-schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: str, c: CoordinatorDep, who: Operator) -> Response:
    await _svc(c).patrols.delete_schedule(who, schedule_id)
    return Response(status_code=204)


# --- overwatch -----------------------------------------------------------------------------


@router.post("/operations/overwatch", status_code=status.HTTP_201_CREATED)
async def start_overwatch(
    body: OverwatchCreate, c: CoordinatorDep, who: Operator
) -> dict[str, Any]:
    svc = _svc(c)
    req = body.model_dump(mode="json", exclude_none=True)
    req["geometry"] = body.geometry.checked()
    return overwatch_public(svc, await svc.start_overwatch(who, req))


@router.get("/operations/overwatch/{op_id}")
async def get_overwatch(op_id: str, c: CoordinatorDep, _: Viewer) -> dict[str, Any]:
    svc = _svc(c)
    return overwatch_public(svc, await svc.patrols.get_overwatch(op_id))


@router.post("/operations/overwatch/{op_id}/stop")
async def stop_overwatch(op_id: str, c: CoordinatorDep, who: Operator) -> dict[str, Any]:
    svc = _svc(c)
    return overwatch_public(svc, await svc.stop_overwatch(who, op_id))
