"""Coverage: sweeps avoid no-fly zones and cover the area; relief keeps a station covered."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from planners.coverage import (
    camera_swath_m,
    coverage_from_dict,
    orbit,
    relief_rotation,
    sweep,
)
from planners.errors import Infeasible, MalformedProblem
from planners.geo import Airspace
from tests.planners.strategies import disc


@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    zs=st.lists(disc(), max_size=3).map(tuple),
    w=st.floats(300, 1200),
    h=st.floats(300, 1200),
    swath=st.floats(40, 200),
    overlap=st.sampled_from([0.0, 0.2, 0.5]),
    angle=st.one_of(st.none(), st.floats(0, 180)),
)
def test_sweep_segments_never_touch_a_no_fly_zone(zs, w, h, swath, overlap, angle):
    air = Airspace(zs, 10.0)
    area = box(0, 0, w, h)
    try:
        s = sweep(area, swath_m=swath, overlap=overlap, angle_deg=angle, airspace=air)
    except Infeasible:
        return  # all of the area inside zones, or a piece walled off
    for a, b in zip(s.waypoints, s.waypoints[1:], strict=False):
        seg = LineString([a, b]) if a != b else Point(a)
        for z in zs:
            assert not seg.intersects(z)
    assert 0.0 <= s.covered_share <= 1.0
    if not zs and overlap == 0.2:
        assert s.covered_share > 0.9


def test_sweep_of_a_rectangle_without_zones_uses_the_expected_line_count():
    s = sweep(box(0, 0, 1000, 400), swath_m=100, overlap=0.2)
    assert s.angle_deg in (0.0, 180.0, -180.0)
    assert s.lines == math.ceil(400 / 80)
    assert s.covered_share > 0.95
    assert s.waypoints[0][1] != s.waypoints[-1][1]


def test_camera_swath_from_altitude_and_fov():
    assert camera_swath_m(50, 90) == pytest.approx(100.0)
    with pytest.raises(MalformedProblem):
        camera_swath_m(50, 180)


def test_orbit_circles_the_target_at_the_radius_and_refuses_a_zone():
    o = orbit((0.0, 0.0), radius_m=200, spacing_m=40)
    assert o.waypoints[0] == o.waypoints[-1]
    assert all(abs(math.hypot(*p) - 200) < 1e-6 for p in o.waypoints)
    assert o.path_m == pytest.approx(2 * math.pi * 200, rel=0.01)
    poly = Polygon([(0, 0), (100, 0), (100, 50), (0, 50)])
    o2 = orbit(poly, radius_m=50)
    assert all(Point(p).distance(poly) == pytest.approx(50, abs=0.5) for p in o2.waypoints)
    air = Airspace((Point(200, 0).buffer(30),), 5.0)
    with pytest.raises(Infeasible) as e:
        orbit((0.0, 0.0), radius_m=200, airspace=air)
    assert e.value.where.startswith("orbit/segments/")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    endurance=st.floats(600, 3600),
    reserve=st.floats(0, 300),
    transit=st.floats(0, 600),
    recharge=st.floats(0, 3600),
    station=st.floats(60, 8 * 3600),
    handover=st.floats(0, 120),
)
def test_relief_rotation_covers_the_station_without_gaps(
    endurance, reserve, transit, recharge, station, handover
):
    usable = endurance - reserve
    try:
        r = relief_rotation(
            endurance_s=endurance,
            reserve_s=reserve,
            transit_s=transit,
            recharge_s=recharge,
            station_s=station,
            handover_s=handover,
        )
    except Infeasible:
        assert usable - 2 * transit - handover <= 0
        return
    shifts = r.shifts
    assert shifts[0].arrive_s <= r.covered_from_s
    assert shifts[-1].leave_s >= r.covered_until_s - 1e-6
    for a, b in itertools.pairwise(shifts):
        assert b.arrive_s <= a.leave_s + 1e-6  # next drone on station before the current leaves
    for s in shifts:
        assert s.flight_s <= usable + 1e-6
        assert s.arrive_s - s.launch_s == pytest.approx(transit)
    by_drone: dict[int, list] = {}
    for s in shifts:
        by_drone.setdefault(s.drone, []).append(s)
    for ss in by_drone.values():
        for a, b in itertools.pairwise(ss):
            assert b.launch_s >= a.land_s + recharge - 1e-6  # landed and recharged
    # Minimal: one drone fewer could not keep the cycle.
    step = r.on_station_s - handover
    assert (r.drones - 1) * step < usable + recharge or r.drones == 1


def test_relief_rotation_refuses_too_few_drones_and_too_long_transit():
    with pytest.raises(Infeasible) as e:
        relief_rotation(
            endurance_s=1800,
            reserve_s=300,
            transit_s=300,
            recharge_s=3600,
            station_s=7200,
            max_drones=2,
        )
    assert e.value.where == "max_drones"
    with pytest.raises(Infeasible) as e:
        relief_rotation(
            endurance_s=1800, reserve_s=300, transit_s=800, recharge_s=0, station_s=7200
        )
    assert e.value.where == "transit_s"


def test_coverage_problem_dicts_run_each_kind_and_name_bad_fields():
    area = [[24.93, 60.165], [24.95, 60.165], [24.95, 60.175], [24.93, 60.175]]
    gj = coverage_from_dict(
        {
            "kind": "sweep",
            "area": area,
            "altitude_m": 60,
            "hfov_deg": 70,
            "no_fly": [{"id": "z", "center": [24.94, 60.17], "radius_m": 100}],
        }
    )
    assert gj["features"][0]["geometry"]["type"] == "LineString"
    gj = coverage_from_dict({"kind": "orbit", "center": [24.94, 60.17], "radius_m": 200})
    assert len(gj["features"][0]["geometry"]["coordinates"]) > 8
    gj = coverage_from_dict(
        {
            "kind": "relief",
            "dock": [24.93, 60.165],
            "station": [24.95, 60.17],
            "cruise_speed_mps": 12,
            "endurance_s": 1800,
            "reserve_s": 300,
            "recharge_s": 1200,
            "station_s": 7200,
        }
    )
    assert gj["properties"]["drones"] >= 2
    with pytest.raises(MalformedProblem) as e:
        coverage_from_dict({"kind": "sweep", "area": area})
    assert e.value.where == "altitude_m"
    with pytest.raises(MalformedProblem) as e:
        coverage_from_dict({"kind": "spiral"})
    assert e.value.where == "kind"
