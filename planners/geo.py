"""Geometry for planners: lon/lat <-> local metres, no-fly and keep-in zones, safe detour paths.

Everything metric happens in a local azimuthal-equidistant projection centred on the problem
(`Projection`); lon/lat is converted once, at the boundary. `Airspace` holds the zones in metres
and answers the three questions the planners ask: is a point flyable, is a straight leg safe, and
what is the shortest safe path (and its length) between points.

How the safety guarantee is kept
--------------------------------
* A no-fly zone is *blocked* out to ``margin_m`` (``zone.buffer(margin_m)``; circles are
  circumscribed, so the polygon contains the true disc).
* Detour *nodes* sit on a slightly larger ring, ``zone.buffer(1.05 * margin_m + 1 m)``, with
  coarse round joins. Even the chords between those nodes stay outside the blocked region
  (chord sag for ``quad_segs=4`` is < 2 % of the radius), so legs that hug a zone are robust to
  floating-point noise instead of grazing its boundary.
* Every leg that a path uses - point to point, point to node, node to node - is tested with
  shapely against the blocked polygons (and, with a keep-in zone, for being covered by the
  keep-in zone shrunk by the margin). A leg that touches a blocked polygon is refused.
  Hence no returned segment crosses a no-fly zone or leaves the keep-in zone; the property
  tests in ``tests/planners/test_geo.py`` check it against the unbuffered zones.
* Points inside a blocked region (or outside the keep-in zone) are unreachable. `PathMatrix`
  gives them ``inf`` distances; `Airspace.path` raises `Infeasible`. Planners drop such
  points and report them (see `planners.aerial`).
* Holes inside a no-fly polygon are treated as part of the zone (conservative). Holes in a
  keep-in zone are treated as no-fly zones.

Shortest paths: a visibility graph over the detour nodes (only convex corners of obstacles,
only reflex corners of the keep-in zone), all-pairs shortest paths with scipy, then a min-plus
product ``point -> node -> ... -> node -> point`` computed only for pairs whose straight line is
blocked. The straight line is used whenever it is safe (it is then the shortest path).
One-to-many queries (`Airspace.paths_from`, used for ETAs) reuse the source's distances to the
nodes and test a blocked point's legs to the nodes best-first, stopping at the first visible
one (see `PathsFrom`): the same lengths as the exhaustive min-plus product.

Speed of the leg test: each blocked polygon carries a disc that contains it and a disc inside
it (`_ZoneDiscs`). A leg that misses every outer disc is safe, a leg that enters an inner disc
is blocked; both are decided in numpy with a rounding margin, so only legs that graze a zone
reach shapely, and every answer is the one shapely gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import shortest_path
from shapely.geometry import MultiPolygon, Point, Polygon

from planners.errors import Infeasible, MalformedProblem

__all__ = [
    "Airspace",
    "KeepInZone",
    "LonLat",
    "NoFlyZone",
    "PathMatrix",
    "PathsFrom",
    "Projection",
    "path_length_m",
]

LonLat = tuple[float, float]
XY = tuple[float, float]

_NODE_QUAD_SEGS = 4  # coarse arcs: fewer detour nodes, chord sag < 2 % of the radius
_CIRCLE_QUAD_SEGS = 16


def _node_offset_m(margin_m: float) -> float:
    """Distance of detour nodes from a zone: beyond the margin by 5 % + 1 m (see module doc)."""
    return 1.05 * margin_m + 1.0


def _check_lonlat(p: object, where: str) -> LonLat:
    try:
        lon, lat = (float(v) for v in p)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise MalformedProblem("expected [lon, lat]", where=where) from exc
    if (
        not (math.isfinite(lon) and math.isfinite(lat))
        or not (-180 <= lon <= 180)
        or not (-90 <= lat <= 90)
    ):
        raise MalformedProblem(f"[lon, lat] out of range: [{lon}, {lat}]", where=where)
    return (lon, lat)


@dataclass(frozen=True, slots=True, eq=False)
class Projection:
    """Azimuthal equidistant projection centred on (lon0, lat0); metres, x east, y north."""

    lon0: float
    lat0: float
    _fwd: Transformer = field(init=False, repr=False)
    _inv: Transformer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_lonlat((self.lon0, self.lat0), "projection")
        crs = f"+proj=aeqd +lat_0={self.lat0} +lon_0={self.lon0} +datum=WGS84 +units=m +no_defs"
        object.__setattr__(self, "_fwd", Transformer.from_crs("EPSG:4326", crs, always_xy=True))
        object.__setattr__(self, "_inv", Transformer.from_crs(crs, "EPSG:4326", always_xy=True))

    @classmethod
    def centred_on(cls, points: Sequence[LonLat]) -> Projection:
        """A projection centred on the bounding-box centre of ``points`` (lon, lat).

        Raises
        ------
        MalformedProblem
            If ``points`` is empty.
        """
        if len(points) == 0:
            raise MalformedProblem("no points to centre the projection on", where="projection")
        arr = np.asarray(points, dtype=float)
        lon = (arr[:, 0].min() + arr[:, 0].max()) / 2
        lat = (arr[:, 1].min() + arr[:, 1].max()) / 2
        return cls(float(lon), float(lat))

    def to_xy(self, lonlat: Sequence[LonLat] | np.ndarray) -> np.ndarray:
        """(n, 2) lon/lat degrees -> (n, 2) metres."""
        arr = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        x, y = self._fwd.transform(arr[:, 0], arr[:, 1])
        return np.column_stack([x, y])

    def to_lonlat(self, xy: Sequence[XY] | np.ndarray) -> np.ndarray:
        """(n, 2) metres -> (n, 2) lon/lat degrees."""
        arr = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = self._inv.transform(arr[:, 0], arr[:, 1])
        return np.column_stack([lon, lat])

    def polygon(self, ring: Sequence[LonLat]) -> Polygon:
        """A lon/lat ring as a metric shapely polygon."""
        return Polygon(self.to_xy(ring))


@dataclass(frozen=True, slots=True)
class NoFlyZone:
    """A no-fly zone: a lon/lat polygon ring, or a circle (``center`` lon/lat, ``radius_m``)."""

    id: str
    polygon: tuple[LonLat, ...] = ()
    center: LonLat | None = None
    radius_m: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise MalformedProblem("zone id must be a non-empty string", where="no_fly")
        where = f"no_fly/{self.id}"
        if bool(self.polygon) == (self.center is not None):
            raise MalformedProblem("give either a polygon or a center and radius_m", where=where)
        if self.polygon:
            ring = tuple(
                _check_lonlat(p, f"{where}/polygon/{i}") for i, p in enumerate(self.polygon)
            )
            if len(ring) < 3:
                raise MalformedProblem("a polygon needs at least 3 vertices", where=where)
            if not Polygon(ring).is_valid or Polygon(ring).area == 0:
                raise MalformedProblem("polygon is self-intersecting or empty", where=where)
            object.__setattr__(self, "polygon", ring)
        else:
            object.__setattr__(self, "center", _check_lonlat(self.center, f"{where}/center"))
            if not (math.isfinite(self.radius_m) and self.radius_m > 0):
                raise MalformedProblem("radius_m must be > 0", where=f"{where}/radius_m")

    def shape(self, proj: Projection) -> Polygon:
        """The zone in metres (a circle is an inscribed 64-gon: use `Airspace` for safety)."""
        if self.polygon:
            return proj.polygon(self.polygon)
        assert self.center is not None
        c = proj.to_xy([self.center])[0]
        return Point(c).buffer(self.radius_m, quad_segs=_CIRCLE_QUAD_SEGS)


@dataclass(frozen=True, slots=True)
class KeepInZone:
    """The area a route must stay inside: a lon/lat polygon ring."""

    polygon: tuple[LonLat, ...]

    def __post_init__(self) -> None:
        ring = tuple(_check_lonlat(p, f"keep_in/{i}") for i, p in enumerate(self.polygon))
        if len(ring) < 3 or not Polygon(ring).is_valid or Polygon(ring).area == 0:
            raise MalformedProblem("keep-in polygon is invalid or empty", where="keep_in")
        object.__setattr__(self, "polygon", ring)


def _circumscribed_disc(center: np.ndarray, radius_m: float) -> Polygon:
    """A polygonal disc that contains the true disc of ``radius_m``."""
    n = 4 * _CIRCLE_QUAD_SEGS
    return Point(center).buffer(radius_m / math.cos(math.pi / n), quad_segs=_CIRCLE_QUAD_SEGS)


def _node_ring(zone: Polygon, off: float, margin_m: float) -> shapely.Geometry:
    """A coarse polygon around ``zone`` whose boundary keeps > ``margin_m`` from it.

    Simplifying by ``t`` moves the boundary by at most ``t``; growing it back by ``t`` with
    mitre joins (no extra vertices) restores containment of ``zone.buffer(off)``. A larger
    ``t`` gives fewer detour nodes at the price of detours up to ~2t longer.
    """
    ring = zone.buffer(off, quad_segs=_NODE_QUAD_SEGS)
    t = max(off - margin_m, 0.02 * math.sqrt(ring.area))
    return ring.simplify(t).buffer(t, join_style="mitre", mitre_limit=3.0)


def _ring_corners(ring: np.ndarray, *, convex: bool) -> np.ndarray:
    """Vertices of a closed CCW ring that are convex (or reflex when ``convex`` is False)."""
    pts = ring[:-1]
    if len(pts) < 3:
        return pts
    prev = np.roll(pts, 1, axis=0)
    nxt = np.roll(pts, -1, axis=0)
    d1 = pts - prev
    d2 = nxt - pts
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    out: np.ndarray = pts[cross > 0] if convex else pts[cross < 0]
    return out


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]


@dataclass(frozen=True, slots=True, eq=False)
class _ZoneDiscs:
    """Two discs per blocked polygon, both centred inside it: one contains the polygon, one
    lies inside it. They settle most leg-vs-zone tests exactly in numpy (see `classify`).

    Both radii are padded against rounding (1e-9 relative + 1e-6 m, far above the float
    error of a leg's distance to a centre for coordinates below 1e9 m), so a leg is called
    clear or hit only when shapely would say the same; anything in between is "unsure".
    """

    centre: np.ndarray  # (k, 2)
    outer2: np.ndarray  # (k,) squared radius of a disc containing the polygon
    inner2: np.ndarray  # (k,) squared radius of a disc inside the polygon, -1 if none

    @classmethod
    def of(cls, polys: Sequence[Polygon]) -> _ZoneDiscs:
        centre = np.zeros((len(polys), 2))
        outer2 = np.zeros(len(polys))
        inner2 = np.full(len(polys), -1.0)
        for k, p in enumerate(polys):
            # Any centre inside works; the inscribed circle's centre gives the largest disc.
            c = np.asarray(shapely.maximum_inscribed_circle(p).coords[0], dtype=float)
            ring = np.asarray(p.exterior.coords)
            r_out = float(np.hypot(*(ring - c).T).max())
            centre[k] = c
            outer2[k] = (r_out * (1 + 1e-9) + 1e-6) ** 2
            pt = Point(c)
            if p.contains_properly(pt):
                r_in = float(shapely.distance(p.boundary, pt)) * (1 - 1e-9) - 1e-6
                if r_in > 0:
                    inner2[k] = r_in * r_in
        return cls(centre, outer2, inner2)

    def classify(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For legs a[i] -> b[i]: (surely hits a polygon, may touch one and needs shapely)."""
        ab = b - a
        ll = np.einsum("ij,ij->i", ab, ab)
        ll[ll == 0] = 1.0  # a point: t = 0 below
        abx, aby = ab[:, 0, None], ab[:, 1, None]
        acx = self.centre[None, :, 0] - a[:, 0, None]  # (legs, zones)
        acy = self.centre[None, :, 1] - a[:, 1, None]
        t = acx * abx + acy * aby
        t /= ll[:, None]
        np.clip(t, 0.0, 1.0, out=t)
        px = t * abx
        px -= acx
        py = t * aby
        py -= acy
        d2 = px * px
        d2 += py * py
        hit: np.ndarray = (d2 < self.inner2).any(axis=1)
        unsure: np.ndarray = (d2 <= self.outer2).any(axis=1)
        unsure &= ~hit
        return hit, unsure


@dataclass(frozen=True, slots=True, eq=False)
class Airspace:
    """No-fly zones (and an optional keep-in zone) in metres, with a safety margin.

    Parameters
    ----------
    zones : metric polygons that must not be entered (unbuffered).
    margin_m : safety distance kept from every zone and from the keep-in boundary.
    keep_in : optional metric polygon every path must stay inside.
    """

    zones: tuple[Polygon, ...] = ()
    margin_m: float = 0.0
    keep_in: Polygon | None = None
    blocked: tuple[Polygon, ...] = field(init=False, repr=False)
    nodes: np.ndarray = field(init=False, repr=False)
    _tree: shapely.STRtree | None = field(init=False, repr=False)
    _discs: _ZoneDiscs = field(init=False, repr=False)
    _allowed: shapely.Geometry | None = field(init=False, repr=False)
    _node_dist: np.ndarray = field(init=False, repr=False)
    _node_pred: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.margin_m) and self.margin_m >= 0):
            raise MalformedProblem("margin_m must be >= 0", where="margin_m")
        off = _node_offset_m(self.margin_m)
        solid: list[Polygon] = []
        for i, z in enumerate(self.zones):
            if not isinstance(z, Polygon) or z.is_empty or not z.is_valid:
                raise MalformedProblem("zone is not a valid polygon", where=f"no_fly/{i}")
            solid.append(Polygon(z.exterior))
        allowed = None
        if self.keep_in is not None:
            if self.keep_in.is_empty or not self.keep_in.is_valid:
                raise MalformedProblem("keep-in zone is not a valid polygon", where="keep_in")
            solid.extend(Polygon(h) for h in self.keep_in.interiors)
            outer = Polygon(self.keep_in.exterior)
            allowed = outer.buffer(-self.margin_m) if self.margin_m > 0 else outer
            if allowed.is_empty:
                raise Infeasible("keep-in zone is narrower than twice the margin", where="keep_in")
            shapely.prepare(allowed)
        blocked = tuple(p.buffer(self.margin_m) if self.margin_m > 0 else p for p in solid)
        node_list: list[np.ndarray] = []
        for p in solid:
            for q in _polygons(_node_ring(p, off, self.margin_m)):
                coords = np.asarray(shapely.geometry.polygon.orient(q, 1.0).exterior.coords)
                node_list.append(_ring_corners(coords, convex=True))
        if self.keep_in is not None:
            inner = Polygon(self.keep_in.exterior).buffer(-off, quad_segs=_NODE_QUAD_SEGS)
            for q in _polygons(inner):
                coords = np.asarray(shapely.geometry.polygon.orient(q, 1.0).exterior.coords)
                node_list.append(_ring_corners(coords, convex=False))
        tree = shapely.STRtree(list(blocked)) if blocked else None
        for b in blocked:
            shapely.prepare(b)
        object.__setattr__(self, "_discs", _ZoneDiscs.of(blocked))
        object.__setattr__(self, "blocked", blocked)
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_allowed", allowed)
        nodes = np.concatenate(node_list) if node_list else np.zeros((0, 2))
        nodes = nodes[self._free(nodes)] if len(nodes) else nodes
        object.__setattr__(self, "nodes", nodes)
        n = len(nodes)
        if n:
            iu, ju = np.triu_indices(n, 1)
            vis = self.visible(nodes[iu], nodes[ju])
            w = np.zeros((n, n))
            d = np.hypot(*(nodes[iu] - nodes[ju]).T)
            w[iu[vis], ju[vis]] = d[vis]
            w[ju[vis], iu[vis]] = d[vis]
            dist, pred = shortest_path(w, method="D", directed=False, return_predecessors=True)
        else:
            dist, pred = np.zeros((0, 0)), np.zeros((0, 0), dtype=int)
        object.__setattr__(self, "_node_dist", dist)
        object.__setattr__(self, "_node_pred", pred)

    @classmethod
    def from_lonlat(
        cls,
        proj: Projection,
        zones: Sequence[NoFlyZone] = (),
        *,
        margin_m: float = 0.0,
        keep_in: KeepInZone | None = None,
    ) -> Airspace:
        """Build from lon/lat zones; circles are circumscribed so they contain the true disc."""
        shapes: list[Polygon] = []
        for z in zones:
            if z.polygon:
                shapes.append(proj.polygon(z.polygon))
            else:
                assert z.center is not None
                shapes.append(_circumscribed_disc(proj.to_xy([z.center])[0], z.radius_m))
        ki = proj.polygon(keep_in.polygon) if keep_in is not None else None
        return cls(tuple(shapes), margin_m, ki)

    # -- predicates -------------------------------------------------------------------------

    def _free(self, pts: np.ndarray) -> np.ndarray:
        pts = np.asarray(pts, dtype=float).reshape(-1, 2)
        ok = np.ones(len(pts), dtype=bool)
        if len(pts) == 0:
            return ok
        if self._tree is not None:
            # A point is a leg of length 0: the discs settle most points without shapely.
            hit, unsure = self._discs.classify(pts, pts)
            ok[hit] = False
            idx = np.flatnonzero(unsure)
            if len(idx):
                hit_idx, _ = self._tree.query(shapely.points(pts[idx]), predicate="intersects")
                ok[idx[hit_idx]] = False
        if self._allowed is not None:
            ok &= shapely.contains_properly(self._allowed, shapely.points(pts))
        return ok

    def free_mask(self, points_xy: np.ndarray) -> np.ndarray:
        """True for each (x, y) point that is outside every buffered zone (and inside keep-in)."""
        return self._free(points_xy)

    def visible(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """True where the straight leg a[k] -> b[k] is safe (vectorised over k)."""
        a = np.asarray(a, dtype=float).reshape(-1, 2)
        b = np.asarray(b, dtype=float).reshape(-1, 2)
        ok = np.ones(len(a), dtype=bool)
        if len(a) == 0:
            return ok
        if self._tree is not None:
            # Exact numpy pre-filter: a leg farther from a zone's centre than the zone's
            # bounding radius misses it, a leg nearer than its inscribed radius hits it;
            # only legs in between (grazing a zone) go to shapely.
            hit, unsure = self._discs.classify(a, b)
            ok[hit] = False
            idx = np.flatnonzero(unsure)
            if len(idx):
                lines = shapely.linestrings(np.stack([a[idx], b[idx]], axis=1))
                hit_idx, _ = self._tree.query(lines, predicate="intersects")
                ok[idx[hit_idx]] = False
        if self._allowed is not None:
            idx = np.flatnonzero(ok)
            if len(idx):
                lines = shapely.linestrings(np.stack([a[idx], b[idx]], axis=1))
                ok[idx] = shapely.covered_by(lines, self._allowed)
        return ok

    def segment_is_safe(self, a: XY, b: XY) -> bool:
        """Whether the straight leg a -> b is safe."""
        return bool(self.visible(np.asarray([a]), np.asarray([b]))[0])

    # -- paths ------------------------------------------------------------------------------

    def matrix(self, points_xy: np.ndarray) -> PathMatrix:
        """Shortest safe path lengths (metres) between all ``points_xy``; see `PathMatrix`."""
        pts = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        p = len(pts)
        free = self._free(pts)
        dist = np.full((p, p), np.inf)
        direct = np.zeros((p, p), dtype=bool)
        np.fill_diagonal(dist, np.where(free, 0.0, np.inf))
        np.fill_diagonal(direct, free)
        iu, ju = np.triu_indices(p, 1)
        both = free[iu] & free[ju]
        iu, ju = iu[both], ju[both]
        if len(iu):
            vis = self.visible(pts[iu], pts[ju])
            d = np.hypot(*(pts[iu] - pts[ju]).T)
            dist[iu[vis], ju[vis]] = d[vis]
            dist[ju[vis], iu[vis]] = d[vis]
            direct[iu[vis], ju[vis]] = True
            direct[ju[vis], iu[vis]] = True
            bi, bj = iu[~vis], ju[~vis]
        else:
            bi = bj = np.zeros(0, dtype=int)
        n = len(self.nodes)
        via = np.full((p, p, 2), -1, dtype=np.int64)
        if n and len(bi):
            # A[i, u]: straight safe leg from point i to node u (inf if blocked).
            need = np.unique(np.concatenate([bi, bj]))
            a_ = np.full((p, n), np.inf)
            ii = np.repeat(need, n)
            uu = np.tile(np.arange(n), len(need))
            vis = self.visible(pts[ii], self.nodes[uu])
            a_[ii[vis], uu[vis]] = np.hypot(*(pts[ii[vis]] - self.nodes[uu[vis]]).T)
            # G[i, v] = min_u A[i, u] + D[u, v]; first node u remembered for the path.
            g = np.full((p, n), np.inf)
            g_arg = np.full((p, n), -1, dtype=np.int64)
            sub = a_[need]
            gs = np.full((len(need), n), np.inf)
            gs_arg = np.full((len(need), n), -1, dtype=np.int64)
            for u in range(n):
                cand = sub[:, u : u + 1] + self._node_dist[u][None, :]
                better = cand < gs
                gs = np.where(better, cand, gs)
                gs_arg = np.where(better, u, gs_arg)
            g[need] = gs
            g_arg[need] = gs_arg
            tot = g[bi] + a_[bj]  # (pairs, n): ... -> last node v -> point j
            v = np.argmin(tot, axis=1)
            best = tot[np.arange(len(bi)), v]
            reach = np.isfinite(best)
            bi, bj, v, best = bi[reach], bj[reach], v[reach], best[reach]
            u = g_arg[bi, v]
            dist[bi, bj] = best
            via[bi, bj, 0] = u
            via[bi, bj, 1] = v
            # Paths are symmetric: reverse direction uses the same nodes backwards.
            dist[bj, bi] = best
            via[bj, bi, 0] = v
            via[bj, bi, 1] = u
        return PathMatrix(pts, dist, direct, via, free, self)

    def distances_from(self, source_xy: XY, points_xy: np.ndarray) -> np.ndarray:
        """Shortest safe path length (metres) from one source to many points (``inf`` if none).

        Cheaper than `matrix` for one-to-many (ETA): the straight leg is tested for every
        point, and only points whose straight leg is blocked are routed via detour nodes.
        Same as ``self.paths_from(source_xy).distances(points_xy)``.
        """
        return self.paths_from(source_xy).distances(points_xy)

    def paths_from(self, source_xy: XY | np.ndarray) -> PathsFrom:
        """Shortest safe path lengths from one source, for many queries (see `PathsFrom`)."""
        src = np.asarray(source_xy, dtype=float).reshape(2)
        return PathsFrom(self, src, bool(self._free(src)[0]))

    def path(self, a: XY, b: XY) -> list[XY]:
        """The shortest safe path from a to b as metric waypoints (a first, b last).

        Raises
        ------
        Infeasible
            If a or b is inside a buffered no-fly zone (or outside the keep-in zone), or no
            safe path joins them.
        """
        m = self.matrix(np.asarray([a, b], dtype=float))
        for k, name in ((0, "a"), (1, "b")):
            if not m.free[k]:
                raise Infeasible("point is inside a no-fly zone or outside keep-in", where=name)
        return m.path(0, 1)

    def _node_chain(self, u: int, v: int) -> list[int]:
        chain = [v]
        while chain[-1] != u:
            prev = int(self._node_pred[u, chain[-1]])
            if prev < 0:
                raise Infeasible("no safe path between detour nodes", where="airspace")
            chain.append(prev)
        return chain[::-1]


@dataclass(frozen=True, slots=True, eq=False)
class PathsFrom:
    """Shortest safe path lengths from one source to any points (`Airspace.paths_from`).

    The source's path length to every detour node is computed once, on first need, and
    shared by every later query (an ETA asks for the docks, then for batches of drones).

    A point whose straight leg is blocked reaches the source through a last detour node
    ``v`` it sees: ``min over visible v of |p - v| + node_m[v]``. Instead of testing the
    leg to every node, the nodes are walked by increasing ``|p - v| + node_m[v]`` (a few
    at a time, vectorised over the points) and the first visible one gives the minimum:
    the same value as the exhaustive search, with far fewer leg tests.

    Attributes
    ----------
    airspace : the zones.
    source : (2,) metres.
    free : whether the source is outside every buffered zone (and inside keep-in); when not,
        every distance is ``inf``.
    """

    airspace: Airspace
    source: np.ndarray
    free: bool
    _node_m: np.ndarray | None = field(default=None, repr=False)

    @property
    def node_m(self) -> np.ndarray:
        """(n,) shortest safe path length from the source to each detour node (cached)."""
        if self._node_m is None:
            air, src = self.airspace, self.source
            n = len(air.nodes)
            sees = air.visible(np.broadcast_to(src, (n, 2)), air.nodes)
            if not self.free or not sees.any():
                node_m = np.full(n, np.inf)
            else:
                a0 = np.hypot(*(air.nodes[sees] - src).T)
                node_m = np.min(a0[:, None] + air._node_dist[sees], axis=0)
            object.__setattr__(self, "_node_m", node_m)  # a cache: frozen to callers
            return node_m
        return self._node_m

    def distances(self, points_xy: np.ndarray) -> np.ndarray:
        """Shortest safe path length (metres) to each point: the straight leg where it is
        safe, else the detour (``inf`` for points inside a zone, or without a safe path)."""
        air = self.airspace
        pts = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        out = np.full(len(pts), np.inf)
        if not self.free or len(pts) == 0:
            return out
        straight = np.hypot(pts[:, 0] - self.source[0], pts[:, 1] - self.source[1])
        if air._tree is None and air._allowed is None:
            return np.asarray(straight, dtype=np.float64)
        idx = np.flatnonzero(air._free(pts))
        vis = air.visible(np.broadcast_to(self.source, (len(idx), 2)), pts[idx])
        out[idx[vis]] = straight[idx[vis]]
        rest = idx[~vis]
        if len(rest):
            out[rest] = self._via_nodes(pts[rest])
        return out

    def detour_m(self, points_xy: np.ndarray) -> np.ndarray:
        """Shortest safe path length via at least one detour node, ignoring the straight leg.

        Equals `distances` for points whose straight leg is blocked (callers that already
        tested the straight legs save testing them again); ``inf`` for points inside a zone.
        """
        pts = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        out = np.full(len(pts), np.inf)
        if not self.free or len(pts) == 0:
            return out
        idx = np.flatnonzero(self.airspace._free(pts))
        if len(idx):
            out[idx] = self._via_nodes(pts[idx])
        return out

    def _via_nodes(self, pts: np.ndarray) -> np.ndarray:
        """``min over nodes v visible from p of |p - v| + node_m[v]``, best-first (see class)."""
        air = self.airspace
        nodes = air.nodes
        n = len(nodes)
        out = np.full(len(pts), np.inf)
        if n == 0:
            return out
        g = self.node_m
        cost = np.hypot(pts[:, 0, None] - nodes[None, :, 0], pts[:, 1, None] - nodes[None, :, 1])
        cost += g[None, :]
        order = np.argsort(cost, axis=1, kind="stable")
        todo = np.arange(len(pts))
        start, width = 0, 8
        while len(todo) and start < n:
            cols = order[todo, start : start + width]
            c = cost[todo[:, None], cols]
            finite = np.isfinite(c)
            rr, cc = np.nonzero(finite)
            vis = np.zeros(c.shape, dtype=bool)
            vis[rr, cc] = air.visible(pts[todo[rr]], nodes[cols[rr, cc]])
            found = vis.any(axis=1)
            first = np.argmax(vis, axis=1)
            out[todo[found]] = c[found, first[found]]
            # Sorted costs: once a row reaches an inf cost, no later node is reachable.
            todo = todo[~found & finite[:, -1]]
            start, width = start + width, 2 * width
        return out


@dataclass(frozen=True, slots=True, eq=False)
class PathMatrix:
    """Shortest safe paths between a fixed set of metric points.

    Attributes
    ----------
    points : (p, 2) metres.
    distance_m : (p, p) shortest safe path lengths; ``inf`` when unreachable (a point inside a
        zone, or no safe path).
    direct : (p, p) True where the straight line is safe.
    free : (p,) True for points outside every buffered zone (and inside keep-in).
    """

    points: np.ndarray
    distance_m: np.ndarray
    direct: np.ndarray
    _via: np.ndarray = field(repr=False)
    free: np.ndarray = field(repr=False)
    airspace: Airspace = field(repr=False)

    def path(self, i: int, j: int) -> list[XY]:
        """Waypoints (metres) of the shortest safe path from point i to point j.

        Raises
        ------
        Infeasible
            If j cannot be reached from i.
        """
        a = (float(self.points[i, 0]), float(self.points[i, 1]))
        b = (float(self.points[j, 0]), float(self.points[j, 1]))
        if self.direct[i, j]:
            return [a, b] if i != j else [a]
        if not np.isfinite(self.distance_m[i, j]):
            raise Infeasible(f"point {j} cannot be reached from point {i}", where=f"points/{j}")
        u, v = (int(k) for k in self._via[i, j])
        chain = self.airspace._node_chain(u, v)
        mid = [(float(self.airspace.nodes[k, 0]), float(self.airspace.nodes[k, 1])) for k in chain]
        return [a, *mid, b]


def path_length_m(path: Sequence[XY]) -> float:
    """Length of a polyline in metres."""
    if len(path) < 2:
        return 0.0
    arr = np.asarray(path, dtype=float)
    return float(np.hypot(*np.diff(arr, axis=0).T).sum())
