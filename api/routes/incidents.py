"""Incidents: create from a GeoJSON Point Feature, list with filters, change state."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, status

from api.deps import CoordinatorDep, Dispatcher, Viewer
from api.schemas import IncidentCreate, IncidentPublic, IncidentsPublic, IncidentStateChange
from fleet.errors import MalformedProblem
from fleet.types import TERMINAL_INCIDENT_STATES, IncidentState

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


def _event(inc: IncidentPublic) -> dict[str, object]:
    return inc.model_dump(mode="json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentPublic)
async def create_incident(
    body: IncidentCreate, c: CoordinatorDep, who: Dispatcher
) -> IncidentPublic:
    lon, lat = body.geometry.coordinates[0], body.geometry.coordinates[1]
    props = body.properties
    assert props is not None
    incident = await c.store.create_incident(
        who,
        category=props.category,
        lon=lon,
        lat=lat,
        priority=props.priority,
        description=props.description,
        external_ref=props.external_ref,
        source="api",
    )
    out = IncidentPublic.from_domain(incident)
    c.events.publish("incident.created", _event(out))
    if c.settings.auto_dispatch and c.dispatcher is not None:
        c.dispatcher.submit(incident.id)
    return out


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        west, south, east, north = (float(x) for x in value.split(","))
    except ValueError:
        raise MalformedProblem(
            "bbox must be west,south,east,north in degrees", where="bbox"
        ) from None
    return west, south, east, north


@router.get("", response_model=IncidentsPublic)
async def list_incidents(
    c: CoordinatorDep,
    _: Viewer,
    state: list[IncidentState] | None = Query(None, description="repeat to match several"),
    category: str | None = None,
    since: datetime | None = None,
    bbox: str | None = Query(None, description="west,south,east,north"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> IncidentsPublic:
    incidents, total = await c.store.list_incidents(
        states=state,
        category=category,
        since=since,
        bbox=_bbox(bbox),
        limit=limit,
        offset=offset,
    )
    return IncidentsPublic(features=[IncidentPublic.from_domain(i) for i in incidents], count=total)


@router.get("/{incident_id}", response_model=IncidentPublic)
async def get_incident(incident_id: str, c: CoordinatorDep, _: Viewer) -> IncidentPublic:
    return IncidentPublic.from_domain(await c.store.get_incident(incident_id))


@router.post("/{incident_id}/state", response_model=IncidentPublic)
async def change_state(
    incident_id: str, body: IncidentStateChange, c: CoordinatorDep, who: Dispatcher
) -> IncidentPublic:
    incident = await c.store.transition_incident(who, incident_id, body.state, note=body.note)
    if incident.state in TERMINAL_INCIDENT_STATES and c.dispatcher is not None:
        c.dispatcher.request_replan()  # its units are free again
    out = IncidentPublic.from_domain(incident)
    c.events.publish(f"incident.{incident.state.value}", _event(out))
    return out
