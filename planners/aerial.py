"""Aerial patrol planner: drones from docks revisit weighted hot spots, never beyond endurance.

Problem -> routing model
------------------------
* Each hot spot wants a visit every ``revisit_s`` over the horizon: visit ``k`` is an
  optional routing visit whose service (dwell / orbit, ``dwell_s``) must start in
  ``[k * revisit_s, k * revisit_s + window_frac * revisit_s]``, so consecutive visits are
  between ``(1 - window_frac)`` and ``(1 + window_frac)`` revisit intervals apart (a hot
  spot needing a single visit over the horizon may be visited at any time). Dropping a
  visit costs its hot spot's weight (scaled so that serving always beats flying distance).
* Each drone flies *sorties* in fixed battery slots: sortie ``s`` may fly inside
  ``[offset + s * cycle, offset + s * cycle + usable]`` where ``usable = endurance - reserve``
  and ``cycle = usable + swap_s`` (battery swap / charge at the dock). Drones of a dock are
  staggered over the cycle so someone is always up. A sortie is a routing vehicle starting
  and ending at the drone's dock, with ``max_duration = usable``: the whole flight - climb,
  transit along no-fly-safe detours, hovering to wait for a window, dwell, the return leg to
  the dock and the descent - fits in the endurance minus the reserve.
* Travel times are ``ceil`` of the shortest no-fly-safe (and keep-in) path length over the
  cruise speed (`planners.geo.Airspace`), plus climb after take-off and descent before
  landing; one time profile per distinct (speed, climb rate, altitude).
* Speed and altitude limits cap each drone's own cruise speed and altitude.
* Hot spots inside a no-fly zone (or outside the keep-in zone) cannot be reached: they are
  reported in ``AerialPlan.unreachable`` and never planned. A dock inside one raises
  `Infeasible`.

Output: per drone, sorties as waypoint lists (lon, lat, alt_m, speed_mps, loiter_s) for a
MAVSDK mission or a QGroundControl ``.plan`` (`sortie_to_qgc`), plus, per hot spot, the visit
times, the achieved revisit gaps and the covered weight.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from planners.errors import Infeasible, MalformedProblem
from planners.geo import (
    Airspace,
    KeepInZone,
    LonLat,
    NoFlyZone,
    PathMatrix,
    Projection,
    _check_lonlat,
    path_length_m,
)
from planners.problem import RoutingProblem, TimeWindow, Vehicle, Visit
from planners.routing import RoutingParams, solve
from planners.stop import StopCriterion

__all__ = [
    "AerialLimits",
    "AerialPlan",
    "AerialProblem",
    "Dock",
    "Drone",
    "HotSpot",
    "HotSpotCoverage",
    "Sortie",
    "Waypoint",
    "plan_aerial",
    "plan_to_geojson",
    "sortie_to_qgc",
]

_PENALTY_SCALE = 1_000_000  # drop cost of the heaviest hot spot, in seconds of flying
_MAX_HORIZON_S = 7 * 86_400  # plans are re-made every shift; a week is far beyond that
_MAX_VISITS_PER_SPOT = 200  # keeps the routing model bounded for absurd revisit intervals


def _pos(name: str, v: float, *, zero_ok: bool = False) -> None:
    if not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
        raise MalformedProblem(f"{name} must be {'>= 0' if zero_ok else '> 0'}", where=name)


@dataclass(frozen=True, slots=True)
class Dock:
    """A drone dock (launch, landing, battery swap) at ``lonlat``."""

    id: str
    lonlat: LonLat

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise MalformedProblem("dock id must be a non-empty string", where="docks")
        object.__setattr__(self, "lonlat", _check_lonlat(self.lonlat, f"docks/{self.id}"))


@dataclass(frozen=True, slots=True)
class Drone:
    """A drone based at ``dock``.

    Parameters
    ----------
    endurance_s : flight time on a full battery; ``reserve_s`` must remain on landing.
    swap_s : time on the dock between sorties (battery swap or charge).
    cruise_speed_mps, climb_rate_mps, altitude_m : flight profile (capped by `AerialLimits`).
    max_sorties : at most this many sorties over the horizon (``None``: as many as fit).
    """

    id: str
    dock: str
    endurance_s: float = 1800.0
    reserve_s: float = 300.0
    swap_s: float = 600.0
    cruise_speed_mps: float = 12.0
    climb_rate_mps: float = 3.0
    altitude_m: float = 60.0
    max_sorties: int | None = None

    def __post_init__(self) -> None:
        w = f"drones/{self.id}"
        if not isinstance(self.id, str) or not self.id:
            raise MalformedProblem("drone id must be a non-empty string", where="drones")
        if not isinstance(self.dock, str):
            raise MalformedProblem("dock must be a dock id", where=f"{w}/dock")
        for name in (
            "endurance_s",
            "reserve_s",
            "swap_s",
            "cruise_speed_mps",
            "climb_rate_mps",
            "altitude_m",
        ):
            if isinstance(getattr(self, name), bool) or not isinstance(
                getattr(self, name), int | float
            ):
                raise MalformedProblem(f"{name} must be a number", where=f"{w}/{name}")
        if self.max_sorties is not None and (
            isinstance(self.max_sorties, bool) or not isinstance(self.max_sorties, int)
        ):
            raise MalformedProblem("max_sorties must be an integer", where=f"{w}/max_sorties")
        _pos(f"{w}/endurance_s", self.endurance_s)
        _pos(f"{w}/reserve_s", self.reserve_s, zero_ok=True)
        _pos(f"{w}/swap_s", self.swap_s, zero_ok=True)
        _pos(f"{w}/cruise_speed_mps", self.cruise_speed_mps)
        _pos(f"{w}/climb_rate_mps", self.climb_rate_mps)
        _pos(f"{w}/altitude_m", self.altitude_m)
        if self.reserve_s >= self.endurance_s:
            raise MalformedProblem("reserve_s must be < endurance_s", where=f"{w}/reserve_s")
        if self.max_sorties is not None and self.max_sorties < 0:
            raise MalformedProblem("max_sorties must be >= 0", where=f"{w}/max_sorties")


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A place to patrol: ``weight`` > 0, revisit every ``revisit_s``, hover ``dwell_s``."""

    id: str
    lonlat: LonLat
    weight: float = 1.0
    revisit_s: float = 7200.0
    dwell_s: float = 0.0

    def __post_init__(self) -> None:
        w = f"hot_spots/{self.id}"
        if not isinstance(self.id, str) or not self.id:
            raise MalformedProblem("hot spot id must be a non-empty string", where="hot_spots")
        object.__setattr__(self, "lonlat", _check_lonlat(self.lonlat, w))
        _pos(f"{w}/weight", self.weight)
        _pos(f"{w}/revisit_s", self.revisit_s)
        _pos(f"{w}/dwell_s", self.dwell_s, zero_ok=True)


@dataclass(frozen=True, slots=True)
class AerialLimits:
    """Regulatory limits: altitude band and maximum speed."""

    min_alt_m: float = 30.0
    max_alt_m: float = 120.0
    max_speed_mps: float = 20.0

    def __post_init__(self) -> None:
        _pos("limits/min_alt_m", self.min_alt_m, zero_ok=True)
        _pos("limits/max_speed_mps", self.max_speed_mps)
        if not (math.isfinite(self.max_alt_m) and self.max_alt_m >= self.min_alt_m):
            raise MalformedProblem("max_alt_m must be >= min_alt_m", where="limits/max_alt_m")


@dataclass(frozen=True, slots=True, eq=False)
class AerialProblem:
    """Docks, drones, hot spots, airspace and horizon of an aerial patrol.

    Parameters
    ----------
    horizon_s : length of the patrol period starting at t = 0.
    margin_m : safety distance from no-fly zones and from the keep-in boundary.
    window_frac : width of each visit's start window as a fraction of ``revisit_s``.
    """

    docks: tuple[Dock, ...]
    drones: tuple[Drone, ...]
    hot_spots: tuple[HotSpot, ...]
    horizon_s: float = 7200.0
    no_fly: tuple[NoFlyZone, ...] = ()
    keep_in: KeepInZone | None = None
    margin_m: float = 30.0
    limits: AerialLimits = field(default_factory=AerialLimits)
    window_frac: float = 0.5

    def __post_init__(self) -> None:
        for name in ("docks", "drones", "hot_spots", "no_fly"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.docks:
            raise MalformedProblem("at least one dock", where="docks")
        if not self.drones:
            raise MalformedProblem("at least one drone", where="drones")
        for name in ("docks", "drones", "hot_spots", "no_fly"):
            ids = [x.id for x in getattr(self, name)]
            if len(set(ids)) != len(ids):
                dup = next(i for i in ids if ids.count(i) > 1)
                raise MalformedProblem(f"duplicate id {dup!r}", where=name)
        docks = {d.id for d in self.docks}
        for d in self.drones:
            if d.dock not in docks:
                raise MalformedProblem(f"unknown dock {d.dock!r}", where=f"drones/{d.id}/dock")
        _pos("horizon_s", self.horizon_s)
        if self.horizon_s > _MAX_HORIZON_S:
            raise MalformedProblem("horizon_s is longer than 7 days", where="horizon_s")
        for h in self.hot_spots:
            if self.horizon_s / h.revisit_s > _MAX_VISITS_PER_SPOT:
                raise MalformedProblem(
                    f"revisit_s asks for more than {_MAX_VISITS_PER_SPOT} visits in the horizon",
                    where=f"hot_spots/{h.id}/revisit_s",
                )
        _pos("margin_m", self.margin_m, zero_ok=True)
        if not (0 < self.window_frac <= 1):
            raise MalformedProblem("window_frac must be in (0, 1]", where="window_frac")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AerialProblem:
        """Parse the JSON problem format (see docs/planners.md).

        Raises
        ------
        MalformedProblem
            With ``where`` naming the offending field.
        """
        if not isinstance(d, Mapping):
            raise MalformedProblem("problem must be a JSON object", where="")
        try:
            docks = tuple(Dock(str(x["id"]), tuple(x["lonlat"])) for x in d["docks"])
            drones = tuple(
                Drone(**{k: v for k, v in x.items() if k in Drone.__dataclass_fields__})
                for x in d["drones"]
            )
            spots = tuple(
                HotSpot(
                    str(x["id"]),
                    tuple(x["lonlat"]),
                    **{k: float(x[k]) for k in ("weight", "revisit_s", "dwell_s") if k in x},
                )
                for x in d.get("hot_spots", ())
            )
            zones = tuple(_zone_from_dict(z) for z in d.get("no_fly", ()))
            keep_in = KeepInZone(tuple(map(tuple, d["keep_in"]))) if d.get("keep_in") else None
            limits = AerialLimits(**d.get("limits", {}))
            extra = {k: float(d[k]) for k in ("horizon_s", "margin_m", "window_frac") if k in d}
        except KeyError as exc:
            raise MalformedProblem(
                f"missing field {exc.args[0]!r}", where=str(exc.args[0])
            ) from exc
        except (TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, MalformedProblem):
                raise
            raise MalformedProblem(f"bad field: {exc}", where="") from exc
        return cls(docks, drones, spots, no_fly=zones, keep_in=keep_in, limits=limits, **extra)


def _zone_from_dict(z: Mapping[str, Any]) -> NoFlyZone:
    if "polygon" in z:
        return NoFlyZone(str(z["id"]), polygon=tuple(map(tuple, z["polygon"])))
    return NoFlyZone(str(z["id"]), center=tuple(z["center"]), radius_m=float(z["radius_m"]))


WaypointKind = Literal["takeoff", "transit", "hotspot", "land"]


@dataclass(frozen=True, slots=True)
class Waypoint:
    """One mission waypoint: position, altitude above the dock, speed and hover time."""

    lon: float
    lat: float
    alt_m: float
    speed_mps: float
    loiter_s: float
    kind: WaypointKind
    hot_spot_id: str | None = None


@dataclass(frozen=True, slots=True)
class Sortie:
    """One flight from a dock and back.

    Attributes
    ----------
    launch_s, land_s : take-off and landing times (seconds from the horizon start).
    flight_s : ``land_s - launch_s``; never above endurance minus reserve.
    path_m : length of the flown path.
    visits : (hot spot id, time over the hot spot) in order.
    """

    drone_id: str
    index: int
    dock_id: str
    launch_s: float
    land_s: float
    flight_s: float
    path_m: float
    waypoints: tuple[Waypoint, ...]
    visits: tuple[tuple[str, float], ...]
    path_xy: tuple[tuple[float, float], ...] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class HotSpotCoverage:
    """How well a hot spot was patrolled: visit times, gaps and credited weight."""

    id: str
    weight: float
    required: int
    visits_s: tuple[float, ...]
    gaps_s: tuple[float, ...]
    max_gap_s: float

    @property
    def covered_weight(self) -> float:
        """weight x min(1, visits / required)."""
        return self.weight * min(1.0, len(self.visits_s) / self.required)


@dataclass(frozen=True, slots=True, eq=False)
class AerialPlan:
    """Sorties of every drone plus hot-spot coverage."""

    sorties: tuple[Sortie, ...]
    coverage: tuple[HotSpotCoverage, ...]
    unreachable: tuple[str, ...]
    dropped_visits: tuple[str, ...]
    runtime_s: float
    projection: Projection = field(repr=False)
    usable_s: Mapping[str, float] = field(repr=False)

    @property
    def covered_weight(self) -> float:
        """Sum of the hot spots' credited weights."""
        return sum(c.covered_weight for c in self.coverage)

    @property
    def total_weight(self) -> float:
        """Sum of all hot-spot weights (reachable or not)."""
        return sum(c.weight for c in self.coverage)

    def sorties_of(self, drone_id: str) -> tuple[Sortie, ...]:
        """Sorties of one drone in time order."""
        return tuple(s for s in self.sorties if s.drone_id == drone_id)

    def is_feasible(self) -> bool:
        """Every sortie within its drone's endurance minus reserve, sorties not overlapping."""
        return not self.violations()

    def violations(self) -> list[str]:
        """Independent re-check of the battery rules; empty when feasible."""
        out = []
        for s in self.sorties:
            if s.flight_s > self.usable_s[s.drone_id] + 1e-6:
                out.append(f"{s.drone_id}#{s.index}: flight {s.flight_s:.0f}s > usable")
        return out

    def summary(self) -> str:
        """One line for humans."""
        drones = len({s.drone_id for s in self.sorties})
        share = self.covered_weight / self.total_weight if self.total_weight else 0.0
        return (
            f"{len(self.sorties)} sorties by {drones} drones, covered weight "
            f"{self.covered_weight:.1f}/{self.total_weight:.1f} ({100 * share:.1f}%), "
            f"{len(self.unreachable)} unreachable, {self.runtime_s:.2f}s"
        )


@dataclass(frozen=True, slots=True)
class _Profile:
    speed: float
    climb_s: float
    alt: float


def _flight_profile(d: Drone, lim: AerialLimits) -> _Profile:
    alt = min(max(d.altitude_m, lim.min_alt_m), lim.max_alt_m)
    return _Profile(min(d.cruise_speed_mps, lim.max_speed_mps), alt / d.climb_rate_mps, alt)


def plan_aerial(
    problem: AerialProblem,
    *,
    stop: StopCriterion,
    seed: int = 0,
    params: RoutingParams | None = None,
) -> AerialPlan:
    """Plan sorties for every drone (see the module docstring for the model).

    Parameters
    ----------
    stop : search limit for the routing core (geometry comes on top, ~0.3 s for 300 spots).
    seed : same seed and an iteration-bounded stop give the same plan.

    Raises
    ------
    Infeasible
        If a dock lies inside a no-fly zone (or outside the keep-in zone).
    MalformedProblem
        For an invalid problem.
    """
    t0 = time.perf_counter()
    pts_ll = [d.lonlat for d in problem.docks] + [h.lonlat for h in problem.hot_spots]
    proj = Projection.centred_on(pts_ll)
    air = Airspace.from_lonlat(
        proj, problem.no_fly, margin_m=problem.margin_m, keep_in=problem.keep_in
    )
    xy = proj.to_xy(pts_ll)
    free = air.free_mask(xy)
    nd = len(problem.docks)
    for k, dock in enumerate(problem.docks):
        if not free[k]:
            raise Infeasible(
                "dock is inside a no-fly zone (with margin) or outside the keep-in zone",
                where=f"docks/{dock.id}",
            )
    spots = [h for k, h in enumerate(problem.hot_spots) if free[nd + k]]
    unreachable = [h.id for k, h in enumerate(problem.hot_spots) if not free[nd + k]]
    loc_xy = np.concatenate([xy[:nd], xy[nd:][free[nd:]]])
    pm = air.matrix(loc_xy)
    dist = pm.distance_m
    # Spots no dock can reach (walled off): unreachable as well.
    reach = np.isfinite(dist[:nd]).any(axis=0)
    keep_loc = [k for k in range(len(loc_xy)) if reach[k]]
    unreachable += [spots[k - nd].id for k in range(nd, len(loc_xy)) if not reach[k]]
    spots = [spots[k - nd] for k in keep_loc if k >= nd]
    loc_index = np.asarray(keep_loc, dtype=int)
    dist = dist[np.ix_(loc_index, loc_index)]
    big = float(problem.horizon_s) * 10 + 1e6
    dist_f = np.where(np.isfinite(dist), dist, big * 100)

    # Profiles: one time matrix per distinct flight profile.
    profiles: dict[_Profile, int] = {}
    for d in problem.drones:
        profiles.setdefault(_flight_profile(d, problem.limits), len(profiles))
    n = len(loc_index)
    durations = np.zeros((len(profiles), n, n), dtype=np.int64)
    for prof, p in profiles.items():
        t = np.ceil(dist_f / prof.speed)
        t[:nd, nd:] += math.ceil(prof.climb_s)
        t[nd:, :nd] += math.ceil(prof.climb_s)  # descent at the climb rate
        np.fill_diagonal(t, 0)
        durations[p] = t.astype(np.int64)

    horizon = math.floor(problem.horizon_s)
    dock_loc = {d.id: k for k, d in enumerate(problem.docks)}
    vehicles: list[Vehicle] = []
    sortie_meta: dict[str, tuple[Drone, int, float]] = {}
    by_dock: dict[str, list[Drone]] = {}
    for d in problem.drones:
        by_dock.setdefault(d.dock, []).append(d)
    for dock_id, drones in by_dock.items():
        for rank, d in enumerate(drones):
            usable = math.floor(d.endurance_s - d.reserve_s)
            cycle = usable + math.ceil(d.swap_s)
            offset = int(rank * cycle / len(drones))
            s, count = -1, 0
            while True:
                lo = offset + s * cycle
                if lo > horizon or (d.max_sorties is not None and count >= d.max_sorties):
                    break
                hi = min(lo + usable, horizon)
                lo = max(lo, 0)
                if hi - lo >= 60:
                    vid = f"{d.id}#{count}"
                    vehicles.append(
                        Vehicle(
                            vid,
                            start=dock_loc[dock_id],
                            end=dock_loc[dock_id],
                            shift=TimeWindow(lo, hi),
                            max_duration=usable,
                            profile=profiles[_flight_profile(d, problem.limits)],
                        )
                    )
                    sortie_meta[vid] = (d, count, float(usable))
                    count += 1
                s += 1

    max_w = max((h.weight for h in spots), default=1.0)
    visits: list[Visit] = []
    spot_of_visit: dict[str, HotSpot] = {}
    required: dict[str, int] = {}
    for k, h in enumerate(spots):
        r = float(h.revisit_s)
        n_req = max(1, math.ceil(problem.horizon_s / r))
        required[h.id] = n_req
        # One visit over the horizon has no revisit gap to keep: any time will do.
        width = problem.window_frac * r if n_req > 1 else problem.horizon_s
        for j in range(n_req):
            lo = int(j * r)
            hi = int(min(j * r + width, problem.horizon_s - h.dwell_s))
            if hi < lo:
                continue
            vid = f"{h.id}@{j}"
            visits.append(
                Visit(
                    vid,
                    location=nd + k,
                    service=math.ceil(h.dwell_s),
                    window=TimeWindow(lo, hi),
                    penalty=round(_PENALTY_SCALE * h.weight / max_w) + 1,
                )
            )
            spot_of_visit[vid] = h

    # Visits no sortie could serve even alone (too far for the battery, or the window does
    # not fit any slot) are dropped up front: they cannot change the plan, and a search
    # bounded by iterations stalls when no move is ever feasible.
    visits, impossible = _servable(visits, vehicles, durations)
    coverage_visits: dict[str, list[float]] = {h.id: [] for h in problem.hot_spots}
    sorties: list[Sortie] = []
    dropped: list[str] = []
    if vehicles and visits:
        rp = RoutingProblem(
            durations=durations,
            vehicles=tuple(vehicles),
            visits=tuple(visits),
            horizon=horizon,
        )
        result = solve(rp, stop=stop, seed=seed, params=params)
        dropped = sorted([*result.plan.dropped, *impossible])
        pm_idx = loc_index  # routing location -> PathMatrix point
        for route in sorted(result.plan.routes, key=lambda r: r.vehicle_id):
            drone, index, usable_s = sortie_meta[route.vehicle_id]
            prof = _flight_profile(drone, problem.limits)
            sortie = _build_sortie(
                route, drone, index, prof, pm, pm_idx, proj, spot_of_visit, problem
            )
            if sortie.flight_s > usable_s + 1e-6:  # cannot happen: durations are ceil'd
                raise Infeasible(
                    f"internal: sortie {route.vehicle_id} exceeds endurance", where="drones"
                )
            sorties.append(sortie)
            for hid, t_over in sortie.visits:
                coverage_visits[hid].append(t_over)
    else:
        dropped = sorted([*(v.id for v in visits), *impossible])

    cov: list[HotSpotCoverage] = []
    for h in problem.hot_spots:
        ts = sorted(coverage_visits[h.id])
        gaps = tuple(float(b - a) for a, b in itertools.pairwise(ts))
        edges = [0.0, *ts, float(problem.horizon_s)]
        max_gap = max(b - a for a, b in itertools.pairwise(edges))
        req = required.get(h.id, max(1, math.ceil(problem.horizon_s / h.revisit_s)))
        cov.append(HotSpotCoverage(h.id, h.weight, req, tuple(ts), gaps, float(max_gap)))
    sorties.sort(key=lambda s: (s.drone_id, s.index))
    usable_by_drone = {d.id: float(math.floor(d.endurance_s - d.reserve_s)) for d in problem.drones}
    return AerialPlan(
        tuple(sorties),
        tuple(cov),
        tuple(unreachable),
        tuple(dropped),
        time.perf_counter() - t0,
        proj,
        usable_by_drone,
    )


def _servable(
    visits: list[Visit], vehicles: list[Vehicle], durations: np.ndarray
) -> tuple[list[Visit], list[str]]:
    """Split visits into those some sortie could serve on its own and the rest (ids)."""
    if not visits or not vehicles:
        return visits, [v.id for v in visits]
    prof = np.asarray([v.profile for v in vehicles])
    dock = np.asarray([v.start for v in vehicles])
    lo = np.asarray([v.shift.earliest if v.shift else 0 for v in vehicles])[:, None]
    hi = np.asarray([v.shift.latest if v.shift else 2**40 for v in vehicles])[:, None]
    dur = np.asarray([v.max_duration or 2**40 for v in vehicles])[:, None]
    loc = np.asarray([s.location for s in visits])
    service = np.asarray([s.service for s in visits])[None, :]
    w_lo = np.asarray([s.window.earliest if s.window else 0 for s in visits])[None, :]
    w_hi = np.asarray([s.window.latest if s.window else 2**40 for s in visits])[None, :]
    t_out = durations[prof[:, None], dock[:, None], loc[None, :]]
    t_back = durations[prof[:, None], loc[None, :], dock[:, None]]
    start = np.maximum(lo + t_out, w_lo)  # earliest service start
    ok = (start <= w_hi) & (start + service + t_back <= hi) & (t_out + service + t_back <= dur)
    keep = ok.any(axis=0)
    return (
        [s for s, k in zip(visits, keep, strict=True) if k],
        [s.id for s, k in zip(visits, keep, strict=True) if not k],
    )


def _build_sortie(
    route: Any,
    drone: Drone,
    index: int,
    prof: _Profile,
    pm: PathMatrix,
    pm_idx: np.ndarray,
    proj: Projection,
    spot_of_visit: Mapping[str, HotSpot],
    problem: AerialProblem,
) -> Sortie:
    """Waypoints of one routed sortie along no-fly-safe legs."""
    dock_loc = route.start_location
    seq = [dock_loc] + [sv.location for sv in route.visits] + [route.end_location]
    path: list[tuple[float, float]] = []
    kinds: list[tuple[WaypointKind, float, str | None]] = []
    for leg, (a, b) in enumerate(itertools.pairwise(seq)):
        legpath = pm.path(int(pm_idx[a]), int(pm_idx[b]))
        if leg == 0:
            path.append(legpath[0])
            kinds.append(("takeoff", 0.0, None))
        for p in legpath[1:-1]:
            path.append(p)
            kinds.append(("transit", 0.0, None))
        path.append(legpath[-1])
        if leg < len(route.visits):
            sv = route.visits[leg]
            h = spot_of_visit[sv.visit_id]
            # Hover while waiting for the window, then dwell: both count as flight time.
            kinds.append(("hotspot", float(sv.departure - sv.arrival), h.id))
        else:
            kinds.append(("land", 0.0, None))
    ll = proj.to_lonlat(np.asarray(path))
    wps = tuple(
        Waypoint(float(lon), float(lat), prof.alt, prof.speed, loiter, kind, hid)
        for (lon, lat), (kind, loiter, hid) in zip(ll, kinds, strict=True)
    )
    length = path_length_m(path)
    visits = tuple((spot_of_visit[sv.visit_id].id, float(sv.start)) for sv in route.visits)
    # Flight time from the geometry itself (not the routing's integers): climb, cruise,
    # hovering, descent. The routing rounded every leg up, so this is <= route.duration.
    hover = sum(w.loiter_s for w in wps)
    flight = 2 * prof.climb_s + length / prof.speed + hover
    launch = float(route.departure)
    return Sortie(
        drone.id,
        index,
        drone.dock,
        launch,
        launch + flight,
        flight,
        length,
        wps,
        visits,
        tuple(path),
    )


def plan_to_geojson(plan: AerialPlan, problem: AerialProblem) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection (RFC 7946, lon/lat).

    One LineString per sortie (properties: drone, sortie, launch/land/flight seconds, the
    waypoints with altitude, speed and loiter) and one Point per hot spot (coverage).
    """
    feats: list[dict[str, Any]] = []
    for s in plan.sorties:
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[w.lon, w.lat] for w in s.waypoints],
                },
                "properties": {
                    "kind": "sortie",
                    "drone_id": s.drone_id,
                    "sortie": s.index,
                    "dock_id": s.dock_id,
                    "launch_s": s.launch_s,
                    "land_s": s.land_s,
                    "flight_s": s.flight_s,
                    "path_m": s.path_m,
                    "visits": [{"hot_spot_id": h, "t_s": t} for h, t in s.visits],
                    "waypoints": [
                        {
                            "lon": w.lon,
                            "lat": w.lat,
                            "alt_m": w.alt_m,
                            "speed_mps": w.speed_mps,
                            "loiter_s": w.loiter_s,
                            "kind": w.kind,
                            "hot_spot_id": w.hot_spot_id,
                        }
                        for w in s.waypoints
                    ],
                },
            }
        )
    spots = {h.id: h for h in problem.hot_spots}
    unreachable = set(plan.unreachable)
    for c in plan.coverage:
        h = spots[c.id]
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(h.lonlat)},
                "properties": {
                    "kind": "hot_spot",
                    "id": c.id,
                    "weight": c.weight,
                    "required_visits": c.required,
                    "visits_s": list(c.visits_s),
                    "revisit_gaps_s": list(c.gaps_s),
                    "max_gap_s": c.max_gap_s,
                    "covered_weight": c.covered_weight,
                    "unreachable": c.id in unreachable,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "properties": {
            "covered_weight": plan.covered_weight,
            "total_weight": plan.total_weight,
            "sorties": len(plan.sorties),
            "unreachable": list(plan.unreachable),
            "runtime_s": plan.runtime_s,
        },
    }


def sortie_to_qgc(sortie: Sortie, problem: AerialProblem) -> dict[str, Any]:
    """A QGroundControl ``.plan`` dict for one sortie, with the zones as geofence.

    The mission flies the no-fly-safe path back to above the dock and only then issues RTL,
    so the autopilot's straight RTL leg is a vertical descent, not a shortcut through a zone.
    """
    from planners import qgc

    dock = next(d for d in problem.docks if d.id == sortie.dock_id)
    home = (dock.lonlat[0], dock.lonlat[1], 0.0)
    items = qgc.mission_from_waypoints(sortie.waypoints)
    polygons = [qgc.FencePolygon(z.polygon, inclusion=False) for z in problem.no_fly if z.polygon]
    circles = [
        qgc.FenceCircle(z.center, z.radius_m, inclusion=False)
        for z in problem.no_fly
        if z.center is not None
    ]
    if problem.keep_in is not None:
        polygons.append(qgc.FencePolygon(problem.keep_in.polygon, inclusion=True))
    rally = tuple((d.lonlat[0], d.lonlat[1], 0.0) for d in problem.docks)
    speed = sortie.waypoints[0].speed_mps if sortie.waypoints else 10.0
    plan = qgc.QgcPlan(
        items=items,
        home=home,
        polygons=tuple(polygons),
        circles=tuple(circles),
        rally=rally,
        cruise_speed_mps=speed,
    )
    return qgc.build_plan(plan)
