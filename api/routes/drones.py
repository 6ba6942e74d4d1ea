"""Drones: live state, missions (with QGroundControl .plan import/export), flight commands,
loudspeaker and spotlight warnings. Flight commands need the operator role."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api.deps import CoordinatorDep, Operator, Viewer
from api.schemas import (
    CommandPublic,
    DronePublic,
    GotoRequest,
    MissionCreate,
    MissionImport,
    MissionPublic,
    OrbitRequest,
    Page,
    PresetPublic,
    PresetPut,
    UnitPublic,
    WarningCreate,
    WarningPublic,
)
from fleet.errors import MalformedProblem, NotFound
from fleet.mission_files import mission_from_plan, plan_from_mission
from fleet.service import Coordinator
from fleet.types import UnitKind

router = APIRouter(prefix="/v1", tags=["drones"])


async def _drone_public(c: Coordinator, unit_id: str) -> DronePublic:
    unit = await c.store.get_unit(unit_id)
    base = UnitPublic.from_domain(unit, c.state.get(unit_id))
    drone = c.drones.snapshot(unit_id) if c.drones and unit_id in c.drones.drones else {}
    return DronePublic(**base.model_dump(), drone=drone)


@router.get("/drones", response_model=Page[DronePublic])
async def list_drones(c: CoordinatorDep, _: Viewer) -> Page[DronePublic]:
    units = await c.store.list_units(kind=UnitKind.DRONE)
    data = [await _drone_public(c, u.id) for u in units]
    return Page[DronePublic](data=data, count=len(data))


@router.get("/drones/{drone_id}", response_model=DronePublic)
async def get_drone(drone_id: str, c: CoordinatorDep, _: Viewer) -> DronePublic:
    return await _drone_public(c, drone_id)


@router.post(
    "/drones/{drone_id}/missions",
    status_code=status.HTTP_201_CREATED,
    response_model=MissionPublic,
)
async def create_mission(
    drone_id: str, body: MissionCreate, c: CoordinatorDep, who: Operator
) -> MissionPublic:
    try:
        waypoints = body.to_domain()
    except ValueError as exc:
        raise MalformedProblem(str(exc), where="loiter_s") from None
    mission = await c.require_drones().create_mission(
        who, drone_id, waypoints, speed_mps=body.speed_m_s, return_home=body.return_home
    )
    return MissionPublic.from_domain(mission)


@router.get("/drones/{drone_id}/missions", response_model=Page[MissionPublic])
async def list_missions(drone_id: str, c: CoordinatorDep, _: Viewer) -> Page[MissionPublic]:
    missions = await c.store.list_missions(unit_id=drone_id)
    return Page[MissionPublic](
        data=[MissionPublic.from_domain(m) for m in missions], count=len(missions)
    )


async def _mission_of(c: Coordinator, drone_id: str, mission_id: str) -> Any:
    mission = await c.store.get_mission(mission_id)
    if mission.unit_id != drone_id:
        raise NotFound(f"mission {mission_id!r} does not belong to {drone_id}")
    return mission


@router.get("/drones/{drone_id}/missions/{mission_id}.plan")
async def export_plan(drone_id: str, mission_id: str, c: CoordinatorDep, _: Viewer) -> JSONResponse:
    mission = await _mission_of(c, drone_id, mission_id)
    fences = await c.store.list_fences(active=True)
    home = c.drones.drone(drone_id).home if c.drones and drone_id in c.drones.drones else None
    plan = plan_from_mission(
        mission, fences, home=home, cruise_speed_mps=c.settings.drone_cruise_speed_mps
    )
    return JSONResponse(
        plan, headers={"Content-Disposition": f'attachment; filename="{mission_id}.plan"'}
    )


@router.get("/drones/{drone_id}/missions/{mission_id}", response_model=MissionPublic)
async def get_mission(
    drone_id: str, mission_id: str, c: CoordinatorDep, _: Viewer
) -> MissionPublic:
    return MissionPublic.from_domain(await _mission_of(c, drone_id, mission_id))


@router.post(
    "/drones/{drone_id}/missions/{mission_id}/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MissionPublic,
)
async def start_mission(
    drone_id: str, mission_id: str, c: CoordinatorDep, who: Operator
) -> MissionPublic:
    return MissionPublic.from_domain(
        await c.require_drones().start_mission(who, drone_id, mission_id)
    )


@router.post("/missions/import", status_code=status.HTTP_201_CREATED, response_model=MissionPublic)
async def import_plan(body: MissionImport, c: CoordinatorDep, who: Operator) -> MissionPublic:
    waypoints, speed, return_home = mission_from_plan(body.plan)
    mission = await c.require_drones().create_mission(
        who, body.drone_id, waypoints, speed_mps=speed, return_home=return_home, source="qgc"
    )
    return MissionPublic.from_domain(mission)


@router.post(
    "/drones/{drone_id}/goto", status_code=status.HTTP_202_ACCEPTED, response_model=CommandPublic
)
async def goto(drone_id: str, body: GotoRequest, c: CoordinatorDep, who: Operator) -> CommandPublic:
    cmd = await c.require_drones().fly_to(
        who, drone_id, lon=body.lon, lat=body.lat, alt_m=body.alt_m, speed_mps=body.speed_m_s
    )
    return CommandPublic.from_domain(cmd)


@router.post(
    "/drones/{drone_id}/orbit", status_code=status.HTTP_202_ACCEPTED, response_model=CommandPublic
)
async def orbit(
    drone_id: str, body: OrbitRequest, c: CoordinatorDep, who: Operator
) -> CommandPublic:
    cmd = await c.require_drones().orbit(
        who,
        drone_id,
        lon=body.lon,
        lat=body.lat,
        radius_m=body.radius_m,
        velocity_mps=body.velocity_m_s,
        alt_m=body.alt_m,
    )
    return CommandPublic.from_domain(cmd)


def _simple(name: str, end_mission: str | None) -> Any:
    async def handler(drone_id: str, c: CoordinatorDep, who: Operator) -> CommandPublic:
        drones = c.require_drones()
        call = {
            "return": drones.links.return_to_launch,
            "land": drones.links.land,
            "abort": drones.links.abort,
            "pause": drones.links.pause,
            "resume": drones.links.resume,
        }[name]
        cmd = await drones.command(who, drone_id, name, {}, call)
        if end_mission:
            await drones.end_mission(who, drone_id, end_mission)
        return CommandPublic.from_domain(cmd)

    handler.__name__ = f"drone_{name}"
    return handler


for _name, _end in (
    ("return", "aborted"),
    ("land", "aborted"),
    ("abort", "aborted"),
    ("pause", None),
    ("resume", None),
):
    router.add_api_route(
        f"/drones/{{drone_id}}/{_name}",
        _simple(_name, _end),
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CommandPublic,
        summary=f"{_name.capitalize()} (operator)",
    )


@router.post(
    "/drones/{drone_id}/warnings",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WarningPublic,
)
async def send_warning(
    drone_id: str, body: WarningCreate, c: CoordinatorDep, who: Operator
) -> WarningPublic:
    drones = c.require_drones()
    if (body.text is None) + (body.preset_id is None) + (body.clip is None) != 2:
        raise MalformedProblem("give exactly one of text, preset_id or clip", where="text")
    volume, repeat, spotlight, text = body.volume, body.repeat, body.spotlight, body.text
    if body.preset_id is not None:
        preset = await c.store.get_preset(body.preset_id)
        text = preset.texts.get(body.language) or next(iter(preset.texts.values()))
        volume = volume if volume is not None else preset.volume
        repeat = repeat if repeat is not None else preset.repeat
        spotlight = spotlight if spotlight is not None else preset.spotlight
    payload = {
        "text": text,
        "clip": body.clip,
        "language": body.language,
        "voice": body.voice,
        "volume": 80 if volume is None else volume,
        "repeat": repeat or 1,
        "spotlight": bool(spotlight),
        "preset_id": body.preset_id,
    }
    cmd = await drones.send_warning(
        who,
        drone_id,
        kind="clip" if body.clip else "speak",
        payload=payload,
        timeout_s=body.timeout_s or c.settings.warning_timeout_s,
    )
    if spotlight:
        # MAVLink has a standard for the light (MAV_CMD_ILLUMINATOR_ON_OFF): use it.
        await drones.command(
            who,
            drone_id,
            "spotlight",
            {"on": True, "warning_id": cmd.id},
            lambda sysid: drones.links.spotlight(sysid, True),
            correlation_id=cmd.id,
        )
    return WarningPublic.from_domain(cmd)


@router.get("/drones/{drone_id}/warnings/{warning_id}", response_model=WarningPublic)
async def get_warning(
    drone_id: str, warning_id: str, c: CoordinatorDep, _: Viewer
) -> WarningPublic:
    cmd = await c.store.get_command(warning_id)
    if cmd.unit_id != drone_id or cmd.channel != "payload":
        raise NotFound(f"warning {warning_id!r} of {drone_id} does not exist")
    return WarningPublic.from_domain(cmd)


@router.get("/warning-presets", response_model=Page[PresetPublic])
async def list_presets(c: CoordinatorDep, _: Viewer) -> Page[PresetPublic]:
    presets = await c.store.list_presets()
    return Page[PresetPublic](
        data=[PresetPublic.from_domain(p) for p in presets], count=len(presets)
    )


@router.put("/warning-presets/{preset_id}", response_model=PresetPublic)
async def put_preset(
    preset_id: str, body: PresetPut, c: CoordinatorDep, who: Operator
) -> PresetPublic:
    preset = await c.store.save_preset(who, preset_id=preset_id, **body.model_dump())
    return PresetPublic.from_domain(preset)


@router.delete("/warning-presets/{preset_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_preset(preset_id: str, c: CoordinatorDep, who: Operator) -> None:
    await c.store.delete_preset(who, preset_id)
