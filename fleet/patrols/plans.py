"""Patrol planning for the live service: from a request and the live picture to a stored plan.

Builds the planners' problems (`planners.aerial` for drones, `planners.ground` for ground
units on the city's roads), runs them off the event loop under a deadline, and turns the
result into plain records: per drone its sorties (plan seconds from the patrol's start), per
ground unit its road route with stop times, and per hot spot the planned visits and gaps.
A request that cannot be served raises `PatrolInfeasible` naming the constraint and the hot
spot, instead of silently planning less.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fleet.errors import PatrolfleetError
from fleet.patrols.domain import HotSpot
from planners.errors import MalformedProblem, PlanningError
from planners.stop import MaxRuntime

__all__ = [
    "InvalidPatrolInput",
    "PatrolInfeasible",
    "PlanInputs",
    "PlannedPatrol",
    "distance_m",
    "ground_mode",
    "merged_geojson",
    "plan_patrol",
    "point_in_polygon",
    "run_planner",
]

T = TypeVar("T")
# Seconds the planner may overrun its own limit (geometry, matrices) before we give up.
_PLANNER_MARGIN_S = 20.0


class PatrolInfeasible(PatrolfleetError):
    """The patrol cannot be planned as asked; ``constraint`` and ``hot_spot_id`` say why."""

    status = 422
    type = "patrol-infeasible"
    title = "Patrol cannot be planned"


class InvalidPatrolInput(PatrolfleetError):
    """A geometry or parameter of a patrol request is unusable; ``where`` names it."""

    status = 422
    type = "invalid-patrol-input"
    title = "Invalid patrol input"


def point_in_polygon(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Even-odd rule on a lon/lat ring (small areas: the planar test is exact enough)."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat):
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x:
                inside = not inside
    return inside


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two lon/lat points (equirectangular: exact enough within a city)."""
    kx = 111_320.0 * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((a[0] - b[0]) * kx, (a[1] - b[1]) * 111_320.0)


def ground_mode(kind: str) -> str:
    """Road mode of a unit kind (teams walk)."""
    return {"car": "car", "motorbike": "motorbike", "bicycle": "bicycle"}.get(kind, "foot")


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything the planners need, read from the live service beforehand (no I/O here).

    drones : drone id -> home (lon, lat), where it launches and lands.
    ground : unit id -> (kind, (lon, lat)) of its current position.
    no_fly : (fence id, outer ring) of every active no-fly fence.
    """

    hot_spots: tuple[HotSpot, ...]
    horizon_s: float
    drones: Mapping[str, tuple[float, float]]
    ground: Mapping[str, tuple[str, tuple[float, float]]]
    no_fly: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()
    keep_in: tuple[tuple[float, float], ...] | None = None
    endurance_s: float = 1800.0
    reserve_s: float = 360.0
    swap_s: float = 600.0
    cruise_speed_mps: float = 12.0
    altitude_m: float = 60.0
    margin_m: float = 30.0
    time_limit_s: float = 5.0
    seed: int = 0
    allow_partial: bool = False
    map_file: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedPatrol:
    """A plan as stored: the plan document plus sortie and route records."""

    plan: dict[str, Any]
    sorties: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)


async def run_planner(fn: Callable[[], T], time_limit_s: float) -> T:
    """Run a pure planner in a worker thread, bounded by its limit plus a margin.

    Raises
    ------
    PatrolInfeasible
        When the planner overran its deadline (the thread is left to finish on its own:
        planners cannot be interrupted, and their result is simply dropped).
    """
    try:
        async with asyncio.timeout(time_limit_s + _PLANNER_MARGIN_S):
            return await asyncio.to_thread(fn)
    except TimeoutError:
        raise PatrolInfeasible(
            f"the planner did not finish within {time_limit_s + _PLANNER_MARGIN_S:.0f}s",
            constraint="time_limit",
        ) from None


def _translate(exc: PlanningError) -> PatrolInfeasible:
    where = exc.where or ""
    hot = where.split("/")[1] if where.startswith("hot_spots/") else None
    return PatrolInfeasible(
        str(exc),
        constraint="malformed" if isinstance(exc, MalformedProblem) else "infeasible",
        where=where,
        **({"hot_spot_id": hot} if hot else {}),
    )


def _aerial_problem_dict(inp: PlanInputs) -> dict[str, Any]:
    return {
        "docks": [{"id": f"dock-{d}", "lonlat": list(home)} for d, home in inp.drones.items()],
        "drones": [
            {
                "id": d,
                "dock": f"dock-{d}",
                "endurance_s": inp.endurance_s,
                "reserve_s": inp.reserve_s,
                "swap_s": inp.swap_s,
                "cruise_speed_mps": inp.cruise_speed_mps,
                "altitude_m": inp.altitude_m,
            }
            for d in inp.drones
        ],
        "hot_spots": [
            {
                "id": h.id,
                "lonlat": list(h.lonlat),
                "weight": h.weight,
                "revisit_s": h.revisit_s,
                "dwell_s": h.dwell_s,
            }
            for h in inp.hot_spots
        ],
        "no_fly": [{"id": fid, "polygon": [list(p) for p in ring]} for fid, ring in inp.no_fly],
        **({"keep_in": [list(p) for p in inp.keep_in]} if inp.keep_in else {}),
        "horizon_s": inp.horizon_s,
        "margin_m": inp.margin_m,
    }


def _why_unserved(h: HotSpot, inp: PlanInputs) -> tuple[str, str]:
    """Which constraint keeps every drone from serving `h`: the battery or the schedule."""
    usable = inp.endurance_s - inp.reserve_s
    best = min(
        (
            2 * distance_m(home, h.lonlat) / inp.cruise_speed_mps
            + 2 * inp.altitude_m / 3.0
            + h.dwell_s
            for home in inp.drones.values()
        ),
        default=math.inf,
    )
    if best > usable:
        return (
            "battery",
            f"hot spot {h.name!r} ({h.id}) needs a {best:.0f}s round trip from the nearest "
            f"dock; a sortie may fly {usable:.0f}s (endurance minus reserve)",
        )
    return (
        "revisit",
        f"hot spot {h.name!r} ({h.id}) gets no visit: the drones' battery slots cannot meet "
        f"its revisit windows of {h.revisit_s:.0f}s over {inp.horizon_s:.0f}s",
    )


def _plan_aerial(inp: PlanInputs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from planners.aerial import AerialProblem, plan_aerial, plan_to_geojson

    pd = _aerial_problem_dict(inp)
    problem = AerialProblem.from_dict(pd)
    plan = plan_aerial(problem, stop=MaxRuntime(inp.time_limit_s), seed=inp.seed)
    spots = {h.id: h for h in inp.hot_spots}
    if not inp.allow_partial:
        for hid in plan.unreachable:
            h = spots[hid]
            raise PatrolInfeasible(
                f"hot spot {h.name!r} ({hid}) lies inside a no-fly zone (with the "
                f"{inp.margin_m:.0f} m margin) or outside the keep-in zone",
                constraint="no_fly",
                hot_spot_id=hid,
                where=f"hot_spots/{hid}",
            )
        for c in plan.coverage:
            if not c.visits_s:
                constraint, detail = _why_unserved(spots[c.id], inp)
                raise PatrolInfeasible(
                    detail, constraint=constraint, hot_spot_id=c.id, where=f"hot_spots/{c.id}"
                )
    sorties = [
        {
            "drone_id": s.drone_id,
            "index": s.index,
            "launch_s": s.launch_s,
            "land_s": s.land_s,
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
            "hot_spots": [hid for hid, _ in s.visits],
        }
        for s in plan.sorties
    ]
    doc = {
        "problem": pd,
        "geojson": plan_to_geojson(plan, problem),
        "summary": plan.summary(),
        "unreachable": list(plan.unreachable),
        "dropped_visits": list(plan.dropped_visits),
        "coverage": [
            {
                "hot_spot_id": c.id,
                "required_visits": c.required,
                "visits_s": list(c.visits_s),
                "gaps_s": list(c.gaps_s),
                "max_gap_s": c.max_gap_s,
            }
            for c in plan.coverage
        ],
    }
    return doc, sorties


def _plan_ground(inp: PlanInputs, roads: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from planners.ground import GroundProblem, Post, Unit, solve
    from planners.ground import HotSpot as GroundSpot

    horizon = int(inp.horizon_s)
    units = []
    posts = []
    for uid, (kind, (lon, lat)) in inp.ground.items():
        posts.append(Post(f"post-{uid}", lon, lat))
        units.append(
            Unit(uid, mode=ground_mode(kind), start_post=f"post-{uid}", shift_s=(0, horizon))
        )
    spots = []
    # One optional stop per revisit window, as the aerial planner does: "id@k".
    for h in inp.hot_spots:
        lon, lat = h.lonlat
        n = max(1, math.ceil(inp.horizon_s / h.revisit_s))
        for k in range(n):
            lo = int(k * h.revisit_s)
            hi = int(min(lo + 0.5 * h.revisit_s if n > 1 else inp.horizon_s, horizon))
            if hi < lo:
                continue
            spots.append(
                GroundSpot(
                    f"{h.id}@{k}",
                    lon,
                    lat,
                    dwell_s=int(h.dwell_s),
                    window_s=(lo, hi),
                    penalty=int(10_000 * h.weight) + 1,
                )
            )
    result = solve(
        GroundProblem(tuple(posts), tuple(units), tuple(spots)),
        roads=roads,
        stop=MaxRuntime(inp.time_limit_s),
        seed=inp.seed,
    )
    routes = []
    for route in result.plan.routes:
        stops = []
        for v in route.visits:
            hid = v.visit_id.split("@")[0]
            lon, lat = next(h.lonlat for h in inp.hot_spots if h.id == hid)
            stops.append(
                {
                    "hot_spot_id": hid,
                    "lon": lon,
                    "lat": lat,
                    "arrival_s": v.arrival,
                    "start_s": v.start,
                    "departure_s": v.departure,
                }
            )
        if not stops:
            continue
        routes.append(
            {
                "unit_id": route.vehicle_id,
                "route": {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [list(p) for p in result.geometry[route.vehicle_id]],
                    },
                    "properties": {
                        "kind": "route",
                        "unit_id": route.vehicle_id,
                        "departure_s": route.departure,
                        "arrival_s": route.arrival,
                        "length_m": round(sum(result.legs[route.vehicle_id]), 1),
                    },
                },
                "stops": stops,
            }
        )
    doc = {"geojson": result.to_geojson(), "dropped": list(result.plan.dropped)}
    return doc, routes


def plan_patrol(inp: PlanInputs, roads: Any | None) -> PlannedPatrol:
    """Plan drones and ground units for `inp` (pure; call it through `run_planner`).

    Raises
    ------
    PatrolInfeasible
        Naming the constraint (``no_fly``, ``battery``, ``revisit``, ``infeasible``,
        ``malformed``) and, where one is to blame, the hot spot.
    """
    if not inp.hot_spots:
        raise PatrolInfeasible(
            "no hot spot to patrol in this zone and window", constraint="hot_spots"
        )
    if not inp.drones and not inp.ground:
        raise PatrolInfeasible("no unit to patrol with", constraint="units")
    plan: dict[str, Any] = {
        "horizon_s": inp.horizon_s,
        "hot_spots": [
            {
                "id": h.id,
                "name": h.name,
                "lon": h.lonlat[0],
                "lat": h.lonlat[1],
                "weight": h.weight,
                "revisit_s": h.revisit_s,
                "dwell_s": h.dwell_s,
            }
            for h in inp.hot_spots
        ],
    }
    sorties: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    try:
        if inp.drones:
            plan["aerial"], sorties = _plan_aerial(inp)
        if inp.ground:
            if roads is None:
                raise PatrolInfeasible("no road network loaded", constraint="map")
            plan["ground"], routes = _plan_ground(inp, roads)
    except PlanningError as exc:
        raise _translate(exc) from exc
    return PlannedPatrol(plan, sorties, routes)


def merged_geojson(plan: Mapping[str, Any]) -> dict[str, Any]:
    """One FeatureCollection with the sorties, the ground routes and the hot spots."""
    feats: list[dict[str, Any]] = []
    if "aerial" in plan:
        feats += plan["aerial"]["geojson"]["features"]
    if "ground" in plan:
        feats += [
            f for f in plan["ground"]["geojson"]["features"] if f["properties"]["kind"] == "route"
        ]
    if "aerial" not in plan:
        for h in plan.get("hot_spots", ()):
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [h["lon"], h["lat"]]},
                    "properties": {"kind": "hot_spot", **h},
                }
            )
    return {"type": "FeatureCollection", "features": feats}
