"""Geometry: projection round trips and the no-fly guarantee (0 segments crossing a zone)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from planners.errors import Infeasible, MalformedProblem
from planners.geo import Airspace, KeepInZone, NoFlyZone, Projection, path_length_m
from tests.planners.strategies import margin, point, zones

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _assert_safe(path: list[tuple[float, float]], unbuffered: tuple[Polygon, ...], keep_in=None):
    for a, b in itertools.pairwise(path):
        seg = LineString([a, b]) if a != b else Point(a)
        for z in unbuffered:
            assert not seg.intersects(z), f"segment {a}->{b} touches a no-fly zone"
        if keep_in is not None:
            assert keep_in.covers(seg), f"segment {a}->{b} leaves the keep-in zone"


@SETTINGS
@given(zs=zones, m=margin, pts=st.lists(point, min_size=2, max_size=6))
def test_no_path_segment_touches_a_no_fly_zone(zs, m, pts):
    air = Airspace(zs, m)
    mat = air.matrix(np.asarray(pts))
    for i in range(len(pts)):
        for j in range(len(pts)):
            if not np.isfinite(mat.distance_m[i, j]):
                continue
            path = mat.path(i, j)
            _assert_safe(path, zs)
            assert path_length_m(path) == pytest.approx(mat.distance_m[i, j], rel=1e-9, abs=1e-6)
            assert mat.distance_m[i, j] >= math.dist(pts[i], pts[j]) - 1e-6


@SETTINGS
@given(zs=zones, m=margin, pts=st.lists(point, min_size=2, max_size=5))
def test_points_inside_a_buffered_zone_are_unreachable(zs, m, pts):
    air = Airspace(zs, m)
    mat = air.matrix(np.asarray(pts))
    for i, p in enumerate(pts):
        inside = any(z.buffer(m).intersects(Point(p)) if m else z.intersects(Point(p)) for z in zs)
        if inside:
            assert not mat.free[i]
            assert np.isinf(mat.distance_m[i]).all()
            with pytest.raises(Infeasible):
                air.path(p, pts[(i + 1) % len(pts)])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(zs=zones, pts=st.lists(point, min_size=2, max_size=4))
def test_paths_stay_inside_the_keep_in_zone(zs, pts):
    keep = Polygon([(-300, -300), (1300, -300), (1300, 600), (500, 600), (500, 1300), (-300, 1300)])
    air = Airspace(zs, 10.0, keep)
    mat = air.matrix(np.asarray(pts))
    for i in range(len(pts)):
        for j in range(len(pts)):
            if np.isfinite(mat.distance_m[i, j]):
                _assert_safe(mat.path(i, j), zs, keep)
            if not keep.contains(Point(pts[i])):
                assert not mat.free[i]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    centre=st.tuples(st.floats(24.8, 25.0), st.floats(60.1, 60.2)),
    r=st.floats(50.0, 800.0),
    a=st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)),
    b=st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)),
)
def test_lonlat_circle_zones_are_avoided_by_the_true_radius(centre, r, a, b):
    proj = Projection(*centre)
    air = Airspace.from_lonlat(proj, [NoFlyZone("c", center=centre, radius_m=r)], margin_m=0.0)
    if math.hypot(*a) <= r * 1.01 + 2 or math.hypot(*b) <= r * 1.01 + 2:
        return
    path = air.path(a, b)
    for p, q in itertools.pairwise(path):
        assert LineString([p, q]).distance(Point(0, 0)) >= r


def test_a_blocked_straight_line_detours_around_the_zone():
    air = Airspace((box(0, 0, 100, 100),), 10.0)
    path = air.path((-50.0, 50.0), (150.0, 50.0))
    assert len(path) > 2
    assert path_length_m(path) > 200.0
    _assert_safe(path, (box(0, 0, 100, 100).buffer(10.0 - 1e-6),))


def test_a_free_straight_line_is_kept_as_is():
    air = Airspace((box(0, 0, 100, 100),), 10.0)
    assert air.path((-50.0, -50.0), (150.0, -50.0)) == [(-50.0, -50.0), (150.0, -50.0)]


def test_projection_round_trips_lonlat_within_a_millimetre():
    proj = Projection.centred_on([(24.9, 60.1), (25.1, 60.3)])
    ll = np.asarray([(24.95, 60.2), (25.05, 60.15)])
    back = proj.to_lonlat(proj.to_xy(ll))
    assert np.abs(back - ll).max() < 1e-8
    xy = proj.to_xy([(25.0, 60.2)])[0]
    assert np.hypot(*xy) < 1.0  # the centre projects to the origin


def test_malformed_zones_name_where_they_are_wrong():
    with pytest.raises(MalformedProblem) as e:
        NoFlyZone("bowtie", polygon=((0, 0), (1, 1), (1, 0), (0, 1)))
    assert e.value.where == "no_fly/bowtie"
    with pytest.raises(MalformedProblem) as e:
        NoFlyZone("c", center=(0.0, 0.0), radius_m=-1.0)
    assert e.value.where == "no_fly/c/radius_m"
    with pytest.raises(MalformedProblem):
        NoFlyZone("both", polygon=((0, 0), (1, 0), (0, 1)), center=(0, 0), radius_m=1)
    with pytest.raises(MalformedProblem):
        KeepInZone(((0, 0), (1, 1)))


def test_matrix_of_320_points_and_5_zones_is_fast_enough():
    rng = np.random.default_rng(0)
    zs = tuple(Point(rng.uniform(0, 10000, 2)).buffer(rng.uniform(200, 800)) for _ in range(5))
    air = Airspace(zs, 50.0)
    import time

    t0 = time.perf_counter()
    mat = air.matrix(rng.uniform(0, 10000, (320, 2)))
    assert time.perf_counter() - t0 < 3.0
    assert (~mat.direct[mat.free][:, mat.free]).any()  # some pairs needed a detour


@SETTINGS
@given(zs=zones, m=margin, legs=st.lists(st.tuples(point, point), min_size=1, max_size=20))
def test_leg_and_point_tests_agree_with_plain_shapely(zs, m, legs):
    # The numpy disc pre-filter must only ever answer what shapely answers. Legs from a point
    # to every detour node graze the zones (the hard cases), so they are tested too.
    air = Airspace(zs, m)
    a = np.asarray([p for p, _ in legs])
    b = np.asarray([q for _, q in legs])
    a = np.vstack([a, np.repeat(a[:1], len(air.nodes), axis=0), air.nodes])
    b = np.vstack([b, air.nodes, air.nodes[::-1]])
    legs_geom = [
        LineString([p, q]) if tuple(p) != tuple(q) else Point(p) for p, q in zip(a, b, strict=True)
    ]
    expected = [not any(g.intersects(z) for z in air.blocked) for g in legs_geom]
    assert air.visible(a, b).tolist() == expected
    pts = np.vstack([a, b])
    expected_free = [not any(Point(p).intersects(z) for z in air.blocked) for p in pts]
    assert air.free_mask(pts).tolist() == expected_free


_KEEP_IN = Polygon([(-300, -300), (1300, -300), (1300, 600), (500, 600), (500, 1300), (-300, 1300)])


@SETTINGS
@given(
    zs=zones,
    m=margin,
    keep_in=st.booleans(),
    src=point,
    pts=st.lists(point, min_size=1, max_size=12),
)
def test_paths_from_one_source_equal_the_exhaustive_matrix(zs, m, keep_in, src, pts):
    # PathsFrom walks the detour nodes best-first and stops at the first visible one; the
    # matrix takes the min-plus product over every node: the lengths must be the same.
    air = Airspace(zs, m, _KEEP_IN if keep_in else None)
    p = np.asarray(pts)
    ref = air.matrix(np.vstack([src, p])).distance_m[0, 1:]
    paths = air.paths_from(src)
    got = paths.distances(p)
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-9)
    assert np.array_equal(air.distances_from(src, p), got)
    blocked = ~air.visible(np.broadcast_to(np.asarray(src), p.shape), p)
    detour = paths.detour_m(p)
    assert np.array_equal(detour[blocked], got[blocked])
    assert np.all(detour >= np.hypot(*(p - np.asarray(src)).T) - 1e-6)
