"""Hypothesis strategies shared by the planner tests: small random zones and points."""

from __future__ import annotations

import math

from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

coord = st.floats(min_value=-200.0, max_value=1200.0, allow_nan=False, allow_infinity=False)
point = st.tuples(coord, coord)


@st.composite
def star_polygon(draw: st.DrawFn) -> Polygon:
    """A simple (possibly non-convex) star-shaped polygon: sorted angles, random radii."""
    cx = draw(st.floats(0.0, 1000.0))
    cy = draw(st.floats(0.0, 1000.0))
    n = draw(st.integers(3, 9))
    angles = sorted(
        draw(st.lists(st.floats(0.0, 2 * math.pi - 1e-3), min_size=n, max_size=n, unique=True))
    )
    radii = draw(st.lists(st.floats(20.0, 250.0), min_size=n, max_size=n))
    ring = [
        (cx + r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii, strict=True)
    ]
    poly = Polygon(ring)
    if not poly.is_valid or poly.area < 100.0:
        poly = Point(cx, cy).buffer(max(radii), quad_segs=4)
    return poly


@st.composite
def disc(draw: st.DrawFn) -> Polygon:
    """A circular zone as a polygon."""
    c = draw(point)
    return Point(c).buffer(draw(st.floats(20.0, 250.0)), quad_segs=draw(st.integers(2, 16)))


zone = st.one_of(star_polygon(), disc())
zones = st.lists(zone, min_size=0, max_size=5).map(tuple)
margin = st.sampled_from([0.0, 5.0, 30.0])
