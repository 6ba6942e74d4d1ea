"""API schemas: pydantic at the edge, one family per resource; `to_domain`/`from_domain` here.

Geometry is GeoJSON (RFC 7946, lon/lat order) validated by geojson-pydantic; every document
refuses unknown fields so a typo comes back as a 422 naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from geojson_pydantic import Feature, LineString, MultiPolygon, Point, Polygon
from pydantic import BaseModel, ConfigDict, Field, field_validator
from shapely.geometry import shape
from shapely.validation import explain_validity

from fleet.domain import (
    AuditEntry,
    Command,
    DutySession,
    Fence,
    Incident,
    Mission,
    MissionWaypoint,
    Unit,
    WarningPreset,
)
from fleet.state import LiveUnit
from fleet.types import CommandStatus, FenceKind, IncidentState, UnitKind

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int


def _check_lon_lat(coords: Any) -> None:
    lon, lat = coords[0], coords[1]
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon} outside [-180, 180] (GeoJSON order is lon, lat)")
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat} outside [-90, 90] (GeoJSON order is lon, lat)")


class StrictPoint(Point):
    model_config = ConfigDict(extra="forbid")

    @field_validator("coordinates")
    @classmethod
    def _range(cls, v: Any) -> Any:
        _check_lon_lat(v)
        return v


class _AreaMixin:
    @field_validator("coordinates")
    @classmethod
    def _range(cls, v: Any) -> Any:
        def walk(node: Any) -> None:
            if node and isinstance(node[0], int | float):
                _check_lon_lat(node)
            else:
                for child in node:
                    walk(child)

        walk(v)
        return v


class LineString3D(LineString):
    """A LineString whose positions carry an altitude: [lon, lat, alt_m]."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("coordinates")
    @classmethod
    def _lon_lat_alt(cls, v: Any) -> Any:
        for i, c in enumerate(v):
            if len(c) != 3:
                raise ValueError(f"position {i} needs [lon, lat, alt_m]")
            _check_lon_lat(c)
            if not 0 < c[2] <= 500:
                raise ValueError(f"position {i}: alt_m {c[2]} outside (0, 500]")
        return v


class StrictPolygon(_AreaMixin, Polygon):
    model_config = ConfigDict(extra="forbid")


class StrictMultiPolygon(_AreaMixin, MultiPolygon):
    model_config = ConfigDict(extra="forbid")


# --- units ---------------------------------------------------------------------------------


class UnitCreate(Strict):
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    kind: UnitKind
    name: str | None = Field(default=None, max_length=200)
    capabilities: list[str] = Field(default_factory=list, max_length=50)
    home_zone_id: str | None = None
    dock_id: str | None = None
    mavlink_sysid: int | None = Field(default=None, ge=1, le=255)
    team_size: int = Field(default=1, ge=1, le=10_000)
    properties: dict[str, Any] = Field(default_factory=dict)


class LivePublic(BaseModel):
    lon: float | None
    lat: float | None
    alt_m: float | None
    speed_mps: float | None
    heading_deg: float | None
    battery_pct: float | None
    status: str
    on_duty: bool
    online: bool
    last_seen: datetime | None


class UnitPublic(BaseModel):
    id: str
    kind: UnitKind
    name: str
    capabilities: list[str]
    home_zone_id: str | None
    dock_id: str | None
    mavlink_sysid: int | None
    team_size: int
    properties: dict[str, Any]
    created_at: datetime
    live: LivePublic | None

    @classmethod
    def from_domain(cls, unit: Unit, live: LiveUnit | None) -> UnitPublic:
        return cls(
            id=unit.id,
            kind=unit.kind,
            name=unit.name,
            capabilities=list(unit.capabilities),
            home_zone_id=unit.home_zone_id,
            dock_id=unit.dock_id,
            mavlink_sysid=unit.mavlink_sysid,
            team_size=live.team_size if live else unit.team_size,
            properties=unit.properties,
            created_at=unit.created_at,
            live=None
            if live is None
            else LivePublic(
                lon=live.lon,
                lat=live.lat,
                alt_m=live.alt_m,
                speed_mps=live.speed_mps,
                heading_deg=live.heading_deg,
                battery_pct=live.battery_pct,
                status=live.status.value,
                on_duty=live.on_duty,
                online=live.online,
                last_seen=live.last_seen,
            ),
        )


class DutyCheckIn(Strict):
    team_size: int | None = Field(default=None, ge=1, le=10_000)
    note: str | None = Field(default=None, max_length=500)


class DutyPublic(BaseModel):
    id: int
    unit_id: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    team_size: int
    source: str

    @classmethod
    def from_domain(cls, d: DutySession) -> DutyPublic:
        return cls(
            id=d.id,
            unit_id=d.unit_id,
            checked_in_at=d.checked_in_at,
            checked_out_at=d.checked_out_at,
            team_size=d.team_size,
            source=d.source,
        )


# --- incidents -----------------------------------------------------------------------------


class IncidentProperties(Strict):
    category: str = Field(min_length=1, max_length=64)
    priority: int = Field(default=3, ge=1, le=5, description="1 is the most urgent")
    description: str = Field(default="", max_length=2000)
    external_ref: str | None = Field(default=None, max_length=200)


class IncidentCreate(Feature[StrictPoint, IncidentProperties]):
    """A GeoJSON Feature with a Point in lon/lat order."""

    model_config = ConfigDict(extra="forbid")


class IncidentStateChange(Strict):
    state: IncidentState
    note: str | None = Field(default=None, max_length=500)


class TransitionPublic(BaseModel):
    from_state: IncidentState | None
    to_state: IncidentState
    at: datetime
    actor: str


class IncidentPublic(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any]

    @classmethod
    def from_domain(cls, inc: Incident) -> IncidentPublic:
        return cls(
            id=inc.id,
            geometry={"type": "Point", "coordinates": [inc.lon, inc.lat]},
            properties={
                "category": inc.category,
                "priority": inc.priority,
                "description": inc.description,
                "state": inc.state.value,
                "source": inc.source,
                "external_ref": inc.external_ref,
                "created_at": inc.created_at.isoformat(),
                "updated_at": inc.updated_at.isoformat(),
                "transitions": [
                    {
                        "from": t.from_state.value if t.from_state else None,
                        "to": t.to_state.value,
                        "at": t.at.isoformat(),
                        "actor": t.actor,
                    }
                    for t in inc.transitions
                ],
            },
        )


class IncidentsPublic(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[IncidentPublic]
    count: int


# --- fences --------------------------------------------------------------------------------


class FenceProperties(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: FenceKind
    active: bool = True
    min_alt_m: float | None = None
    max_alt_m: float | None = None


class FenceCreate(Feature[StrictPolygon | StrictMultiPolygon, FenceProperties]):
    """A GeoJSON Feature with a Polygon or MultiPolygon (lon/lat), valid per OGC rules."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("geometry")
    @classmethod
    def _valid_area(cls, geom: Any) -> Any:
        shp = shape(geom.model_dump(exclude_none=True))
        if not shp.is_valid:
            raise ValueError(f"polygon is not valid: {explain_validity(shp)}")
        if shp.area == 0:
            raise ValueError("polygon has no area")
        return geom


class FenceUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None


class FencePublic(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any]

    @classmethod
    def from_domain(cls, f: Fence) -> FencePublic:
        return cls(
            id=f.id,
            geometry=f.geometry,
            properties={
                "name": f.name,
                "kind": f.kind.value,
                "active": f.active,
                "min_alt_m": f.min_alt_m,
                "max_alt_m": f.max_alt_m,
                "created_at": f.created_at.isoformat(),
                "updated_at": f.updated_at.isoformat(),
            },
        )


class FencesPublic(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[FencePublic]
    count: int


# --- commands, audit, tokens ---------------------------------------------------------------


class CommandPublic(BaseModel):
    id: str
    unit_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    status: CommandStatus
    attempts: int
    timeout_s: float
    actor: str
    correlation_id: str | None
    error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_domain(cls, c: Command) -> CommandPublic:
        return cls(
            id=c.id,
            unit_id=c.unit_id,
            channel=c.channel,
            kind=c.kind,
            payload=c.payload,
            status=c.status,
            attempts=c.attempts,
            timeout_s=c.timeout_s,
            actor=c.actor,
            correlation_id=c.correlation_id,
            error=c.error,
            result=c.result,
            created_at=c.created_at,
            sent_at=c.sent_at,
            completed_at=c.completed_at,
        )


class CommandCreate(Strict):
    kind: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(default=None, gt=0, le=3600)


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target_type: str
    target_id: str | None
    detail: dict[str, Any]

    @classmethod
    def from_domain(cls, a: AuditEntry) -> AuditPublic:
        return cls(
            id=a.id,
            at=a.at,
            actor=a.actor,
            role=a.role,
            action=a.action,
            target_type=a.target_type,
            target_id=a.target_id,
            detail=a.detail,
        )


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["viewer", "dispatcher", "operator", "admin"]


class TokenCreated(BaseModel):
    id: str
    name: str
    role: str
    token: str


# --- drones, missions, warnings ------------------------------------------------------------


class DronePublic(UnitPublic):
    drone: dict[str, Any]


class MissionCreate(Strict):
    """Waypoints as a GeoJSON LineString with [lon, lat, alt_m] positions (alt above launch)."""

    waypoints: LineString3D
    speed_m_s: float | None = Field(default=None, gt=0, le=30)
    return_home: bool = True
    loiter_s: float | list[float] = Field(
        default=0.0, description="hold time at every waypoint, or one value per waypoint"
    )

    @field_validator("loiter_s")
    @classmethod
    def _non_negative(cls, v: float | list[float]) -> float | list[float]:
        values = v if isinstance(v, list) else [v]
        if any(x < 0 for x in values):
            raise ValueError("loiter_s must be >= 0")
        return v

    def to_domain(self) -> list[MissionWaypoint]:
        coords = self.waypoints.coordinates
        loiters = (
            self.loiter_s if isinstance(self.loiter_s, list) else [self.loiter_s] * len(coords)
        )
        if len(loiters) != len(coords):
            raise ValueError("loiter_s needs one value per waypoint")
        return [
            MissionWaypoint(
                lon=c[0], lat=c[1], alt_m=c[2], speed_mps=self.speed_m_s, loiter_s=loiter
            )
            for c, loiter in zip(coords, loiters, strict=True)
        ]


class MissionPublic(BaseModel):
    id: str
    drone_id: str
    status: str
    current_item: int
    total_items: int
    reached: list[int]
    waypoints: dict[str, Any]
    speed_m_s: float | None
    return_home: bool
    source: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def from_domain(cls, m: Mission) -> MissionPublic:
        return cls(
            id=m.id,
            drone_id=m.unit_id,
            status=m.status,
            current_item=m.current_item,
            total_items=m.total_items,
            reached=list(m.reached),
            waypoints={
                "type": "LineString",
                "coordinates": [[w.lon, w.lat, w.alt_m] for w in m.waypoints],
            },
            speed_m_s=m.speed_mps,
            return_home=m.return_home,
            source=m.source,
            error=m.error,
            created_at=m.created_at,
            started_at=m.started_at,
            ended_at=m.ended_at,
        )


class MissionImport(Strict):
    drone_id: str
    plan: dict[str, Any] = Field(description="a QGroundControl .plan document")


class GotoRequest(Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    alt_m: float = Field(gt=0, le=500, description="above the launch point")
    speed_m_s: float | None = Field(default=None, gt=0, le=30)


class OrbitRequest(Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    radius_m: float = Field(ge=5, le=2000)
    velocity_m_s: float = Field(default=5.0, gt=0, le=20)
    alt_m: float = Field(default=60.0, gt=0, le=500)


class WarningCreate(Strict):
    """A loudspeaker warning: a text (spoken by the payload's TTS) or a preset, optionally
    with the spotlight."""

    text: str | None = Field(default=None, min_length=1, max_length=500)
    preset_id: str | None = None
    clip: str | None = Field(default=None, max_length=200, description="a stored audio clip")
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    voice: str | None = Field(default=None, max_length=50)
    volume: int | None = Field(default=None, ge=0, le=100)
    repeat: int | None = Field(default=None, ge=1, le=20)
    spotlight: bool | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=120)


class WarningPublic(BaseModel):
    id: str
    drone_id: str
    kind: str
    status: str  # pending | sent | acked | failed
    state: str | None  # the payload's last report: accepted | playing | done | failed
    reason: str | None
    text: str | None
    language: str | None
    position: dict[str, Any] | None
    actor: str
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_domain(cls, c: Command) -> WarningPublic:
        timed_out = c.status is CommandStatus.TIMED_OUT
        return cls(
            id=c.id,
            drone_id=c.unit_id,
            kind=c.kind,
            # A warning nobody confirmed did not happen: report it as failed, with why.
            status="failed" if timed_out else c.status.value,
            state=(c.result or {}).get("state"),
            reason=(
                f"no answer from the payload companion within {c.timeout_s:g} s"
                if timed_out
                else c.error
            ),
            text=c.payload.get("text"),
            language=c.payload.get("language"),
            position=c.payload.get("position"),
            actor=c.actor,
            created_at=c.created_at,
            completed_at=c.completed_at,
        )


class PresetPut(Strict):
    name: str = Field(min_length=1, max_length=200)
    texts: dict[str, str] = Field(min_length=1, description="language -> text")
    volume: int = Field(default=80, ge=0, le=100)
    repeat: int = Field(default=2, ge=1, le=20)
    spotlight: bool = False


class PresetPublic(BaseModel):
    id: str
    name: str
    texts: dict[str, str]
    volume: int
    repeat: int
    spotlight: bool

    @classmethod
    def from_domain(cls, p: WarningPreset) -> PresetPublic:
        return cls(
            id=p.id,
            name=p.name,
            texts=p.texts,
            volume=p.volume,
            repeat=p.repeat,
            spotlight=p.spotlight,
        )
