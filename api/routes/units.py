"""Units, their live state, duty check-in/out, and commands to a unit."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from api.deps import CoordinatorDep, Dispatcher, Viewer
from api.schemas import (
    CommandCreate,
    CommandPublic,
    DutyCheckIn,
    DutyPublic,
    Page,
    UnitCreate,
    UnitPublic,
)
from fleet.types import UnitKind

router = APIRouter(prefix="/v1/units", tags=["units"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UnitPublic)
async def create_unit(body: UnitCreate, c: CoordinatorDep, who: Dispatcher) -> UnitPublic:
    unit = await c.store.create_unit(
        who,
        kind=body.kind,
        name=body.name,
        unit_id=body.id,
        capabilities=body.capabilities,
        home_zone_id=body.home_zone_id,
        dock_id=body.dock_id,
        mavlink_sysid=body.mavlink_sysid,
        team_size=body.team_size,
        properties=body.properties,
    )
    live = c.state.register(unit)
    c.metrics.units_known.set(len(c.state.units))
    c.events.publish("unit.created", live.to_dict())
    return UnitPublic.from_domain(unit, live)


@router.get("", response_model=Page[UnitPublic])
async def list_units(
    c: CoordinatorDep,
    _: Viewer,
    kind: UnitKind | None = None,
    online: bool | None = None,
    on_duty: bool | None = None,
) -> Page[UnitPublic]:
    data = []
    for unit in await c.store.list_units(kind=kind):
        live = c.state.get(unit.id)
        if online is not None and (live is None or live.online != online):
            continue
        if on_duty is not None and (live is None or live.on_duty != on_duty):
            continue
        data.append(UnitPublic.from_domain(unit, live))
    return Page[UnitPublic](data=data, count=len(data))


@router.get("/{unit_id}", response_model=UnitPublic)
async def get_unit(unit_id: str, c: CoordinatorDep, _: Viewer) -> UnitPublic:
    unit = await c.store.get_unit(unit_id)
    return UnitPublic.from_domain(unit, c.state.get(unit_id))


@router.post("/{unit_id}/duty", status_code=status.HTTP_201_CREATED, response_model=DutyPublic)
async def check_in(
    unit_id: str, c: CoordinatorDep, who: Dispatcher, body: DutyCheckIn | None = None
) -> DutyPublic:
    body = body or DutyCheckIn()
    session = await c.store.check_in(who, unit_id, team_size=body.team_size, note=body.note)
    c.state.set_duty(unit_id, True, session.team_size)
    c.events.publish("duty.check_in", {"unit_id": unit_id, "team_size": session.team_size})
    return DutyPublic.from_domain(session)


@router.delete("/{unit_id}/duty", response_model=DutyPublic)
async def check_out(unit_id: str, c: CoordinatorDep, who: Dispatcher) -> DutyPublic:
    session = await c.store.check_out(who, unit_id)
    c.state.set_duty(unit_id, False)
    c.events.publish("duty.check_out", {"unit_id": unit_id})
    return DutyPublic.from_domain(session)


@router.post(
    "/{unit_id}/commands", status_code=status.HTTP_202_ACCEPTED, response_model=CommandPublic
)
async def send_command(
    unit_id: str, body: CommandCreate, c: CoordinatorDep, who: Dispatcher
) -> CommandPublic:
    await c.store.get_unit(unit_id)  # 404 before anything is recorded
    cmd = await c.outbox.submit(who, unit_id, body.kind, body.payload, timeout_s=body.timeout_s)
    return CommandPublic.from_domain(cmd)


@router.get("/{unit_id}/commands", response_model=Page[CommandPublic])
async def list_commands(
    unit_id: str, c: CoordinatorDep, _: Viewer, limit: int = Query(100, ge=1, le=1000)
) -> Page[CommandPublic]:
    cmds = await c.store.list_commands(unit_id=unit_id, limit=limit)
    return Page[CommandPublic](data=[CommandPublic.from_domain(x) for x in cmds], count=len(cmds))
