"""Coverage patterns: lawnmower sweep of an area, orbit of an event, relief rotation on station.

* `camera_swath_m` - ground footprint width from altitude and horizontal field of view.
* `sweep` - boustrophedon lines over an area polygon, spaced ``swath * (1 - overlap)``,
  clipped away from no-fly zones (with margin); consecutive lines are joined by no-fly-safe
  paths (`planners.geo.Airspace.path`), so no segment crosses a zone.
* `orbit` - waypoints on a ring at ``radius_m`` around a point or an event polygon; raises
  `Infeasible` naming the first segment that would enter a no-fly zone.
* `relief_rotation` - how many drones keep one position continuously covered, and the
  launch / arrive / leave / land schedule (each next drone arrives before the current one
  must leave).

Inputs are metric (x east, y north, metres) in a `planners.geo.Projection`; convert lon/lat
at the boundary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon

from planners.errors import Infeasible, MalformedProblem
from planners.geo import (
    XY,
    Airspace,
    KeepInZone,
    Projection,
    _check_lonlat,
    _node_offset_m,
    path_length_m,
)

__all__ = [
    "Orbit",
    "ReliefSchedule",
    "ReliefShift",
    "Sweep",
    "camera_swath_m",
    "coverage_from_dict",
    "orbit",
    "relief_rotation",
    "sweep",
]


_MAX_ITEMS = 20_000  # sweep lines, orbit points or relief sorties: beyond is a typo


def camera_swath_m(altitude_m: float, hfov_deg: float) -> float:
    """Ground footprint width of a nadir camera: ``2 * altitude * tan(hfov / 2)``.

    Raises
    ------
    MalformedProblem
        If the altitude is not positive or the field of view is not in (0, 180).
    """
    if not (math.isfinite(altitude_m) and altitude_m > 0):
        raise MalformedProblem("altitude_m must be > 0", where="altitude_m")
    if not (0 < hfov_deg < 180):
        raise MalformedProblem("hfov_deg must be in (0, 180)", where="hfov_deg")
    return 2.0 * altitude_m * math.tan(math.radians(hfov_deg) / 2.0)


@dataclass(frozen=True, slots=True)
class Sweep:
    """A lawnmower path (metres): waypoints in flying order, and what it covers.

    Attributes
    ----------
    waypoints : the path, sweep lines and the safe joins between them.
    lines : number of sweep-line pieces flown.
    spacing_m, angle_deg : line spacing and direction (degrees counter-clockwise from east).
    path_m : total length.
    covered_share : share of the area (minus no-fly zones) inside the swath of the lines.
    """

    waypoints: tuple[XY, ...]
    lines: int
    spacing_m: float
    angle_deg: float
    path_m: float
    covered_share: float


def _long_side_angle(poly: Polygon) -> float:
    rect = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)
    edges = np.diff(rect, axis=0)
    k = int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))
    return math.degrees(math.atan2(edges[k, 1], edges[k, 0]))


def sweep(
    area: Polygon,
    *,
    swath_m: float,
    overlap: float = 0.2,
    angle_deg: float | None = None,
    airspace: Airspace | None = None,
    start: XY | None = None,
) -> Sweep:
    """Boustrophedon sweep of ``area`` for a camera swath, avoiding no-fly zones.

    Parameters
    ----------
    area : metric polygon to cover.
    swath_m : footprint width (see `camera_swath_m`).
    overlap : side overlap between neighbouring lines, in [0, 0.9].
    angle_deg : line direction; default the long side of the area's minimum rectangle
        (fewest turns).
    airspace : no-fly / keep-in zones to respect.
    start : start near this point (the line end closest to it is flown first).

    Raises
    ------
    MalformedProblem
        For an invalid area, swath or overlap.
    Infeasible
        If nothing of the area is flyable, or two line pieces cannot be joined safely.
    """
    if not isinstance(area, Polygon) or area.is_empty or not area.is_valid:
        raise MalformedProblem("area must be a valid polygon", where="area")
    if not (math.isfinite(swath_m) and swath_m > 0):
        raise MalformedProblem("swath_m must be > 0", where="swath_m")
    if not (0 <= overlap <= 0.9):
        raise MalformedProblem("overlap must be in [0, 0.9]", where="overlap")
    air = airspace or Airspace()
    off = _node_offset_m(air.margin_m)

    def flyable(region: shapely.Geometry) -> shapely.Geometry:
        for z in air.zones:
            region = region.difference(Polygon(z.exterior).buffer(off))
        if air.keep_in is not None:
            region = region.intersection(Polygon(air.keep_in.exterior).buffer(-off))
        return region

    free = flyable(area)
    if free.is_empty or free.area <= 0:
        raise Infeasible("the area is entirely inside no-fly zones", where="area")
    angle = _long_side_angle(area) if angle_deg is None else float(angle_deg)
    centre = area.centroid
    # Lines run half a swath past the boundary so the footprint reaches the corners of
    # edges that are not perpendicular to the lines (still clear of zones and keep-in).
    overshoot = flyable(area.buffer(swath_m / 2.0, join_style="mitre"))
    rot = affinity.rotate(overshoot, -angle, origin=centre)
    _, miny, _, maxy = affinity.rotate(free, -angle, origin=centre).bounds
    spacing = swath_m * (1.0 - overlap)
    lminx, _, lmaxx, _ = rot.bounds
    n_lines = max(1, math.ceil((maxy - miny) / spacing))
    if n_lines > _MAX_ITEMS:
        raise MalformedProblem(
            f"{n_lines} sweep lines: the swath is too small for the area", where="swath_m"
        )
    # Centre the lines on the area so the margins are even.
    y0 = miny + ((maxy - miny) - (n_lines - 1) * spacing) / 2.0
    pieces: list[list[tuple[XY, XY]]] = []
    for k in range(n_lines):
        y = y0 + k * spacing
        cut = rot.intersection(LineString([(lminx - 1, y), (lmaxx + 1, y)]))
        segs = [g for g in getattr(cut, "geoms", [cut]) if isinstance(g, LineString)]
        row = []
        for g in segs:
            if g.is_empty or g.length <= 0:
                continue
            xs = [c[0] for c in g.coords]
            row.append(((min(xs), y), (max(xs), y)))
        row.sort()
        if row:
            pieces.append(row)
    # Boustrophedon order in the rotated frame, then back to the real frame.
    ordered: list[tuple[XY, XY]] = []
    for k, row in enumerate(pieces):
        if k % 2 == 0:
            ordered.extend(row)
        else:
            ordered.extend((b, a) for a, b in reversed(row))

    def unrot(p: XY) -> XY:
        q = affinity.rotate(Point(p), angle, origin=centre)
        return (q.x, q.y)

    segs_xy = [(unrot(a), unrot(b)) for a, b in ordered]
    if start is not None and segs_xy:
        first, last = segs_xy[0][0], segs_xy[-1][1]
        if math.dist(start, last) < math.dist(start, first):
            segs_xy = [(b, a) for a, b in reversed(segs_xy)]
    waypoints: list[XY] = []
    for a, b in segs_xy:
        if waypoints:
            join = air.path(waypoints[-1], a)
            waypoints.extend(join[1:])
        else:
            waypoints.append(a)
        waypoints.append(b)
    lines_geom = shapely.MultiLineString([[a, b] for a, b in segs_xy])
    covered = lines_geom.buffer(swath_m / 2.0, cap_style="flat").intersection(free)
    share = float(covered.area / free.area) if free.area > 0 else 0.0
    return Sweep(
        tuple(waypoints), len(segs_xy), spacing, angle, path_length_m(waypoints), min(share, 1.0)
    )


@dataclass(frozen=True, slots=True)
class Orbit:
    """A closed ring of waypoints (first point repeated last) and its length."""

    waypoints: tuple[XY, ...]
    radius_m: float
    path_m: float

    def period_s(self, speed_mps: float) -> float:
        """Time for one lap at ``speed_mps``."""
        return self.path_m / speed_mps


def orbit(
    target: XY | Polygon,
    *,
    radius_m: float,
    spacing_m: float = 50.0,
    min_points: int = 8,
    airspace: Airspace | None = None,
) -> Orbit:
    """Waypoints around a point or an event perimeter at distance ``radius_m``.

    Raises
    ------
    MalformedProblem
        For a non-positive radius or spacing.
    Infeasible
        If a segment of the ring would enter a no-fly zone (``where`` names it).
    """
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise MalformedProblem("radius_m must be > 0", where="radius_m")
    if not (math.isfinite(spacing_m) and spacing_m > 0):
        raise MalformedProblem("spacing_m must be > 0", where="spacing_m")
    shape = target if isinstance(target, Polygon) else Point(target)
    if shape.is_empty:
        raise MalformedProblem("empty orbit target", where="target")
    ring = shape.buffer(radius_m, quad_segs=16).exterior
    n = max(min_points, math.ceil(ring.length / spacing_m))
    if n > _MAX_ITEMS:
        raise MalformedProblem(f"{n} orbit points: spacing_m is too small", where="spacing_m")
    pts = [ring.interpolate(k / n, normalized=True) for k in range(n)]
    xy = np.asarray([(p.x, p.y) for p in pts])
    closed = np.vstack([xy, xy[:1]])
    if airspace is not None:
        ok = airspace.visible(closed[:-1], closed[1:])
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            raise Infeasible(
                f"orbit segment {k} enters a no-fly zone or leaves the keep-in zone",
                where=f"orbit/segments/{k}",
            )
    wps = tuple((float(x), float(y)) for x, y in closed)
    return Orbit(wps, radius_m, path_length_m(wps))


@dataclass(frozen=True, slots=True)
class ReliefShift:
    """One sortie of the rotation (seconds from the first launch)."""

    drone: int
    launch_s: float
    arrive_s: float
    leave_s: float
    land_s: float

    @property
    def flight_s(self) -> float:
        """Take-off to landing."""
        return self.land_s - self.launch_s


@dataclass(frozen=True, slots=True)
class ReliefSchedule:
    """Result of `relief_rotation`.

    Attributes
    ----------
    drones : drones needed for continuous coverage.
    on_station_s : time a full sortie spends on station.
    covered_from_s, covered_until_s : the covered interval (first arrival to the end).
    shifts : every sortie, in launch order.
    """

    drones: int
    on_station_s: float
    covered_from_s: float
    covered_until_s: float
    shifts: tuple[ReliefShift, ...]


def relief_rotation(
    *,
    endurance_s: float,
    reserve_s: float,
    transit_s: float,
    recharge_s: float,
    station_s: float,
    handover_s: float = 0.0,
    max_drones: int | None = None,
) -> ReliefSchedule:
    """Keep one position covered for ``station_s`` by rotating drones from one dock.

    A sortie flies ``usable = endurance - reserve``: ``transit`` out, ``usable - 2 transit``
    on station, ``transit`` back; the drone is ready again ``recharge_s`` after landing.
    Arrivals are ``step = on_station - handover`` apart, so each next drone arrives
    ``handover_s`` before the current one leaves. ``n`` drones suffice iff
    ``n * step >= usable + recharge`` (a drone's next launch comes after it landed and
    recharged), so ``n = ceil((usable + recharge) / step)``.

    Raises
    ------
    MalformedProblem
        For negative or non-finite inputs.
    Infeasible
        If the transit eats the endurance (no time on station beyond the handover), or more
        than ``max_drones`` drones would be needed.
    """
    for name, v in (
        ("endurance_s", endurance_s),
        ("reserve_s", reserve_s),
        ("transit_s", transit_s),
        ("recharge_s", recharge_s),
        ("station_s", station_s),
        ("handover_s", handover_s),
    ):
        if not (math.isfinite(v) and v >= 0):
            raise MalformedProblem(f"{name} must be finite and >= 0", where=name)
    if station_s <= 0:
        raise MalformedProblem("station_s must be > 0", where="station_s")
    usable = endurance_s - reserve_s
    on_station = usable - 2.0 * transit_s
    step = on_station - handover_s
    if step <= 0:
        raise Infeasible(
            f"no time on station: endurance {endurance_s:.0f}s - reserve {reserve_s:.0f}s "
            f"- 2 x transit {transit_s:.0f}s leaves {on_station:.0f}s, handover needs "
            f"{handover_s:.0f}s",
            where="transit_s",
        )
    n = max(1, math.ceil((usable + recharge_s) / step - 1e-9))
    if max_drones is not None and n > max_drones:
        raise Infeasible(
            f"continuous coverage needs {n} drones, only {max_drones} available",
            where="max_drones",
        )
    if station_s / step > _MAX_ITEMS:
        raise MalformedProblem(
            f"more than {_MAX_ITEMS} relief sorties: station_s is too long", where="station_s"
        )
    start, end = transit_s, transit_s + station_s
    shifts: list[ReliefShift] = []
    k = 0
    while True:
        arrive = transit_s + k * step
        leave = min(arrive + on_station, end)
        shifts.append(ReliefShift(k % n, arrive - transit_s, arrive, leave, leave + transit_s))
        if leave >= end:
            break
        k += 1
    return ReliefSchedule(n, on_station, start, end, tuple(shifts))


def _airspace_from_dict(d: Mapping[str, Any], proj: Projection) -> Airspace:
    from planners.aerial import _zone_from_dict

    zones = tuple(_zone_from_dict(z) for z in d.get("no_fly", ()))
    keep_in = KeepInZone(tuple(map(tuple, d["keep_in"]))) if d.get("keep_in") else None
    return Airspace.from_lonlat(
        proj, zones, margin_m=float(d.get("margin_m", 30.0)), keep_in=keep_in
    )


def _line(proj: Projection, xy: Sequence[XY], props: dict[str, Any]) -> dict[str, Any]:
    ll = proj.to_lonlat(np.asarray(xy))
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": ll.tolist()},
        "properties": props,
    }


def coverage_from_dict(d: Mapping[str, Any]) -> dict[str, Any]:
    """Run the coverage problem described by a JSON object; return GeoJSON (lon/lat).

    ``kind`` selects ``"sweep"``, ``"orbit"`` or ``"relief"`` (formats in docs/planners.md).

    Raises
    ------
    MalformedProblem
        For a missing or bad field (``where`` names it).
    Infeasible
        As the underlying function does.
    """
    if not isinstance(d, Mapping):
        raise MalformedProblem("problem must be a JSON object", where="")
    kind = d.get("kind")
    try:
        if kind == "sweep":
            ring = tuple(_check_lonlat(p, f"area/{i}") for i, p in enumerate(d["area"]))
            proj = Projection.centred_on(ring)
            area = proj.polygon(ring)
            if "swath_m" in d:
                swath = float(d["swath_m"])
            else:
                swath = camera_swath_m(float(d["altitude_m"]), float(d["hfov_deg"]))
            angle = d.get("angle_deg")
            s = sweep(
                area,
                swath_m=swath,
                overlap=float(d.get("overlap", 0.2)),
                angle_deg=None if angle is None else float(angle),
                airspace=_airspace_from_dict(d, proj),
            )
            props = {
                "kind": "sweep",
                "lines": s.lines,
                "spacing_m": s.spacing_m,
                "angle_deg": s.angle_deg,
                "path_m": s.path_m,
                "covered_share": s.covered_share,
                "swath_m": swath,
            }
            if "speed_mps" in d:
                props["duration_s"] = s.path_m / float(d["speed_mps"])
            feats = [_line(proj, s.waypoints, props)]
        elif kind == "orbit":
            if "polygon" in d:
                ring = tuple(_check_lonlat(p, f"polygon/{i}") for i, p in enumerate(d["polygon"]))
                proj = Projection.centred_on(ring)
                target: XY | Polygon = proj.polygon(ring)
            else:
                c = _check_lonlat(d["center"], "center")
                proj = Projection(*c)
                target = (0.0, 0.0)
            o = orbit(
                target,
                radius_m=float(d["radius_m"]),
                spacing_m=float(d.get("spacing_m", 50.0)),
                airspace=_airspace_from_dict(d, proj),
            )
            props = {"kind": "orbit", "radius_m": o.radius_m, "path_m": o.path_m}
            if "speed_mps" in d:
                props["period_s"] = o.period_s(float(d["speed_mps"]))
            feats = [_line(proj, o.waypoints, props)]
        elif kind == "relief":
            transit = d.get("transit_s")
            feats = []
            if transit is None:
                dock = _check_lonlat(d["dock"], "dock")
                station = _check_lonlat(d["station"], "station")
                proj = Projection.centred_on([dock, station])
                air = _airspace_from_dict(d, proj)
                a, b = proj.to_xy([dock, station])
                path = air.path((a[0], a[1]), (b[0], b[1]))
                climb = float(d.get("altitude_m", 60.0)) / float(d.get("climb_rate_mps", 3.0))
                transit = path_length_m(path) / float(d["cruise_speed_mps"]) + climb
                feats.append(_line(proj, path, {"kind": "transit", "transit_s": transit}))
            r = relief_rotation(
                endurance_s=float(d["endurance_s"]),
                reserve_s=float(d.get("reserve_s", 0.0)),
                transit_s=float(transit),
                recharge_s=float(d["recharge_s"]),
                station_s=float(d["station_s"]),
                handover_s=float(d.get("handover_s", 0.0)),
                max_drones=d.get("max_drones"),
            )
            return {
                "type": "FeatureCollection",
                "features": feats,
                "properties": {
                    "kind": "relief",
                    "drones": r.drones,
                    "on_station_s": r.on_station_s,
                    "covered_from_s": r.covered_from_s,
                    "covered_until_s": r.covered_until_s,
                    "shifts": [
                        {
                            "drone": s.drone,
                            "launch_s": s.launch_s,
                            "arrive_s": s.arrive_s,
                            "leave_s": s.leave_s,
                            "land_s": s.land_s,
                        }
                        for s in r.shifts
                    ],
                },
            }
        else:
            raise MalformedProblem("kind must be 'sweep', 'orbit' or 'relief'", where="kind")
    except KeyError as exc:
        raise MalformedProblem(f"missing field {exc.args[0]!r}", where=str(exc.args[0])) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, MalformedProblem):
            raise
        raise MalformedProblem(f"bad value: {exc}", where=str(kind)) from exc
    return {"type": "FeatureCollection", "features": feats}
