"""Flight safety checks shared by the live service and the simulation (pure).

Two invariants of DESIGN.md are decided here, once:

* no planned or commanded flight path crosses an active no-fly zone
  (`path_violations` names every zone a path enters);
* no drone is sent on a leg it cannot finish and still get back to a dock with its reserve
  (`energy_check`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from planners.errors import MalformedProblem
from planners.geo import LonLat, NoFlyZone, Projection

__all__ = [
    "EnergyCheck",
    "energy_check",
    "orbit_violations",
    "path_length_lonlat_m",
    "path_violations",
]


def path_violations(
    path: Sequence[LonLat], zones: Sequence[NoFlyZone], *, margin_m: float = 0.0
) -> list[str]:
    """Ids of the zones (grown by `margin_m`) that the polyline `path` touches, in zone order.

    A single point is checked for being inside a zone.

    Raises
    ------
    MalformedProblem
        When the path is empty.
    """
    if not path:
        raise MalformedProblem("a path needs at least one point", where="path")
    if not zones:
        return []
    anchors = list(path) + [z.center for z in zones if z.center is not None]
    anchors += [p for z in zones for p in z.polygon[:1]]
    proj = Projection.centred_on(anchors)
    xy = proj.to_xy(list(path))
    # Drop repeated points: a zero-length LineString intersects nothing in GEOS.
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.diff(xy, axis=0) != 0, axis=1)
    xy = xy[keep]
    geom = Point(xy[0]) if len(xy) == 1 else LineString(xy)
    hits = []
    for zone in zones:
        if zone.polygon:
            area = proj.polygon(zone.polygon)
        else:
            assert zone.center is not None
            # Circumscribed polygon: contains the true disc, so a miss here is a true miss.
            c = proj.to_xy([zone.center])[0]
            n = 64
            r = zone.radius_m / math.cos(math.pi / n)
            area = Point(c).buffer(r, quad_segs=n // 4)
        if margin_m > 0:
            area = area.buffer(margin_m)
        if shapely.intersects(geom, area):
            hits.append(zone.id)
    return hits


def orbit_violations(
    center: LonLat, radius_m: float, zones: Sequence[NoFlyZone], *, margin_m: float = 0.0
) -> list[str]:
    """Ids of the zones an orbit of `radius_m` around `center` would touch."""
    if not zones:
        return []
    proj = Projection.centred_on([center])
    n = 72
    # Circumscribe the flown circle so the check is conservative.
    r = radius_m / math.cos(math.pi / n)
    angles = np.linspace(0, 2 * math.pi, n + 1)
    ring = np.column_stack([r * np.cos(angles), r * np.sin(angles)])
    return path_violations([tuple(p) for p in proj.to_lonlat(ring)], zones, margin_m=margin_m)


def path_length_lonlat_m(path: Sequence[LonLat]) -> float:
    """Length of a lon/lat polyline in metres (local projection)."""
    if len(path) < 2:
        return 0.0
    xy = Projection.centred_on(list(path)).to_xy(list(path))
    return float(np.hypot(*np.diff(xy, axis=0).T).sum())


@dataclass(frozen=True, slots=True)
class EnergyCheck:
    ok: bool
    needed_pct: float  # battery the leg and the way home take, reserve included
    available_pct: float
    flight_s: float

    @property
    def reason(self) -> str:
        return (
            f"needs {self.needed_pct:.0f}% battery (flight {self.flight_s / 60:.1f} min plus "
            f"reserve) but has {self.available_pct:.0f}%"
        )


def energy_check(
    *,
    distance_m: float,
    speed_mps: float,
    battery_pct: float,
    endurance_s: float,
    reserve_pct: float,
    hover_s: float = 0.0,
    climb_m: float = 0.0,
    climb_rate_mps: float = 3.0,
) -> EnergyCheck:
    """Can a drone fly `distance_m` (the leg *and* the way back to a dock) at `speed_mps`,
    hover `hover_s` and climb `climb_m`, and still land with `reserve_pct` left?

    Battery drain is modelled as linear in flight time over `endurance_s` (the full-battery
    endurance at cruise), which is how operators plan sorties.

    Raises
    ------
    MalformedProblem
        For a non-positive speed or endurance, or percentages outside 0..100.
    """
    if speed_mps <= 0 or endurance_s <= 0:
        raise MalformedProblem("speed and endurance must be positive", where="speed_mps")
    if not (0 <= battery_pct <= 100 and 0 <= reserve_pct < 100):
        raise MalformedProblem("battery and reserve are percentages", where="battery_pct")
    flight_s = distance_m / speed_mps + hover_s + 2 * climb_m / climb_rate_mps
    needed = 100.0 * flight_s / endurance_s + reserve_pct
    return EnergyCheck(needed <= battery_pct, needed, battery_pct, flight_s)
