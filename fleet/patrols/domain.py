"""Records of patrol operations as the rest of the service sees them (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Sortie life: pending -> launching -> flying -> completed | failed; or pending -> skipped
# (a check refused it: battery, no-fly), missed (its slot passed), cancelled (patrol stopped).
SORTIE_OPEN = frozenset({"pending", "launching", "flying"})
SORTIE_DONE = frozenset({"completed", "failed", "skipped", "missed", "cancelled"})
PATROL_ACTIVE = frozenset({"running"})


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lon, lat) of a GeoJSON Point, or the vertex mean of a Polygon's outer ring.

    Raises
    ------
    ValueError
        For another geometry type.
    """
    kind = geometry.get("type")
    if kind == "Point":
        lon, lat = geometry["coordinates"][:2]
        return float(lon), float(lat)
    if kind == "Polygon":
        ring = [tuple(p[:2]) for p in geometry["coordinates"][0]]
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring = ring[:-1]
        return (
            sum(float(p[0]) for p in ring) / len(ring),
            sum(float(p[1]) for p in ring) / len(ring),
        )
    raise ValueError(f"a hot spot is a Point or a Polygon, not {kind!r}")


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A place to patrol, revisited every ``revisit_s`` with ``dwell_s`` on site."""

    id: str
    name: str
    geometry: dict[str, Any]
    weight: float
    revisit_s: float
    dwell_s: float
    created_at: datetime
    updated_at: datetime
    active_hours: tuple[tuple[int, int], ...] = ()
    source: str = "manual"
    active: bool = True
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def lonlat(self) -> tuple[float, float]:
        return centroid(self.geometry)

    def active_at_hour(self, hour: int) -> bool:
        """Is the hot spot active at this hour of day (no hours given: always)?"""
        if not self.active_hours:
            return True
        for lo, hi in self.active_hours:
            # A window may wrap midnight (22 -> 2).
            if (lo <= hour < hi) if lo < hi else (hour >= lo or hour < hi):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Patrol:
    """A planned (and maybe running) patrol; ``plan`` is the current version's plan."""

    id: str
    name: str
    status: str  # planned | running | stopped | completed | failed
    version: int
    request: dict[str, Any]
    plan: dict[str, Any]
    clock_scale: float
    actor: str
    created_at: datetime
    updated_at: datetime
    progress: dict[str, Any] = field(default_factory=dict)
    schedule_id: str | None = None
    error: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PatrolSortie:
    """One drone sortie: when it flies (plan seconds), where, and what became of it."""

    id: str
    patrol_id: str
    version: int
    drone_id: str
    index: int
    launch_s: float
    land_s: float
    waypoints: tuple[dict[str, Any], ...]
    hot_spots: tuple[str, ...]
    status: str
    reason: str | None = None
    mission_id: str | None = None
    launched_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PatrolRoute:
    """A ground unit's road route and its command's outcome."""

    id: str
    patrol_id: str
    version: int
    unit_id: str
    route: dict[str, Any]
    stops: tuple[dict[str, Any], ...]
    status: str  # pending | sent | acked | failed | timed_out
    command_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PatrolVisit:
    """A unit seen at a hot spot, ``plan_s`` seconds into the patrol (plan time)."""

    patrol_id: str
    hot_spot_id: str
    unit_id: str
    at: datetime
    plan_s: float


@dataclass(frozen=True, slots=True)
class PatrolSchedule:
    """A recurring patrol: ISO weekdays, local start and end, the patrol request to run."""

    id: str
    name: str
    template: dict[str, Any]
    days: tuple[int, ...]
    start_time: str
    end_time: str
    timezone: str
    active: bool
    created_at: datetime
    updated_at: datetime
    last_run_on: str | None = None
    last_patrol_id: str | None = None


@dataclass(frozen=True, slots=True)
class Overwatch:
    """An event overwatch: the position, the relief rotation and the achieved coverage."""

    id: str
    status: str  # planned | running | completed | stopped | failed
    geometry: dict[str, Any]
    alt_m: float
    radius_m: float
    duration_s: float
    clock_scale: float
    drones: tuple[str, ...]
    plan: dict[str, Any]
    report: dict[str, Any]
    actor: str
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


__all__ = [
    "PATROL_ACTIVE",
    "SORTIE_DONE",
    "SORTIE_OPEN",
    "HotSpot",
    "Overwatch",
    "Patrol",
    "PatrolRoute",
    "PatrolSchedule",
    "PatrolSortie",
    "PatrolVisit",
    "centroid",
]
