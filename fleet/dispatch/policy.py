"""The dispatch policy: pure functions over a snapshot of the fleet (no I/O, no asyncio).

The live dispatcher and the city simulation call exactly these functions, so a policy
measured in simulation is the policy that runs.

* `FleetSnapshot` — every unit as arrays (position in metres, kind, availability, battery).
* `recommend` — every unit ranked for an incident: ETA (planners.eta: drones with no-fly
  detours, wind and battery round trip; ground units by road-detour factor), feasibility
  with the reason when not, and the 1/3/5 tier each can meet.
* `plan_response` — "one-point call, multi-point response": who is called (every feasible
  unit that can arrive within the call tier), who is assigned per tier, whether a drone goes
  first, and which tiers cannot be met (escalation).
* `next_best` — the replacement for a responder that did not acknowledge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fleet.types import UnitKind
from planners.eta import TIERS_S, DroneFleetState, Wind, drone_eta, ground_eta, tier_of
from planners.geo import Airspace, Projection

FloatArray = npt.NDArray[np.float64]

#: Typical urban speeds (m/s) and the time from call to moving (s), per kind.
GROUND_SPEED_MPS: Mapping[UnitKind, float] = {
    UnitKind.CAR: 10.0,
    UnitKind.MOTORBIKE: 11.0,
    UnitKind.BICYCLE: 5.0,
    UnitKind.FOOT: 1.6,
    UnitKind.TEAM: 1.5,
    UnitKind.BOAT: 8.0,
}
DISPATCH_DELAY_S: Mapping[UnitKind, float] = {
    UnitKind.CAR: 30.0,
    UnitKind.MOTORBIKE: 20.0,
    UnitKind.BICYCLE: 15.0,
    UnitKind.FOOT: 10.0,
    UnitKind.TEAM: 20.0,
    UnitKind.BOAT: 45.0,
}


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """What the dispatcher does; every field has the value the field model asks for."""

    tiers_s: tuple[float, float, float] = TIERS_S  # 1, 3 and 5 minutes
    call_tier: int = 3  # call every unit that can arrive within this tier (1, 3 or 5)
    # Responders assigned per tier, by priority (1 most urgent): (tier1, tier3, tier5).
    responders: Mapping[int, tuple[int, int, int]] = field(
        default_factory=lambda: {
            1: (1, 2, 2),
            2: (1, 1, 1),
            3: (1, 1, 0),
            4: (1, 0, 0),
            5: (1, 0, 0),
        }
    )
    drone_first: bool = True
    drone_first_categories: frozenset[str] = frozenset(
        {
            "fight",
            "assault",
            "robbery",
            "theft",
            "crowd",
            "trespass",
            "missing_person",
            "suspicious",
            "vandalism",
            "fire",
            "traffic_accident",
            "drowning",
        }
    )
    drone_first_max_priority: int = 3  # priorities 1..this get a drone first
    warning_preset_by_category: Mapping[str, str] = field(
        default_factory=lambda: {
            "crowd": "leave-area",
            "fight": "stop",
            "drowning": "water-danger",
            "trespass": "leave-area",
        }
    )
    referral_categories: frozenset[str] = frozenset(
        {"noise_complaint", "lost_property", "parking", "animal", "information"}
    )
    road_detour_factor: float = 1.35
    drone_cruise_speed_mps: float = 15.0
    drone_cruise_alt_m: float = 60.0
    drone_launch_delay_s: float = 15.0
    drone_reserve_pct: float = 20.0
    drone_endurance_s: float = 1800.0
    nearest_only: bool = False  # baseline: the single nearest idle unit, nothing else

    @classmethod
    def baseline(cls) -> DispatchPolicy:
        """Nearest idle unit, no multi-point call, no drone first."""
        return cls(
            drone_first=False,
            nearest_only=True,
            call_tier=1,
            responders={p: (1, 0, 0) for p in range(1, 6)},
        )


@dataclass(frozen=True, slots=True, eq=False)
class FleetSnapshot:
    """Every unit at one instant, as arrays in the local metric projection `proj`."""

    proj: Projection
    unit_ids: tuple[str, ...]
    kinds: tuple[UnitKind, ...]
    xy: FloatArray  # (n, 2) metres
    available: npt.NDArray[np.bool_]  # on duty (or a drone), online, not busy
    battery_pct: FloatArray  # nan where unknown / not a drone
    altitude_m: FloatArray  # 0 for ground units
    docks_xy: FloatArray  # (k, 2) drone docks (for the return leg)
    speed_mps: FloatArray = field(init=False)
    delay_s: FloatArray = field(init=False)
    is_drone: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.unit_ids)
        if not (len(self.kinds) == n == len(self.xy) == len(self.available)):
            raise ValueError("snapshot arrays differ in length")
        object.__setattr__(
            self, "is_drone", np.array([k is UnitKind.DRONE for k in self.kinds], dtype=bool)
        )
        object.__setattr__(
            self,
            "speed_mps",
            np.array([GROUND_SPEED_MPS.get(k, 1.5) for k in self.kinds], dtype=np.float64),
        )
        object.__setattr__(
            self,
            "delay_s",
            np.array([DISPATCH_DELAY_S.get(k, 20.0) for k in self.kinds], dtype=np.float64),
        )

    @classmethod
    def build(
        cls,
        proj: Projection,
        units: Sequence[tuple[str, UnitKind, float, float, bool, float, float]],
        docks_lonlat: Sequence[tuple[float, float]] = (),
    ) -> FleetSnapshot:
        """From (id, kind, lon, lat, available, battery_pct, altitude_m) rows."""
        xy = proj.to_xy([(u[2], u[3]) for u in units]) if units else np.zeros((0, 2))
        docks = proj.to_xy(list(docks_lonlat)) if docks_lonlat else np.zeros((0, 2))
        return cls(
            proj=proj,
            unit_ids=tuple(u[0] for u in units),
            kinds=tuple(u[1] for u in units),
            xy=np.asarray(xy, dtype=np.float64).reshape(-1, 2),
            available=np.array([u[4] for u in units], dtype=bool),
            battery_pct=np.array([u[5] for u in units], dtype=np.float64),
            altitude_m=np.array([u[6] for u in units], dtype=np.float64),
            docks_xy=np.asarray(docks, dtype=np.float64).reshape(-1, 2),
        )


@dataclass(frozen=True, slots=True)
class Recommendation:
    unit_id: str
    kind: UnitKind
    eta_s: float
    tier: int  # 1, 3 or 5: the first tier the ETA meets; 0 none
    feasible: bool
    reason: str | None  # why not feasible


_REASONS = (
    None,
    "not available",
    "no dock to return to",
    "no safe path (no-fly zone or wind)",
    "battery cannot cover the round trip with its reserve",
)


def _etas(
    snap: FleetSnapshot,
    target_xy: FloatArray,
    policy: DispatchPolicy,
    airspace: Airspace | None,
    wind: Wind,
    drone_k: int | None = None,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """ETA of every unit and a reason code (index into `_REASONS`; 0 = feasible)."""
    n = len(snap.unit_ids)
    eta = np.full(n, math.inf)
    why = np.where(snap.available, 0, 1).astype(np.int8)
    ground = ~snap.is_drone
    if ground.any():
        eta[ground] = ground_eta(
            snap.xy[ground],
            target_xy,
            speed_mps=snap.speed_mps[ground],
            detour_factor=policy.road_detour_factor,
            dispatch_delay_s=snap.delay_s[ground],
        )
    drones = np.flatnonzero(snap.is_drone & snap.available)
    if drones.size:
        if len(snap.docks_xy) == 0:
            why[drones] = 2
        else:
            battery = np.nan_to_num(snap.battery_pct[drones], nan=0.0)
            fleet = DroneFleetState(
                position_xy=snap.xy[drones],
                cruise_speed_mps=policy.drone_cruise_speed_mps,
                cruise_alt_m=policy.drone_cruise_alt_m,
                altitude_m=snap.altitude_m[drones],
                launch_delay_s=np.where(
                    snap.altitude_m[drones] > 5, 0.0, policy.drone_launch_delay_s
                ),
                battery_s=battery / 100.0 * policy.drone_endurance_s,
                reserve_s=policy.drone_reserve_pct / 100.0 * policy.drone_endurance_s,
            )
            d = drone_eta(
                fleet, target_xy, docks_xy=snap.docks_xy, airspace=airspace, wind=wind, k=drone_k
            )
            eta[drones] = d.eta_s
            why[drones] = np.where(~np.isfinite(d.eta_s), 3, np.where(d.feasible, 0, 4))
    return eta, why


def recommend(
    snap: FleetSnapshot,
    target_lonlat: tuple[float, float],
    policy: DispatchPolicy,
    *,
    airspace: Airspace | None = None,
    wind: Wind = Wind(),
    limit: int | None = None,
    within_s: float | None = None,
) -> list[Recommendation]:
    """Units ranked for a point: feasible first, then by ETA (ties by snapshot order).

    `limit` keeps the best that many; `within_s` adds every feasible unit that arrives within
    that time (the multi-point call needs all of them). With neither, every unit is ranked.
    Drones beyond the best `limit` keep their straight-line ETA (a lower bound that cannot
    make the list; `planners.eta.drone_eta`'s ``k``), which keeps no-fly detours cheap.
    """
    n = len(snap.unit_ids)
    if n == 0:
        return []
    target = snap.proj.to_xy([target_lonlat])[0]
    drone_k = limit if (limit is not None and within_s is None) else None
    eta, why = _etas(snap, target, policy, airspace, wind, drone_k)
    ok = why == 0
    # Infeasible units sort after every feasible one: key = eta, shifted past any real ETA.
    key = np.where(ok, eta, 1e12 + np.where(np.isfinite(eta), eta, 1e11))
    if limit is None and within_s is None:
        idx = np.arange(n)
    else:
        keep = limit or 0
        if within_s is not None:
            keep = max(keep, int(np.count_nonzero(ok & (eta <= within_s))))
        keep = max(keep, 1)
        idx = np.argpartition(key, keep - 1)[:keep] if keep < n else np.arange(n)
    idx = idx[np.lexsort((idx, key[idx]))]
    tiers = tier_of(np.where(np.isfinite(eta[idx]), eta[idx], 1e12), policy.tiers_s)
    ids, kinds = snap.unit_ids, snap.kinds
    return [
        Recommendation(
            unit_id=ids[i],
            kind=kinds[i],
            eta_s=float(eta[i]),
            tier=int(t) if w == 0 else 0,
            feasible=w == 0,
            reason=_REASONS[w],
        )
        for i, t, w in zip(idx.tolist(), tiers.tolist(), why[idx].tolist(), strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Assignment:
    unit_id: str
    tier: int  # the tier this responder fills (1, 3, 5)
    role: str  # first_responder | mutual_aid | reinforcement
    eta_s: float


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """Who is called, who is assigned, and what could not be met."""

    called: tuple[str, ...]  # every unit notified (assigned ones included)
    assigned: tuple[Assignment, ...]
    drone: Recommendation | None  # the drone sent first, if any
    unmet_tiers: tuple[int, ...]  # tiers with no (or too few) responders: escalate
    referred: bool = False

    @property
    def assigned_ids(self) -> tuple[str, ...]:
        return tuple(a.unit_id for a in self.assigned)


_ROLE = {1: "first_responder", 3: "mutual_aid", 5: "reinforcement"}


def plan_response(
    recs: Sequence[Recommendation],
    *,
    category: str,
    priority: int,
    policy: DispatchPolicy,
) -> ResponsePlan:
    """Decide the multi-point response to an incident from its ranked recommendations."""
    if category in policy.referral_categories:
        return ResponsePlan((), (), None, (), referred=True)
    feasible = [r for r in recs if r.feasible]
    drone = None
    if (
        policy.drone_first
        and category in policy.drone_first_categories
        and priority <= policy.drone_first_max_priority
    ):
        drone = next((r for r in feasible if r.kind is UnitKind.DRONE), None)
    ground = [r for r in feasible if r.kind is not UnitKind.DRONE]
    if policy.nearest_only:
        first = ground[:1]
        return ResponsePlan(
            tuple(r.unit_id for r in first),
            tuple(Assignment(r.unit_id, r.tier or 5, "first_responder", r.eta_s) for r in first),
            None,
            () if first and first[0].tier == 1 else (1,),
        )
    wanted = policy.responders.get(priority, (1, 0, 0))
    bounds = dict(zip((1, 3, 5), policy.tiers_s, strict=True))
    taken: set[str] = set()
    assigned: list[Assignment] = []
    unmet: list[int] = []
    for tier, count in zip((1, 3, 5), wanted, strict=True):
        if count == 0:
            continue
        pool = [r for r in ground if r.unit_id not in taken and r.eta_s <= bounds[tier]]
        chosen = pool[:count]
        for r in chosen:
            taken.add(r.unit_id)
            assigned.append(Assignment(r.unit_id, tier, _ROLE[tier], r.eta_s))
        # A drone on scene within the first minute counts as the tier-1 responder's eyes,
        # not as its replacement: tier 1 still needs a ground unit.
        if len(chosen) < count:
            unmet.append(tier)
    call_bound = bounds.get(policy.call_tier, policy.tiers_s[1])
    called = [r.unit_id for r in ground if r.eta_s <= call_bound]
    for a in assigned:
        if a.unit_id not in called:
            called.append(a.unit_id)
    return ResponsePlan(tuple(called), tuple(assigned), drone, tuple(unmet))


def next_best(
    recs: Sequence[Recommendation], exclude: set[str], *, tier_bound_s: float | None = None
) -> Recommendation | None:
    """The best feasible ground unit not in `exclude` (within `tier_bound_s` if given)."""
    for r in recs:
        if not r.feasible or r.kind is UnitKind.DRONE or r.unit_id in exclude:
            continue
        if tier_bound_s is not None and r.eta_s > tier_bound_s:
            return None
        return r
    return None
