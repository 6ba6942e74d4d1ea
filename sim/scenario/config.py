"""Scenario parameters, and the fleet a city gets from its size.

One rule for every city: fleet and incident volume scale with the area of the walkable
network (`City.area_km2`), so Helsinki's small central extract and Monaco get comparable
load per unit without city-specific code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from fleet.types import UnitKind

__all__ = ["DroneSpec", "FleetSpec", "ScenarioConfig", "Shift"]


@dataclass(frozen=True, slots=True)
class Shift:
    """A duty window: units check in at ``start_h`` (hour of day) for ``length_h`` hours."""

    start_h: float
    length_h: float

    def on_duty(self, hour_of_day: float) -> bool:
        """Whether the window covers ``hour_of_day`` (wraps past midnight)."""
        return (hour_of_day - self.start_h) % 24.0 < self.length_h


@dataclass(frozen=True, slots=True)
class DroneSpec:
    """Drone and dock model (cruise, launch and endurance match `DispatchPolicy`'s)."""

    endurance_s: float = 1800.0  # full battery at cruise (hover drains the same)
    reserve_pct: float = 20.0  # battery that must remain on landing
    min_launch_pct: float = 40.0  # a docked drone below this is still charging
    recharge_pct_per_min: float = 2.5  # dock charger: empty to full in 40 min
    overwatch_max_s: float = 900.0  # longest orbit over a scene
    handover_s: float = 60.0  # orbit kept after the first ground unit arrives


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """How many of each unit, their shifts, and the drones."""

    ground: Mapping[UnitKind, int]
    shifts: Mapping[UnitKind, tuple[Shift, ...]]  # units take the shifts round-robin
    drones: int
    docks: int

    def shift_of(self, kind: UnitKind, index: int) -> Shift:
        """The shift of the ``index``-th unit of ``kind``."""
        s = self.shifts[kind]
        return s[index % len(s)]


#: Who works when: cars and motorbikes round the clock (shift hand-over is not modelled),
#: bicycles by day, foot patrols in two overlapping shifts, minimal teams (guards,
#: volunteers) in three short ones covering the busy evening.
DEFAULT_SHIFTS: dict[UnitKind, tuple[Shift, ...]] = {
    UnitKind.CAR: (Shift(0, 24),),
    UnitKind.MOTORBIKE: (Shift(0, 24),),
    UnitKind.BICYCLE: (Shift(7, 16),),
    UnitKind.FOOT: (Shift(7, 12), Shift(14, 12)),
    UnitKind.TEAM: (Shift(8, 8), Shift(16, 8), Shift(20, 8)),
}

#: Units per km2 of walkable network (a dense city centre).
DEFAULT_DENSITY: dict[UnitKind, float] = {
    UnitKind.CAR: 1.0,
    UnitKind.MOTORBIKE: 0.5,
    UnitKind.BICYCLE: 0.8,
    UnitKind.FOOT: 1.5,
    UnitKind.TEAM: 2.0,
}


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """Everything that defines a run besides the city (same for both policies).

    Parameters
    ----------
    hours : simulated hours of calls from ``start_hour``; the run continues (without new
        calls) until every incident is served or ``drain_h`` more hours have passed.
    seed : one seed for hot spots, incidents, no-fly zones, baseline posts and placement.
    incidents_per_km2_day : call volume per km2 of walkable network.
    background_share : share of calls anywhere on the network, not at a hot spot.
    """

    hours: float = 24.0
    seed: int = 0
    start_hour: int = 0
    incidents_per_km2_day: float = 40.0
    background_share: float = 0.25
    hot_spots_per_km2: float = 4.0
    density: Mapping[UnitKind, float] = field(default_factory=lambda: dict(DEFAULT_DENSITY))
    shifts: Mapping[UnitKind, tuple[Shift, ...]] = field(
        default_factory=lambda: dict(DEFAULT_SHIFTS)
    )
    drones_per_km2: float = 1.5
    drones_per_dock: int = 2
    drone: DroneSpec = DroneSpec()
    no_fly_zones: int = 1  # drawn on the network from the seed (e.g. a hospital helipad)
    no_fly_radius_m: float = 150.0
    no_fly_margin_m: float = 20.0
    placement_time_s: float = 4.0  # CP-SAT budget per placement (half as deterministic time)
    demand_samples: int = 400
    candidate_sites: int = 120  # candidate posts per unit kind (plus the hot spots)
    drain_h: float = 3.0

    def __post_init__(self) -> None:
        if not (0 < self.hours <= 24 * 14):
            raise ValueError("hours must be in (0, 336]")
        if not (0 <= self.start_hour < 24):
            raise ValueError("start_hour must be in [0, 24)")
        if not (0 <= self.background_share < 1):
            raise ValueError("background_share must be in [0, 1)")
        if self.drones_per_dock < 1:
            raise ValueError("drones_per_dock must be >= 1")

    def per_day(self, area_km2: float) -> float:
        """Expected calls per day in a city of ``area_km2``."""
        return self.incidents_per_km2_day * area_km2

    def hot_spot_count(self, area_km2: float) -> int:
        """Number of hot spots (4 to 60)."""
        return int(min(60, max(4, round(self.hot_spots_per_km2 * area_km2))))

    def fleet(self, area_km2: float) -> FleetSpec:
        """The fleet of a city of ``area_km2``: at least one unit of each kind, two drones."""
        ground = {k: max(1, math.ceil(d * area_km2)) for k, d in self.density.items()}
        drones = max(2, math.ceil(self.drones_per_km2 * area_km2))
        docks = max(1, math.ceil(drones / self.drones_per_dock))
        return FleetSpec(ground, dict(self.shifts), drones, docks)
