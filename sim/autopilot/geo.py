"""Flat-earth geometry for the simulated autopilots: local NE metres around a home point."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """A local north/east frame (metres) tangent at a reference point.

    Good to centimetres within a few kilometres, which is all a city patrol flight needs.
    """

    lat0_deg: float
    lon0_deg: float

    def to_ne(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        """Return (north_m, east_m) of a WGS84 point relative to the reference."""
        north = math.radians(lat_deg - self.lat0_deg) * EARTH_RADIUS_M
        east = (
            math.radians(lon_deg - self.lon0_deg)
            * EARTH_RADIUS_M
            * math.cos(math.radians(self.lat0_deg))
        )
        return north, east

    def to_latlon(self, north_m: float, east_m: float) -> tuple[float, float]:
        """Return (lat_deg, lon_deg) of a local point."""
        lat = self.lat0_deg + math.degrees(north_m / EARTH_RADIUS_M)
        lon = self.lon0_deg + math.degrees(
            east_m / (EARTH_RADIUS_M * math.cos(math.radians(self.lat0_deg)))
        )
        return lat, lon


def point_in_polygon(n: float, e: float, poly: list[tuple[float, float]]) -> bool:
    """Ray casting; ``poly`` is a list of (north, east) vertices, implicitly closed."""
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        ni, ei = poly[i]
        nj, ej = poly[j]
        if (ei > e) != (ej > e):
            n_cross = ni + (e - ei) * (nj - ni) / (ej - ei)
            if n < n_cross:
                inside = not inside
        j = i
    return inside


def heading_deg(vn: float, ve: float) -> float:
    """Compass heading of a NE vector, 0..360."""
    return math.degrees(math.atan2(ve, vn)) % 360.0
