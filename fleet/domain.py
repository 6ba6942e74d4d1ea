"""Domain records of the fleet: frozen dataclasses, validated on construction (STYLE.md §2)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleet.types import (
    CommandStatus,
    FenceKind,
    IncidentState,
    Role,
    UnitKind,
)


def check_lon_lat(lon: float, lat: float) -> None:
    """Raise ValueError unless (lon, lat) is a finite WGS84 coordinate."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError("coordinates must be finite")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} outside [-90, 90]")


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    kind: UnitKind
    name: str
    created_at: datetime
    capabilities: tuple[str, ...] = ()
    home_zone_id: str | None = None
    dock_id: str | None = None
    mavlink_sysid: int | None = None
    team_size: int = 1
    properties: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("unit id must not be empty")
        if self.team_size < 1:
            raise ValueError("team_size must be at least 1")
        if self.mavlink_sysid is not None and not 1 <= self.mavlink_sysid <= 255:
            raise ValueError("mavlink_sysid must be within 1..255")


@dataclass(frozen=True, slots=True)
class Dock:
    id: str
    name: str
    lon: float
    lat: float
    created_at: datetime
    capacity: int = 1
    charge_minutes: float = 30.0

    def __post_init__(self) -> None:
        check_lon_lat(self.lon, self.lat)


@dataclass(frozen=True, slots=True)
class DutySession:
    id: int
    unit_id: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    team_size: int
    source: str
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.checked_out_at is None


@dataclass(frozen=True, slots=True)
class Position:
    unit_id: str
    at: datetime
    lon: float
    lat: float
    alt_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    battery_pct: float | None = None


@dataclass(frozen=True, slots=True)
class IncidentTransition:
    from_state: IncidentState | None
    to_state: IncidentState
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    category: str
    priority: int
    lon: float
    lat: float
    state: IncidentState
    created_at: datetime
    updated_at: datetime
    description: str = ""
    source: str = "api"
    external_ref: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    transitions: tuple[IncidentTransition, ...] = ()

    def __post_init__(self) -> None:
        check_lon_lat(self.lon, self.lat)
        if not 1 <= self.priority <= 5:
            raise ValueError("priority must be within 1 (highest) .. 5")
        if not self.category:
            raise ValueError("category must not be empty")


@dataclass(frozen=True, slots=True)
class Assignment:
    id: str
    incident_id: str
    unit_id: str
    status: str
    actor: str
    created_at: datetime
    updated_at: datetime
    tier: int | None = None
    eta_s: float | None = None
    command_id: str | None = None


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    unit_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    status: CommandStatus
    attempts: int
    timeout_s: float
    actor: str
    created_at: datetime
    correlation_id: str | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    sent_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fence:
    id: str
    name: str
    kind: FenceKind
    geometry: dict[str, Any]  # GeoJSON Polygon or MultiPolygon, lon/lat
    active: bool
    created_at: datetime
    updated_at: datetime
    min_alt_m: float | None = None
    max_alt_m: float | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target_type: str
    target_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API token's name and role (or the service itself)."""

    name: str
    role: Role
    token_id: str | None = None


SYSTEM = Principal(name="system", role=Role.ADMIN)


@dataclass(frozen=True, slots=True)
class MissionWaypoint:
    lon: float
    lat: float
    alt_m: float
    speed_mps: float | None = None
    loiter_s: float = 0.0

    def __post_init__(self) -> None:
        check_lon_lat(self.lon, self.lat)
        if not 0 < self.alt_m <= 500:
            raise ValueError("alt_m must be within (0, 500]")
        if self.loiter_s < 0:
            raise ValueError("loiter_s must be >= 0")


@dataclass(frozen=True, slots=True)
class Mission:
    id: str
    unit_id: str
    status: str  # uploaded | running | paused | completed | failed | aborted
    waypoints: tuple[MissionWaypoint, ...]
    return_home: bool
    actor: str
    created_at: datetime
    speed_mps: float | None = None
    current_item: int = 0
    total_items: int = 0
    reached: tuple[int, ...] = ()
    source: str = "api"
    correlation_id: str | None = None
    error: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


MISSION_ACTIVE = frozenset({"uploaded", "running", "paused"})


@dataclass(frozen=True, slots=True)
class WarningPreset:
    id: str
    name: str
    texts: dict[str, str]
    volume: int
    repeat: int
    spotlight: bool
    created_at: datetime
