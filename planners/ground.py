"""Ground patrol planner: patrol routes for cars, motorbikes, bicycles and foot patrols on roads.

Usage
-----
>>> from planners.ground import GroundProblem, HotSpot, Post, Unit, solve
>>> from planners.roads import RoadNetwork
>>> from planners.stop import MaxRuntime
>>> roads = RoadNetwork.from_file("../shared/data/osm/monaco.osm.gz")
>>> problem = GroundProblem(
...     posts=(Post("hq", 7.4210, 43.7310),),
...     units=(Unit("car-1", mode="car", start_post="hq", shift_s=(8 * 3600, 12 * 3600)),),
...     hot_spots=(
...         HotSpot("casino", 7.4280, 43.7395, dwell_s=600, window_s=(9 * 3600, 10 * 3600)),
...         HotSpot("port", 7.4230, 43.7350, dwell_s=900, penalty=5_000),
...     ),
... )
>>> result = solve(problem, roads=roads, stop=MaxRuntime(1.0))
>>> fc = result.to_geojson()          # FeatureCollection: LineStrings along roads + stops

Model: posts and hot spots are snapped to the nearest node of each unit mode's road graph
(`planners.roads`); travel times between them are shortest road paths, **rounded up to
whole seconds** (so a planned arrival is never earlier than the road model allows) and
handed to `planners.routing.solve` with one matrix profile per mode. Times are seconds
from the plan's day origin (midnight, typically): ``window_s=(9 * 3600, 10 * 3600)`` is a
peak hour from 09:00 to 10:00 during which the dwell must start. The objective is total
driving/walking time plus drop penalties (``penalty * priority``) of skipped optional
hot spots. ``modes`` on a hot spot restricts which unit modes may serve it (a pedestrian
mall only on foot, say), using the routing core's skills.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planners.errors import MalformedProblem, PlanningError
from planners.problem import INT_LIMIT, RoutingProblem, TimeWindow, Vehicle, Visit
from planners.roads import Mode, RoadGraph, RoadNetwork
from planners.routing import RoutingParams
from planners.routing import solve as solve_routing
from planners.solution import Plan, PlanResult
from planners.stop import StopCriterion

__all__ = [
    "GroundPlan",
    "GroundProblem",
    "HotSpot",
    "Post",
    "Unit",
    "parse_time_s",
    "problem_from_dict",
    "solve",
]

#: Default largest distance from a post or hot spot to the road network of a mode.
MAX_SNAP_M = 750.0


def _check_lonlat(lon: float, lat: float, where: str) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise MalformedProblem(f"({lon}, {lat}) is not a lon/lat pair", where=where)


def _window(value: tuple[int, int] | None, where: str) -> TimeWindow | None:
    if value is None:
        return None
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise MalformedProblem("expected [earliest_s, latest_s]", where=where) from exc
    if not 0 <= lo <= hi <= INT_LIMIT:
        raise MalformedProblem(f"need 0 <= earliest <= latest, got [{lo}, {hi}]", where=where)
    return TimeWindow(lo, hi)


@dataclass(frozen=True, slots=True)
class Post:
    """A station or standby post where units start and end (lon/lat, WGS84)."""

    id: str
    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not self.id:
            raise MalformedProblem("post id must be non-empty", where="id")
        _check_lonlat(self.lon, self.lat, "lon")


@dataclass(frozen=True, slots=True)
class Unit:
    """A ground patrol unit.

    Parameters
    ----------
    id : unique name.
    mode : ``car``, ``motorbike``, ``bicycle`` or ``foot``.
    start_post, end_post : post ids; ``end_post`` defaults to ``start_post``.
    shift_s : (start, end) seconds: leave no earlier than start, be back by end.
    max_duration_s : longest time out of the post (e.g. a foot patrol's stamina).
    skills : what the unit can do, matched against `HotSpot.skills`.
    """

    id: str
    mode: str
    start_post: str
    end_post: str | None = None
    shift_s: tuple[int, int] | None = None
    max_duration_s: int | None = None
    skills: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.id:
            raise MalformedProblem("unit id must be non-empty", where="id")
        try:
            Mode(self.mode)
        except ValueError as exc:
            raise MalformedProblem(
                f"unknown mode {self.mode!r}; choose one of {', '.join(m.value for m in Mode)}",
                where="mode",
            ) from exc
        _window(self.shift_s, "shift_s")
        if self.max_duration_s is not None and not 0 < self.max_duration_s <= INT_LIMIT:
            raise MalformedProblem("max_duration_s must be positive", where="max_duration_s")
        object.__setattr__(self, "skills", frozenset(self.skills))


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A place to patrol: dwell there for ``dwell_s``, starting inside ``window_s``.

    ``penalty=None`` makes the hot spot mandatory; otherwise it is optional and skipping
    it costs ``penalty * priority`` (in seconds of travel, the objective's unit).
    """

    id: str
    lon: float
    lat: float
    dwell_s: int = 0
    window_s: tuple[int, int] | None = None
    priority: int = 1
    penalty: int | None = None
    modes: frozenset[str] | None = None
    skills: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.id:
            raise MalformedProblem("hot spot id must be non-empty", where="id")
        _check_lonlat(self.lon, self.lat, "lon")
        if not 0 <= self.dwell_s <= INT_LIMIT:
            raise MalformedProblem("dwell_s must be >= 0", where="dwell_s")
        _window(self.window_s, "window_s")
        if self.priority < 1:
            raise MalformedProblem("priority must be >= 1", where="priority")
        if self.penalty is not None and not 0 <= self.penalty <= INT_LIMIT:
            raise MalformedProblem("penalty must be >= 0", where="penalty")
        if self.modes is not None:
            modes = frozenset(self.modes)
            for m in modes:
                if m not in {x.value for x in Mode}:
                    raise MalformedProblem(f"unknown mode {m!r}", where="modes")
            object.__setattr__(self, "modes", modes)
        object.__setattr__(self, "skills", frozenset(self.skills))


@dataclass(frozen=True, slots=True)
class GroundProblem:
    """Units, their posts and the hot spots to patrol.

    Raises
    ------
    MalformedProblem
        On duplicate ids, unknown posts, or an empty fleet (``where`` names the item).
    """

    posts: tuple[Post, ...]
    units: tuple[Unit, ...]
    hot_spots: tuple[HotSpot, ...]
    max_snap_m: float = MAX_SNAP_M

    def __post_init__(self) -> None:
        for name in ("posts", "units", "hot_spots"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.units:
            raise MalformedProblem("at least one unit is needed", where="units")
        for name in ("posts", "units", "hot_spots"):
            seen: set[str] = set()
            for k, item in enumerate(getattr(self, name)):
                if item.id in seen:
                    raise MalformedProblem(f"duplicate id {item.id!r}", where=f"{name}[{k}].id")
                seen.add(item.id)
        posts = {p.id for p in self.posts}
        for k, u in enumerate(self.units):
            for attr in ("start_post", "end_post"):
                ref = getattr(u, attr)
                if ref is not None and ref not in posts:
                    raise MalformedProblem(f"unknown post {ref!r}", where=f"units[{k}].{attr}")
        if not self.max_snap_m > 0:
            raise MalformedProblem("max_snap_m must be positive", where="max_snap_m")


def parse_time_s(value: Any, where: str) -> int:
    """Seconds from an integer, or from an ``"HH:MM"`` / ``"HH:MM:SS"`` clock string.

    Raises
    ------
    MalformedProblem
        If ``value`` is neither.
    """
    if isinstance(value, bool):
        raise MalformedProblem("expected seconds or 'HH:MM'", where=where)
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return int(value)
    if isinstance(value, str):
        parts = value.strip().split(":")
        if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
            h, m, *rest = (int(p) for p in parts)
            sec = rest[0] if rest else 0
            if m < 60 and sec < 60:
                return h * 3600 + m * 60 + sec
    raise MalformedProblem(f"expected seconds or 'HH:MM', got {value!r}", where=where)


def _pair(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise MalformedProblem("expected [earliest, latest]", where=where)
    lo, hi = parse_time_s(value[0], f"{where}[0]"), parse_time_s(value[1], f"{where}[1]")
    if hi < lo:
        raise MalformedProblem(
            f"window ends before it starts ({value[0]} > {value[1]})", where=where
        )
    return lo, hi


def _lonlat(item: Mapping[str, Any]) -> tuple[float, float]:
    value = item.get("lonlat")
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise MalformedProblem('expected "lonlat": [lon, lat]', where="lonlat")
    return float(value[0]), float(value[1])


def _items(d: Mapping[str, Any], key: str, required: bool) -> list[Mapping[str, Any]]:
    value = d.get(key)
    if value is None:
        if required:
            raise MalformedProblem(f"missing field {key!r}", where=key)
        return []
    if not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value):
        raise MalformedProblem(f"{key!r} must be a list of objects", where=key)
    return value


def _prefixed(where: str, build: Any) -> Any:
    """Call ``build()``, prefixing the ``where`` of a `MalformedProblem` with ``where``."""
    try:
        return build()
    except MalformedProblem as exc:
        inner = f".{exc.where}" if exc.where else ""
        raise MalformedProblem(str(exc), where=f"{where}{inner}") from exc
    except (TypeError, ValueError) as exc:
        raise MalformedProblem(str(exc), where=where) from exc


def problem_from_dict(d: Mapping[str, Any]) -> GroundProblem:
    """Parse the ground problem JSON format (see `fleet.cli.plan` and docs/ground.md).

    Raises
    ------
    MalformedProblem
        With ``where`` naming the offending field, e.g. ``hot_spots[3].window``.
    """
    if not isinstance(d, Mapping):
        raise MalformedProblem("the problem must be a JSON object", where="")
    posts = []
    for k, x in enumerate(_items(d, "posts", True)):
        w = f"posts[{k}]"
        posts.append(_prefixed(w, lambda x=x: Post(str(x.get("id", "")), *_lonlat(x))))
    units = []
    for k, x in enumerate(_items(d, "units", True)):
        w = f"units[{k}]"
        units.append(
            _prefixed(
                w,
                lambda x=x: Unit(
                    str(x.get("id", "")),
                    mode=str(x.get("mode", "car")),
                    start_post=str(x.get("start_post", "")),
                    end_post=None if x.get("end_post") is None else str(x["end_post"]),
                    shift_s=_pair(x.get("shift"), "shift"),
                    max_duration_s=None
                    if x.get("max_duration_s") is None
                    else int(x["max_duration_s"]),
                    skills=frozenset(map(str, x.get("skills", ()))),
                ),
            )
        )
    spots = []
    for k, x in enumerate(_items(d, "hot_spots", False)):
        w = f"hot_spots[{k}]"
        spots.append(
            _prefixed(
                w,
                lambda x=x: HotSpot(
                    str(x.get("id", "")),
                    *_lonlat(x),
                    dwell_s=int(x.get("dwell_s", 0)),
                    window_s=_pair(x.get("window"), "window"),
                    priority=int(x.get("priority", 1)),
                    penalty=None if x.get("penalty") is None else int(x["penalty"]),
                    modes=None if x.get("modes") is None else frozenset(map(str, x["modes"])),
                    skills=frozenset(map(str, x.get("skills", ()))),
                ),
            )
        )
    extra = {}
    if "max_snap_m" in d:
        extra["max_snap_m"] = _prefixed("max_snap_m", lambda: float(d["max_snap_m"]))
    return GroundProblem(tuple(posts), tuple(units), tuple(spots), **extra)


@dataclass(frozen=True, slots=True, eq=False)
class GroundPlan:
    """A solved ground patrol problem: the routing result plus road geometry.

    Attributes
    ----------
    result : the routing core's `PlanResult` (time units: seconds).
    geometry : unit id -> list of (lon, lat) along the roads, post to post.
    legs : unit id -> list of per-leg road lengths in metres (one per route arc).
    problem : the ground problem.
    """

    result: PlanResult
    geometry: dict[str, list[tuple[float, float]]]
    legs: dict[str, list[float]]
    problem: GroundProblem

    @property
    def plan(self) -> Plan:
        """The routes and dropped hot spots."""
        return self.result.plan

    def is_feasible(self) -> bool:
        """Whether the routes meet every hard constraint (see `planners.solution.check_plan`)."""
        return self.result.is_feasible()

    def cost(self) -> int:
        """Travel seconds plus drop penalties."""
        return self.result.cost()

    @property
    def runtime_s(self) -> float:
        """Seconds spent solving (routing only, matrices excluded)."""
        return self.result.runtime_s

    def summary(self) -> str:
        """One line for humans."""
        return self.result.summary()

    def to_geojson(self) -> dict[str, Any]:
        """RFC 7946 FeatureCollection: one LineString per unit along the roads, one Point per stop.

        LineString properties: ``unit``, ``mode``, ``departure_s``, ``arrival_s``,
        ``duration_s``, ``length_m``, ``stops`` (hot spot, arrival_s, start_s,
        departure_s, wait_s, and clock strings). Point features carry ``kind`` =
        ``"stop"`` (with the same timings) or ``"dropped"``. Top-level ``dropped`` lists the
        skipped hot spots.
        """
        units = {u.id: u for u in self.problem.units}
        spots = {h.id: h for h in self.problem.hot_spots}
        features: list[dict[str, Any]] = []
        for route in self.plan.routes:
            unit = units[route.vehicle_id]
            stops = [
                {
                    "hot_spot": s.visit_id,
                    "arrival_s": s.arrival,
                    "start_s": s.start,
                    "departure_s": s.departure,
                    "wait_s": s.wait,
                    "arrival": _clock(s.arrival),
                    "departure": _clock(s.departure),
                }
                for s in route.visits
            ]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[lon, lat] for lon, lat in self.geometry[unit.id]],
                    },
                    "properties": {
                        "kind": "route",
                        "unit": unit.id,
                        "mode": unit.mode,
                        "departure_s": route.departure,
                        "arrival_s": route.arrival,
                        "departure": _clock(route.departure),
                        "arrival": _clock(route.arrival),
                        "duration_s": route.duration,
                        "length_m": round(sum(self.legs[unit.id]), 1),
                        "stops": stops,
                    },
                }
            )
            for stop in stops:
                h = spots[str(stop["hot_spot"])]
                features.append(_point(h, {"kind": "stop", "unit": unit.id, **stop}))
        for hid in self.plan.dropped:
            features.append(_point(spots[hid], {"kind": "dropped", "hot_spot": hid}))
        return {
            "type": "FeatureCollection",
            "features": features,
            "dropped": list(self.plan.dropped),
            "cost": self.cost(),
            "attribution": "Map data © OpenStreetMap contributors, ODbL 1.0",
        }


def _point(h: HotSpot, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [h.lon, h.lat]},
        "properties": props,
    }


def _clock(t: int) -> str:
    day, rem = divmod(int(t), 86_400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" + (f"+{day}d" if day else "")


@dataclass(frozen=True, slots=True, eq=False)
class _Matrices:
    problem: RoutingProblem
    modes: list[Mode]
    nodes: dict[Mode, np.ndarray]  # mode -> graph node of each location


def build_routing_problem(problem: GroundProblem, roads: RoadNetwork) -> _Matrices:
    """Snap every post and hot spot per mode and build the routing problem (pure).

    Raises
    ------
    MalformedProblem
        If a post or hot spot lies farther than ``max_snap_m`` from a mode's roads.
    """
    posts = {p.id: k for k, p in enumerate(problem.posts)}
    coords = [(p.lon, p.lat) for p in problem.posts] + [(h.lon, h.lat) for h in problem.hot_spots]
    names = [f"posts[{k}]" for k in range(len(problem.posts))] + [
        f"hot_spots[{k}]" for k in range(len(problem.hot_spots))
    ]
    modes = sorted({Mode(u.mode) for u in problem.units}, key=lambda m: m.value)
    n = len(coords)
    durations = np.zeros((len(modes), n, n), dtype=np.int64)
    lengths = np.zeros((len(modes), n, n), dtype=np.int64)
    nodes: dict[Mode, np.ndarray] = {}
    needed = _locations_per_mode(problem, modes)
    for p, mode in enumerate(modes):
        g = roads.graph(mode)
        dist = g.snap_distance_m(coords)
        for i in needed[mode]:
            if dist[i] > problem.max_snap_m:
                raise MalformedProblem(
                    f"{dist[i]:.0f} m from the nearest {mode.value} road "
                    f"(max_snap_m={problem.max_snap_m:.0f})",
                    where=names[i],
                )
        nodes[mode] = g.snap(coords)
        secs = g.time_matrix(nodes[mode])
        # Round travel times *up* to whole seconds: a planned arrival is never earlier than
        # the road model allows. Time per arc is < 2**40 s by a wide margin.
        durations[p] = np.ceil(secs - 1e-9).astype(np.int64)
    del lengths  # lengths are reported from the path geometry, not optimised
    vehicles = []
    for u in problem.units:
        start = posts[u.start_post]
        end = posts[u.end_post or u.start_post]
        vehicles.append(
            Vehicle(
                u.id,
                start=start,
                end=end,
                skills=frozenset({*u.skills, f"mode:{u.mode}"}),
                shift=_window(u.shift_s, "shift_s"),
                max_duration=u.max_duration_s,
                profile=modes.index(Mode(u.mode)),
            )
        )
    visits = []
    offset = len(problem.posts)
    for k, h in enumerate(problem.hot_spots):
        skills = set(h.skills)
        if h.modes is not None and len(h.modes) < len(Mode):
            # One skill per allowed mode cannot express "any of": keep the mode constraint
            # by requiring a skill only units of allowed modes carry.
            skills.add("modes:" + ",".join(sorted(h.modes)))
        visits.append(
            Visit(
                h.id,
                location=offset + k,
                service=h.dwell_s,
                window=_window(h.window_s, f"hot_spots[{k}].window_s"),
                skills=frozenset(skills),
                priority=h.priority,
                penalty=h.penalty,
            )
        )
    # Units carry a "modes:..." skill for every mode set they satisfy.
    mode_sets = {v.skills for v in visits}
    mode_skills = {s for skills in mode_sets for s in skills if s.startswith("modes:")}
    vehicles = [
        Vehicle(
            v.id,
            start=v.start,
            end=v.end,
            skills=v.skills
            | {s for s in mode_skills if u.mode in s.removeprefix("modes:").split(",")},
            shift=v.shift,
            max_duration=v.max_duration,
            profile=v.profile,
        )
        for v, u in zip(vehicles, problem.units, strict=True)
    ]
    horizon = _horizon(problem, durations)
    rp = RoutingProblem(durations, tuple(vehicles), tuple(visits), horizon=horizon)
    return _Matrices(rp, modes, nodes)


def _locations_per_mode(problem: GroundProblem, modes: Sequence[Mode]) -> dict[Mode, list[int]]:
    """Location indices a mode must reach: its units' posts and the hot spots it may serve."""
    posts = {p.id: k for k, p in enumerate(problem.posts)}
    out: dict[Mode, list[int]] = {}
    for m in modes:
        locs = {
            posts[ref]
            for u in problem.units
            if Mode(u.mode) is m
            for ref in (u.start_post, u.end_post or u.start_post)
        }
        locs |= {
            len(problem.posts) + k
            for k, h in enumerate(problem.hot_spots)
            if h.modes is None or m.value in h.modes
        }
        out[m] = sorted(locs)
    return out


def _horizon(problem: GroundProblem, durations: np.ndarray) -> int:
    bounds = [u.shift_s[1] for u in problem.units if u.shift_s is not None]
    bounds += [h.window_s[1] + h.dwell_s for h in problem.hot_spots if h.window_s is not None]
    loose = sum(h.dwell_s for h in problem.hot_spots) + int(durations.max(initial=0)) * (
        len(problem.hot_spots) + 1
    )
    if any(u.shift_s is None for u in problem.units) or not bounds:
        bounds.append(max(bounds, default=0) + loose)
    return int(min(max(bounds) + int(durations.max(initial=0)), INT_LIMIT))


def solve(
    problem: GroundProblem,
    *,
    roads: RoadNetwork,
    stop: StopCriterion,
    seed: int = 0,
    params: RoutingParams | None = None,
    initial: Plan | None = None,
) -> GroundPlan:
    """Plan ground patrols on ``roads``.

    Parameters
    ----------
    problem : units, posts and hot spots.
    roads : the road network (its per-mode graphs are built on first use and cached in it).
    stop, seed, params, initial : as for `planners.routing.solve`.

    Returns
    -------
    GroundPlan

    Raises
    ------
    MalformedProblem
        For bad input or a place too far from the roads.
    Infeasible
        If a mandatory hot spot cannot be served (``where`` names it).
    """
    mats = build_routing_problem(problem, roads)
    try:
        result = solve_routing(mats.problem, stop=stop, seed=seed, params=params, initial=initial)
    except PlanningError as exc:
        # Name the ground problem's items, not the routing core's.
        where = exc.where or ""
        for core, ours in (("visits[", "hot_spots["), ("vehicles[", "units[")):
            if where.startswith(core):
                where = ours + where[len(core) :]
        exc.where = where or None
        msg = str(exc).replace("mandatory visit(s)", "mandatory hot spot(s)")
        raise type(exc)(msg, where=exc.where) from exc
    geometry: dict[str, list[tuple[float, float]]] = {}
    legs: dict[str, list[float]] = {}
    units = {u.id: u for u in problem.units}
    for route in result.plan.routes:
        mode = Mode(units[route.vehicle_id].mode)
        g = roads.graph(mode)
        locs = [route.start_location, *(s.location for s in route.visits), route.end_location]
        graph_nodes = [int(mats.nodes[mode][i]) for i in locs]
        geometry[route.vehicle_id], legs[route.vehicle_id] = _route_geometry(g, graph_nodes)
    return GroundPlan(result, geometry, legs, problem)


def _route_geometry(
    g: RoadGraph, nodes: list[int]
) -> tuple[list[tuple[float, float]], list[float]]:
    coords: list[tuple[float, float]] = [g.coords([nodes[0]])[0]]
    lengths: list[float] = []
    for a, b in itertools.pairwise(nodes):
        path = g.node_path(a, b) if a != b else [a]
        lengths.append(g.path_length_m(path))
        coords.extend(g.coords(path[1:]))
    if len(coords) == 1:
        coords.append(coords[0])  # a LineString needs two positions
    return coords, lengths
