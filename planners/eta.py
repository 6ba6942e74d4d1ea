"""ETA of many units to one point, vectorised with numpy, and the 1-3-5 tier each ETA meets.

Positions are metric (x east, y north) in the problem's `planners.geo.Projection`; convert
lon/lat once at the boundary.

Drone ETA
---------
``launch_delay_s + climb_s + path_m / ground_speed`` where ``climb_s`` is the climb from the
drone's current altitude to its cruise altitude, ``path_m`` the shortest no-fly-safe path
(`planners.geo.Airspace.paths_from`, one per call, shared by the docks and the drones;
straight line without zones) and ``ground_speed``
the cruise airspeed corrected for wind along the straight-line heading:
``w . u + sqrt(v^2 - (w x u)^2)`` (``u`` unit heading, ``w`` wind velocity, ``v`` airspeed).
When the crosswind exceeds the airspeed the drone cannot make the heading: ETA ``inf``.
The detour legs are timed with the straight-line heading's ground speed (an approximation:
detours are short compared with the leg). A drone is *battery-feasible* when flight to the
point plus the flight from the point to the nearest dock plus its reserve fits in its
remaining battery.

Ground ETA
----------
``dispatch_delay_s + straight_m * detour_factor / speed_mps`` as the fast path; pass exact
road times (`road_time_s` over a `planners.roads.RoadGraph`) as ``road_time_s`` to override
it per unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from planners.errors import MalformedProblem
from planners.geo import Airspace

if TYPE_CHECKING:
    from planners.roads import RoadGraph

__all__ = [
    "DroneEta",
    "DroneFleetState",
    "Wind",
    "drone_eta",
    "ground_eta",
    "rank",
    "road_time_s",
    "tier_of",
]

FloatArray = npt.NDArray[np.float64]

#: Rapid-response tiers of the 1-3-5 model, seconds.
TIERS_S: tuple[float, float, float] = (60.0, 180.0, 300.0)


@dataclass(frozen=True, slots=True)
class Wind:
    """Wind velocity (the direction the air moves *to*), m/s east and north."""

    east_mps: float = 0.0
    north_mps: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.east_mps) and math.isfinite(self.north_mps)):
            raise MalformedProblem("wind must be finite", where="wind")

    @classmethod
    def from_meteo(cls, speed_mps: float, from_deg: float) -> Wind:
        """Meteorological convention: speed and the compass direction it blows *from*."""
        to = math.radians(from_deg + 180.0)
        return cls(speed_mps * math.sin(to), speed_mps * math.cos(to))


def _vec(name: str, v: npt.ArrayLike, n: int, *, positive: bool = False) -> FloatArray:
    arr = np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or (positive and np.any(arr <= 0)):
        raise MalformedProblem(
            f"{name} must be finite and {'> 0' if positive else '>= 0'}", where=name
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class DroneFleetState:
    """A snapshot of many drones as arrays (scalars broadcast to every drone).

    Parameters
    ----------
    position_xy : (n, 2) metres.
    cruise_speed_mps : airspeed in cruise.
    climb_rate_mps : vertical speed when climbing to cruise altitude.
    cruise_alt_m, altitude_m : cruise altitude and current altitude above the dock.
    launch_delay_s : time before the drone starts moving (0 when already flying).
    battery_s : remaining flight time at cruise.
    reserve_s : battery that must remain on landing.
    """

    position_xy: FloatArray
    cruise_speed_mps: FloatArray | float
    climb_rate_mps: FloatArray | float = 3.0
    cruise_alt_m: FloatArray | float = 60.0
    altitude_m: FloatArray | float = 0.0
    launch_delay_s: FloatArray | float = 20.0
    battery_s: FloatArray | float = 1800.0
    reserve_s: FloatArray | float = 300.0
    _speed_groups: tuple[FloatArray, npt.NDArray[np.intp]] = field(
        init=False,
        repr=False,
        default=None,  # type: ignore[assignment]
    )

    def __post_init__(self) -> None:
        pos = np.asarray(self.position_xy, dtype=np.float64).reshape(-1, 2)
        if not np.all(np.isfinite(pos)):
            raise MalformedProblem("positions must be finite", where="position_xy")
        pos.setflags(write=False)
        object.__setattr__(self, "position_xy", pos)
        n = len(pos)
        for name in ("cruise_speed_mps", "climb_rate_mps"):
            object.__setattr__(self, name, _vec(name, getattr(self, name), n, positive=True))
        for name in ("cruise_alt_m", "altitude_m", "launch_delay_s", "battery_s", "reserve_s"):
            object.__setattr__(self, name, _vec(name, getattr(self, name), n))
        uniq, inv = np.unique(self.cruise_speed_mps, return_inverse=True)
        object.__setattr__(self, "_speed_groups", (uniq, inv))

    def __len__(self) -> int:
        return len(self.position_xy)

    @property
    def speed_groups(self) -> tuple[FloatArray, npt.NDArray[np.intp]]:
        """Distinct cruise speeds and, per drone, the index of its speed (cached)."""
        return self._speed_groups


@dataclass(frozen=True, slots=True, eq=False)
class DroneEta:
    """Per-drone results of `drone_eta` (arrays of length n).

    Attributes
    ----------
    eta_s : seconds to arrive over the point (``inf`` if unreachable).
    flight_s : flight time to the point (climb + cruise), seconds.
    return_s : flight time from the point back to the nearest dock.
    feasible : battery covers flight + return + reserve.
    exact : False where ``eta_s`` is only the straight-line lower bound (see ``k``).
    order : feasible drones first, each group by increasing ETA (only the first ``k``
        drones when ``k`` is given).
    """

    eta_s: FloatArray
    flight_s: FloatArray
    return_s: FloatArray
    feasible: npt.NDArray[np.bool_]
    exact: npt.NDArray[np.bool_] = field(repr=False)
    order: npt.NDArray[np.int64] = field(repr=False)


def _ground_speed(
    dx: FloatArray, dy: FloatArray, airspeed: FloatArray, wind: Wind, d: FloatArray | None = None
) -> FloatArray:
    """Ground speed along heading (dx, dy) for the given airspeed and wind (nan-free).

    ``d``, when given, is ``hypot(dx, dy)`` already computed by the caller.
    """
    if d is None:
        d = np.hypot(dx, dy)
    safe = np.where(d > 0, d, 1.0)
    ux, uy = np.where(d > 0, dx / safe, 1.0), np.where(d > 0, dy / safe, 0.0)
    along = wind.east_mps * ux + wind.north_mps * uy
    cross = wind.east_mps * uy - wind.north_mps * ux
    disc = airspeed**2 - cross**2
    gs = along + np.sqrt(np.maximum(disc, 0.0))
    return np.where((disc > 0) & (gs > 0), gs, 0.0)


def _smallest_first(
    key: FloatArray, idx: npt.NDArray[np.intp], m: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The ``m`` entries of ``idx`` (increasing) with the smallest ``key``, ordered by
    (key, index) - a stable sort's first ``m`` without sorting everything - and their
    positions in ``idx``."""
    k_idx = key[idx]
    if m < len(idx):
        part = np.argpartition(k_idx, m - 1)[:m]
        v = k_idx[part].max()
        if np.isnan(v):  # nan keys sort last, in no particular order among themselves
            take = part
        else:
            # The partition may cut through equal keys anywhere: keep the lowest indices.
            below = np.flatnonzero(k_idx < v)
            ties = np.flatnonzero(k_idx == v)[: m - len(below)]
            take = np.concatenate([below, ties])
    else:
        take = np.arange(len(idx))
    sel = idx[take]
    return sel[np.lexsort((sel, key[sel]))], take


def drone_eta(
    fleet: DroneFleetState,
    target_xy: npt.ArrayLike,
    *,
    docks_xy: npt.ArrayLike,
    airspace: Airspace | None = None,
    wind: Wind = Wind(),
    k: int | None = None,
) -> DroneEta:
    """ETA of every drone to ``target_xy`` and whether it can still get home with its reserve.

    Parameters
    ----------
    fleet : the drones.
    target_xy : the point, metres.
    docks_xy : (k, 2) dock positions, metres; the return leg goes to the nearest one.
    airspace : no-fly / keep-in zones; ``None`` for free straight flight.
    wind : wind velocity.
    k : when given, only drones that can still be among the ``k`` fastest feasible ones are
        checked against the zones and get their exact detour; the others keep the
        straight-line lower bound, ``exact == False`` and ``feasible == False`` (they cannot
        make the top ``k``).

    Returns
    -------
    DroneEta
        ``order`` lists feasible drones first, each group by increasing ETA.

    Raises
    ------
    MalformedProblem
        If there are no docks.
    """
    tgt = np.asarray(target_xy, dtype=np.float64).reshape(2)
    docks = np.asarray(docks_xy, dtype=np.float64).reshape(-1, 2)
    if len(docks) == 0:
        raise MalformedProblem("at least one dock is needed for the return leg", where="docks")
    if k is not None and k < 1:
        raise MalformedProblem("k must be >= 1", where="k")
    pos = fleet.position_xy
    f_cruise_speed_mps = np.asarray(fleet.cruise_speed_mps, dtype=np.float64)
    f_climb_rate_mps = np.asarray(fleet.climb_rate_mps, dtype=np.float64)
    f_cruise_alt_m = np.asarray(fleet.cruise_alt_m, dtype=np.float64)
    f_altitude_m = np.asarray(fleet.altitude_m, dtype=np.float64)
    f_launch_delay_s = np.asarray(fleet.launch_delay_s, dtype=np.float64)
    f_battery_s = np.asarray(fleet.battery_s, dtype=np.float64)
    f_reserve_s = np.asarray(fleet.reserve_s, dtype=np.float64)
    dx, dy = tgt[0] - pos[:, 0], tgt[1] - pos[:, 1]
    straight_m = np.hypot(dx, dy)
    gs = _ground_speed(dx, dy, f_cruise_speed_mps, wind, straight_m)
    climb_s = np.maximum(f_cruise_alt_m - f_altitude_m, 0.0) / f_climb_rate_mps

    def timing(path_m: FloatArray, sel: slice | npt.NDArray[np.int64]) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            cruise = np.where(path_m == 0, 0.0, path_m / gs[sel])
        return climb_s[sel] + np.where(np.isnan(cruise), np.inf, cruise)

    exact = np.ones(len(pos), dtype=bool)
    simple = airspace is None or (not airspace.blocked and airspace.keep_in is None)
    # One source for every path query of this call: the target's paths to the detour nodes
    # are found once and shared by the docks and every batch of drones.
    paths = None if simple else airspace.paths_from(tgt)  # type: ignore[union-attr]
    target_free = paths is None or paths.free
    if paths is None:
        dock_m = np.hypot(docks[:, 0] - tgt[0], docks[:, 1] - tgt[1])
    else:
        dock_m = paths.distances(docks)  # all inf when the target is in a zone
    # Return leg: the best dock given the airspeed and the wind, computed once per distinct
    # airspeed (fleets have few models) instead of once per drone.
    speeds, inverse = fleet.speed_groups
    ddx = np.broadcast_to((docks[:, 0] - tgt[0])[None, :], (len(speeds), len(docks)))
    ddy = np.broadcast_to((docks[:, 1] - tgt[1])[None, :], (len(speeds), len(docks)))
    gs_back = _ground_speed(ddx, ddy, speeds[:, None], wind)
    with np.errstate(divide="ignore", invalid="ignore"):
        back = np.where(dock_m[None, :] == 0, 0.0, dock_m[None, :] / gs_back)
    back = np.where(np.isnan(back), np.inf, back)
    return_s = back.min(axis=1)[inverse] if len(pos) else np.zeros(0)
    spare_s = f_battery_s - return_s - f_reserve_s  # flight budget to the point

    if simple:
        flight_s = timing(straight_m, slice(None))
    elif not target_free:
        flight_s = np.full(len(pos), np.inf)
    else:
        assert airspace is not None and paths is not None
        # The straight line is a lower bound. Without k, test and refine every drone. With k,
        # walk the drones by increasing lower bound in batches and stop once the next lower
        # bound exceeds the k-th best exact, feasible ETA: nobody further can make the top k.
        flight_s = timing(straight_m, slice(None))
        if k is None:
            cand = np.flatnonzero(~airspace.visible(pos, np.broadcast_to(tgt, pos.shape)))
            if len(cand):
                flight_s[cand] = timing(paths.detour_m(pos[cand]), cand)
        else:
            lb = f_launch_delay_s + flight_s
            exact[:] = False
            batch_size = max(64, 4 * k)
            # Each batch comes off the drones left by a partial sort (`_smallest_first`),
            # and only when the smallest bound left can still beat the k-th: fully sorting
            # 10,000 bounds to look past the first batch cost more than the zone tests.
            left = np.arange(len(lb))
            best: FloatArray = np.zeros(0)
            kth = np.inf
            while len(left) and lb[left].min() <= kth:
                batch, taken = _smallest_first(lb, left, batch_size)
                left = np.delete(left, taken)
                vis = airspace.visible(pos[batch], np.broadcast_to(tgt, (len(batch), 2)))
                blocked = batch[~vis]
                if len(blocked):
                    flight_s[blocked] = timing(paths.detour_m(pos[blocked]), blocked)
                exact[batch] = True
                f = flight_s[batch]
                ok = np.isfinite(f) & (f <= spare_s[batch])
                best = np.concatenate([best, (f_launch_delay_s[batch] + f)[ok]])
                if len(best) >= k:
                    kth = float(np.partition(best, k - 1)[k - 1])
    eta_s = f_launch_delay_s + flight_s
    feasible = np.isfinite(eta_s) & (flight_s + return_s + f_reserve_s <= f_battery_s)
    feasible &= exact
    # Feasible drones first (offset by a huge constant), each group by ETA; ties by index.
    key = np.where(feasible, eta_s, eta_s + 1e15)
    if k is None or k >= len(key):
        order = np.argsort(key, kind="stable")
    else:
        order = _smallest_first(key, np.arange(len(key)), k)[0]
    return DroneEta(eta_s, flight_s, return_s, feasible, exact, order)


def ground_eta(
    position_xy: npt.ArrayLike,
    target_xy: npt.ArrayLike,
    *,
    speed_mps: npt.ArrayLike,
    detour_factor: float = 1.3,
    dispatch_delay_s: npt.ArrayLike = 0.0,
    road_time_s: npt.ArrayLike | None = None,
) -> FloatArray:
    """ETA (s) of ground units: straight line x ``detour_factor`` / speed, plus the delay.

    ``road_time_s``, when given, holds exact road-network travel times per unit (``nan`` where
    unknown); those replace the straight-line estimate.

    Raises
    ------
    MalformedProblem
        If ``detour_factor`` < 1 or a speed is not positive.
    """
    pos = np.asarray(position_xy, dtype=np.float64).reshape(-1, 2)
    tgt = np.asarray(target_xy, dtype=np.float64).reshape(2)
    if not (math.isfinite(detour_factor) and detour_factor >= 1.0):
        raise MalformedProblem("detour_factor must be >= 1", where="detour_factor")
    speed = np.asarray(speed_mps, dtype=np.float64)
    if np.any(~(speed > 0)):
        raise MalformedProblem("speed_mps must be > 0", where="speed_mps")
    travel = np.hypot(pos[:, 0] - tgt[0], pos[:, 1] - tgt[1]) * (detour_factor / speed)
    if road_time_s is not None:
        road = np.asarray(road_time_s, dtype=np.float64).reshape(-1)
        travel = np.where(np.isnan(road), travel, road)
    out: FloatArray = travel + np.asarray(dispatch_delay_s, dtype=np.float64)
    return out


def road_time_s(
    graph: RoadGraph,
    positions_lonlat: npt.ArrayLike,
    target_lonlat: Sequence[float],
    *,
    access_speed_mps: float = 1.4,
) -> FloatArray:
    """Exact road travel time (s) of many units to one point over a `planners.roads` graph.

    One Dijkstra on the reversed graph from the target's nearest node gives every node's
    time *to* the target (one-way streets respected); each unit adds the straight walk from
    its position to its nearest node (and the target's) at ``access_speed_mps``. Feed the
    result to `ground_eta` as ``road_time_s``; ``inf`` means no road path.
    """
    from scipy.sparse.csgraph import dijkstra

    pos = np.asarray(positions_lonlat, dtype=np.float64).reshape(-1, 2)
    tgt = np.asarray(target_lonlat, dtype=np.float64).reshape(1, 2)
    t_node = int(graph.snap(tgt)[0])
    to_target = dijkstra(graph.times.T.tocsr(), directed=True, indices=t_node)
    nodes = graph.snap(pos)
    access = (graph.snap_distance_m(pos) + graph.snap_distance_m(tgt)[0]) / access_speed_mps
    return np.asarray(to_target[nodes] + access, dtype=np.float64)


def rank(eta_s: npt.ArrayLike, k: int | None = None) -> npt.NDArray[np.int64]:
    """Indices of the ``k`` fastest units (all when ``k`` is None), fastest first.

    Ties keep index order, so the ranking is deterministic.
    """
    eta = np.asarray(eta_s, dtype=np.float64)
    n = len(eta)
    if k is None or k >= n:
        return np.argsort(eta, kind="stable")
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    return _smallest_first(eta, np.arange(n), k)[0]


def tier_of(
    eta_s: npt.ArrayLike,
    bounds_s: Sequence[float] = TIERS_S,
    labels: Sequence[int] = (1, 3, 5),
) -> npt.NDArray[np.int64]:
    """The first 1-3-5 tier each ETA meets (``eta <= bound``), 0 when it meets none.

    >>> tier_of([30, 61, 299, 301]).tolist()
    [1, 3, 5, 0]
    """
    b = np.asarray(bounds_s, dtype=np.float64)
    if len(b) != len(labels) or np.any(np.diff(b) <= 0):
        raise MalformedProblem("tier bounds must increase and match labels", where="bounds_s")
    eta = np.asarray(eta_s, dtype=np.float64)
    idx = np.searchsorted(b, eta, side="left")
    lab = np.append(np.asarray(labels, dtype=np.int64), 0)
    return lab[idx]
