"""Road graphs per travel mode from an OSM extract: travel-time matrices, snapping, road paths.

Usage
-----
>>> from planners.roads import Mode, RoadNetwork
>>> net = RoadNetwork.from_file("../shared/data/osm/monaco.osm.gz")   # reads once
>>> g = net.graph(Mode.CAR)                                            # built once, cached
>>> nodes = g.snap([(7.4200, 43.7370), (7.4270, 43.7400)])
>>> seconds = g.time_matrix(nodes)                                     # (2, 2) float seconds
>>> coords = g.path(nodes[0], nodes[1])                                # [(lon, lat), ...]

Rules, applied the same way to every city (no city-specific code):

- Which ways a mode may use: the ``highway`` class (`MODES`), then the most specific
  access tag present (car: ``motorcar > motor_vehicle > vehicle > access``; motorbike:
  ``motorcycle > motor_vehicle > vehicle > access``; bicycle: ``bicycle > vehicle > access``;
  foot: ``foot > access``). ``no``/``private``/``agricultural``/``forestry`` forbid,
  ``yes``/``designated``/``permissive``/``destination``/``delivery`` allow.
- One-way: ``oneway=yes|true|1`` forward only, ``-1|reverse`` backward only, implied by
  ``junction=roundabout|circular`` and ``highway=motorway``. Foot ignores one-way; bicycles
  ignore it where ``oneway:bicycle=no`` or a ``cycleway*=opposite*`` tag says so.
- Speed: ``maxspeed`` (km/h or mph) when numeric, else the class default, capped by the
  mode's top speed; walking and cycling speeds are constant.
- Graph: every consecutive node pair of a usable way is an edge weighted by travel time in
  seconds (haversine length / speed). Only the largest strongly connected component is
  kept, so every matrix entry is finite and every snapped point can reach every other.

Everything here is pure; only `planners.osm.read_osm` reads the file.
"""

from __future__ import annotations

import enum
import itertools
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from planners.errors import MalformedProblem
from planners.osm import OsmRoads, OsmWay, read_osm

__all__ = ["MODES", "Mode", "ModeProfile", "RoadGraph", "RoadNetwork", "build_graph"]

EARTH_RADIUS_M = 6_371_008.8


class Mode(enum.StrEnum):
    """Travel modes of ground units."""

    CAR = "car"  # patrol car
    MOTORBIKE = "motorbike"  # police motorbike
    BICYCLE = "bicycle"  # bicycle patrol
    FOOT = "foot"  # foot patrol


@dataclass(frozen=True, slots=True)
class ModeProfile:
    """How a mode uses roads: allowed highway classes with speeds, access tags, one-way."""

    speeds_kmh: dict[str, float]
    access_keys: tuple[str, ...]
    max_speed_kmh: float
    respects_oneway: bool
    use_maxspeed: bool


_CAR_SPEEDS = {
    "motorway": 90,
    "motorway_link": 45,
    "trunk": 70,
    "trunk_link": 40,
    "primary": 50,
    "primary_link": 30,
    "secondary": 45,
    "secondary_link": 30,
    "tertiary": 40,
    "tertiary_link": 25,
    "unclassified": 30,
    "residential": 25,
    "living_street": 10,
    "service": 15,
    "road": 20,
}
_BIKE_SPEEDS = {
    k: 16.0
    for k in (
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "cycleway",
        "track",
        "path",
        "bridleway",
    )
} | {"pedestrian": 8.0, "footway": 8.0}
_FOOT_SPEEDS = {
    k: 5.0
    for k in (
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "pedestrian",
        "footway",
        "path",
        "track",
        "cycleway",
        "bridleway",
        "corridor",
        "platform",
        "crossing",
        "elevator",
    )
} | {"steps": 2.5, "trunk": 5.0, "trunk_link": 5.0}

#: Profiles per mode; adjust a copy and pass it to `build_graph` for other fleets.
MODES: dict[Mode, ModeProfile] = {
    Mode.CAR: ModeProfile(
        {k: float(v) for k, v in _CAR_SPEEDS.items()},
        ("motorcar", "motor_vehicle", "vehicle", "access"),
        110.0,
        True,
        True,
    ),
    Mode.MOTORBIKE: ModeProfile(
        # Motorbikes filter through traffic: a little faster on slow urban roads.
        {k: float(v) * (1.15 if v <= 30 else 1.0) for k, v in _CAR_SPEEDS.items()},
        ("motorcycle", "motor_vehicle", "vehicle", "access"),
        110.0,
        True,
        True,
    ),
    Mode.BICYCLE: ModeProfile(_BIKE_SPEEDS, ("bicycle", "vehicle", "access"), 25.0, True, False),
    Mode.FOOT: ModeProfile(_FOOT_SPEEDS, ("foot", "access"), 6.0, False, False),
}

_DENY = {"no", "private", "agricultural", "forestry", "discouraged", "use_sidepath"}
_ALLOW = {"yes", "designated", "permissive", "destination", "delivery", "customers", "official"}
_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$")


def _allowed(tags: dict[str, str], profile: ModeProfile) -> bool:
    for key in profile.access_keys:
        value = tags.get(key)
        if value is None:
            continue
        value = value.split(";")[0].strip()
        if value in _DENY:
            return False
        if value in _ALLOW:
            return True
    return True


def _speed_kmh(tags: dict[str, str], profile: ModeProfile) -> float | None:
    hw = tags.get("highway", "")
    base = profile.speeds_kmh.get(hw)
    if base is None:
        # A highway class the mode does not use by default is still usable if a tag
        # explicitly allows the mode (e.g. footway with bicycle=yes).
        for key in profile.access_keys[:-1]:
            if tags.get(key) in ("yes", "designated", "permissive"):
                base = min(profile.speeds_kmh.values())
                break
        else:
            return None
    if profile.use_maxspeed and (m := _MAXSPEED.match(tags.get("maxspeed", ""))):
        v = float(m.group(1)) * (1.609344 if m.group(2) else 1.0)
        if v > 0:
            base = v
    return min(base, profile.max_speed_kmh)


def _direction(tags: dict[str, str], profile: ModeProfile, mode: Mode) -> tuple[bool, bool]:
    """(forward allowed, backward allowed) for this mode."""
    if not profile.respects_oneway:
        return True, True
    ow = tags.get("oneway", "").strip().lower()
    if mode is Mode.BICYCLE:
        if tags.get("oneway:bicycle", "").lower() == "no":
            return True, True
        if any(
            tags.get(k, "").startswith("opposite")
            for k in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")
        ):
            return True, True
    if ow in ("yes", "true", "1"):
        return True, False
    if ow in ("-1", "reverse"):
        return False, True
    if ow in ("no", "false", "0"):
        return True, True
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return True, False
    return True, True


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres (vectorised)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=np.float64)) for a in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))), np.float64)


@dataclass(eq=False)
class RoadGraph:
    """A directed road graph of one mode, restricted to its largest strongly connected part.

    Attributes
    ----------
    mode : the travel mode.
    lon, lat : node coordinates (degrees), node ``i`` of the graph.
    osm_ids : OSM node id of each graph node.
    times : CSR matrix of edge travel times in seconds.
    lengths : CSR matrix of edge lengths in metres (same sparsity as ``times``).
    """

    mode: Mode
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    osm_ids: npt.NDArray[np.int64]
    times: csr_matrix
    lengths: csr_matrix
    _tree: cKDTree = field(init=False, repr=False)
    _origin: tuple[float, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._origin = (float(np.mean(self.lon)), float(np.mean(self.lat)))
        self._tree = cKDTree(self._local_xy(self.lon, self.lat))

    @property
    def num_nodes(self) -> int:
        """Number of nodes in the graph."""
        return int(self.lon.shape[0])

    def _local_xy(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
        # Equirectangular projection around the graph's centre: metre-accurate enough for
        # nearest-node search over a city (error < 0.1 % within ~50 km).
        lon0, lat0 = self._origin
        k = math.radians(1) * EARTH_RADIUS_M
        x = (np.asarray(lon, dtype=np.float64) - lon0) * k * math.cos(math.radians(lat0))
        y = (np.asarray(lat, dtype=np.float64) - lat0) * k
        return np.column_stack([x, y])

    def snap(
        self,
        points: Sequence[tuple[float, float]] | npt.ArrayLike,
        *,
        max_distance_m: float | None = None,
    ) -> npt.NDArray[np.intp]:
        """Nearest graph node of each (lon, lat) point.

        Raises
        ------
        MalformedProblem
            If a point is not a finite (lon, lat) pair, or lies farther than
            ``max_distance_m`` from the road network (``where`` is ``points[i]``).
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        bad = (
            ~np.all(np.isfinite(pts), axis=1) | (np.abs(pts[:, 0]) > 180) | (np.abs(pts[:, 1]) > 90)
        )
        if np.any(bad):
            raise MalformedProblem("not a (lon, lat) pair", where=f"points[{int(np.argmax(bad))}]")
        dist, idx = self._tree.query(self._local_xy(pts[:, 0], pts[:, 1]))
        if max_distance_m is not None and np.any(dist > max_distance_m):
            i = int(np.argmax(dist > max_distance_m))
            raise MalformedProblem(
                f"point {tuple(pts[i])} is {dist[i]:.0f} m from the nearest {self.mode} road "
                f"(limit {max_distance_m:.0f} m)",
                where=f"points[{i}]",
            )
        return np.asarray(idx, dtype=np.intp)

    def snap_distance_m(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Distance in metres from each (lon, lat) point to its nearest node."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        dist, _ = self._tree.query(self._local_xy(pts[:, 0], pts[:, 1]))
        return np.asarray(dist)

    def time_matrix(self, nodes: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Shortest travel times in seconds between the given nodes (rows: from, cols: to)."""
        nodes = np.asarray(nodes, dtype=np.intp)
        full = dijkstra(self.times, directed=True, indices=np.unique(nodes))
        rows = np.searchsorted(np.unique(nodes), nodes)
        return np.asarray(full[np.ix_(rows, nodes)])

    def length_matrix(self, nodes: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Road length in metres along the *fastest* paths between the given nodes."""
        nodes = np.asarray(nodes, dtype=np.intp)
        out = np.zeros((len(nodes), len(nodes)))
        for i, a in enumerate(nodes):
            _, pred = dijkstra(self.times, directed=True, indices=int(a), return_predecessors=True)
            for j, b in enumerate(nodes):
                out[i, j] = self.path_length_m(self._walk(pred, int(a), int(b)))
        return out

    def _walk(self, pred: npt.NDArray[np.int32], a: int, b: int) -> list[int]:
        path = [b]
        while path[-1] != a:
            p = int(pred[path[-1]])
            if p < 0:
                raise MalformedProblem(f"node {b} unreachable from {a}", where="path")
            path.append(p)
        return path[::-1]

    def path_length_m(self, path: Sequence[int]) -> float:
        """Length in metres of a node path (consecutive nodes must be joined by edges)."""
        return float(sum(self.lengths[u, v] for u, v in itertools.pairwise(path)))

    def node_path(self, a: int, b: int) -> list[int]:
        """Graph nodes of the fastest path from ``a`` to ``b`` (both included)."""
        _, pred = dijkstra(self.times, directed=True, indices=int(a), return_predecessors=True)
        return self._walk(pred, int(a), int(b))

    def paths_from(self, a: int, targets: Iterable[int]) -> dict[int, list[int]]:
        """Fastest node paths from ``a`` to each target, with one Dijkstra run."""
        _, pred = dijkstra(self.times, directed=True, indices=int(a), return_predecessors=True)
        return {int(b): self._walk(pred, int(a), int(b)) for b in targets}

    def path(self, a: int, b: int) -> list[tuple[float, float]]:
        """Fastest path from node ``a`` to node ``b`` as (lon, lat) coordinates."""
        return self.coords(self.node_path(a, b))

    def coords(self, nodes: Sequence[int]) -> list[tuple[float, float]]:
        """(lon, lat) of the given nodes."""
        return [(float(self.lon[n]), float(self.lat[n])) for n in nodes]

    def edge_time_s(self, u: int, v: int) -> float:
        """Travel time of the edge ``u -> v`` in seconds."""
        return float(self.times[u, v])


def build_graph(roads: OsmRoads, mode: Mode | str, profile: ModeProfile | None = None) -> RoadGraph:
    """Build the road graph of ``mode`` from loaded OSM ways (pure).

    Raises
    ------
    MalformedProblem
        If no way is usable by this mode.
    """
    mode = Mode(mode)
    profile = profile or MODES[mode]
    src: list[npt.NDArray[np.intp]] = []
    dst: list[npt.NDArray[np.intp]] = []
    spd: list[npt.NDArray[np.float64]] = []
    for way in roads.ways:
        edges = _way_edges(way, profile, mode)
        if edges is None:
            continue
        a, b, v = edges
        src.append(a)
        dst.append(b)
        spd.append(v)
    if not src:
        raise MalformedProblem(f"no road in the extract is usable by {mode}", where="osm")
    u = np.concatenate(src)
    w = np.concatenate(dst)
    speed = np.concatenate(spd)
    length = haversine_m(roads.lon[u], roads.lat[u], roads.lon[w], roads.lat[w])
    keep = u != w
    u, w, speed, length = u[keep], w[keep], speed[keep], length[keep]
    # Zero-length edges would vanish from a sparse matrix (csgraph reads 0 as "no edge").
    length = np.maximum(length, 0.01)
    t = length / (speed / 3.6)
    n = len(roads.lon)
    # Parallel edges: keep the fastest (sort by time descending so the fastest wins last).
    order = np.argsort(-t)
    u, w, t, length = u[order], w[order], t[order], length[order]
    key = u.astype(np.int64) * n + w
    _, first = np.unique(key[::-1], return_index=True)
    sel = len(key) - 1 - first
    u, w, t, length = u[sel], w[sel], t[sel], length[sel]
    times = csr_matrix((t, (u, w)), shape=(n, n))
    # Largest strongly connected component: every node reaches every other.
    _, labels = connected_components(times, directed=True, connection="strong")
    used = np.zeros(n, dtype=bool)
    used[u] = True
    used[w] = True
    counts = np.bincount(labels[used], minlength=labels.max() + 1)
    big = int(np.argmax(counts))
    nodes = np.flatnonzero((labels == big) & used)
    remap = np.full(n, -1, dtype=np.intp)
    remap[nodes] = np.arange(len(nodes))
    ok = (remap[u] >= 0) & (remap[w] >= 0)
    u2, w2 = remap[u[ok]], remap[w[ok]]
    m = len(nodes)
    return RoadGraph(
        mode=mode,
        lon=roads.lon[nodes],
        lat=roads.lat[nodes],
        osm_ids=roads.node_ids[nodes],
        times=csr_matrix((t[ok], (u2, w2)), shape=(m, m)),
        lengths=csr_matrix((length[ok], (u2, w2)), shape=(m, m)),
    )


def _way_edges(
    way: OsmWay, profile: ModeProfile, mode: Mode
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]] | None:
    tags = way.tags
    if tags.get("area") == "yes" and tags.get("highway") not in ("pedestrian", "footway"):
        return None
    if not _allowed(tags, profile):
        return None
    speed = _speed_kmh(tags, profile)
    if speed is None or speed <= 0:
        return None
    fwd, bwd = _direction(tags, profile, mode)
    nodes = np.asarray(way.nodes, dtype=np.intp)
    a, b = nodes[:-1], nodes[1:]
    parts_u, parts_w = [], []
    if fwd:
        parts_u.append(a)
        parts_w.append(b)
    if bwd:
        parts_u.append(b)
        parts_w.append(a)
    if not parts_u:
        return None
    uu = np.concatenate(parts_u)
    return uu, np.concatenate(parts_w), np.full(len(uu), speed)


class RoadNetwork:
    """An OSM extract loaded once, with one lazily built `RoadGraph` per mode (cached here).

    Not a global cache: whoever owns the object owns the memory, and a new object for the
    same file reads it again.
    """

    def __init__(self, roads: OsmRoads, *, source: str = "<memory>") -> None:
        self.roads = roads
        self.source = source
        self._graphs: dict[Mode, RoadGraph] = {}

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> RoadNetwork:
        """Load an extract (see `planners.osm.read_osm`).

        Raises
        ------
        MalformedProblem
            If the file is missing, unreadable or has no roads.
        """
        return cls(read_osm(path), source=os.fspath(path))

    def graph(self, mode: Mode | str) -> RoadGraph:
        """The graph of ``mode``, built on first use.

        Raises
        ------
        MalformedProblem
            If the mode is unknown or no road is usable by it.
        """
        try:
            m = Mode(mode)
        except ValueError as exc:
            raise MalformedProblem(
                f"unknown mode {mode!r}; choose one of {', '.join(x.value for x in Mode)}",
                where="mode",
            ) from exc
        g = self._graphs.get(m)
        if g is None:
            g = self._graphs[m] = build_graph(self.roads, m)
        return g
