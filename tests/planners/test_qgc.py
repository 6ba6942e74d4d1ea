"""QGroundControl .plan: parse(build(x)) == x, and the mission a sortie turns into."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planners.aerial import Waypoint
from planners.errors import MalformedProblem
from planners.qgc import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    FenceCircle,
    FencePolygon,
    MissionItem,
    QgcPlan,
    build_plan,
    mission_from_waypoints,
    parse_plan,
)

lon = st.floats(-180, 180, allow_nan=False)
lat = st.floats(-90, 90, allow_nan=False)
num = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
param = st.one_of(st.none(), num)
item = st.builds(
    MissionItem,
    command=st.sampled_from([16, 19, 20, 22, 178]),
    params=st.tuples(param, param, param, param, param, param, param),
    frame=st.sampled_from([2, 3]),
    auto_continue=st.booleans(),
)
lonlat = st.tuples(lon, lat)
plans = st.builds(
    QgcPlan,
    items=st.lists(item, min_size=1, max_size=8).map(tuple),
    home=st.tuples(lon, lat, num),
    polygons=st.lists(
        st.builds(
            FencePolygon,
            ring=st.lists(lonlat, min_size=3, max_size=6).map(tuple),
            inclusion=st.booleans(),
        ),
        max_size=3,
    ).map(tuple),
    circles=st.lists(
        st.builds(
            FenceCircle, center=lonlat, radius_m=st.floats(0.1, 1e5), inclusion=st.booleans()
        ),
        max_size=3,
    ).map(tuple),
    rally=st.lists(st.tuples(lon, lat, num), max_size=3).map(tuple),
    cruise_speed_mps=st.floats(0.1, 50),
    hover_speed_mps=st.floats(0.1, 20),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(plan=plans)
def test_parse_of_build_gives_back_the_same_plan_through_json(plan):
    assert parse_plan(json.loads(json.dumps(build_plan(plan)))) == plan


def test_built_plan_has_the_qgc_layout_in_lat_lon_order():
    plan = QgcPlan(
        items=(MissionItem(16, (0, 0, 0, None, 60.1, 24.9, 50)),),
        home=(24.9, 60.1, 0.0),
        polygons=(FencePolygon(((24.9, 60.1), (25.0, 60.1), (25.0, 60.2)), inclusion=False),),
        circles=(FenceCircle((24.95, 60.15), 100.0, inclusion=False),),
        rally=((24.9, 60.1, 10.0),),
    )
    d = build_plan(plan)
    assert d["fileType"] == "Plan" and d["version"] == 1
    assert d["mission"]["version"] == 2 and d["geoFence"]["version"] == 2
    assert d["mission"]["plannedHomePosition"] == [60.1, 24.9, 0.0]
    assert d["geoFence"]["polygons"][0]["polygon"][1] == [60.1, 25.0]
    assert d["geoFence"]["circles"][0]["circle"] == {"center": [60.15, 24.95], "radius": 100.0}
    assert d["rallyPoints"]["points"] == [[60.1, 24.9, 10.0]]
    assert d["mission"]["items"][0]["type"] == "SimpleItem"


def test_waypoints_become_takeoff_speed_loiter_waypoint_and_rtl():
    wps = [
        Waypoint(24.90, 60.10, 60, 12, 0, "takeoff"),
        Waypoint(24.91, 60.10, 60, 12, 0, "transit"),
        Waypoint(24.92, 60.11, 60, 12, 600, "hotspot", "h"),
        Waypoint(24.90, 60.10, 60, 12, 0, "land"),
    ]
    items = mission_from_waypoints(wps)
    assert [i.command for i in items] == [
        MAV_CMD_NAV_TAKEOFF,
        MAV_CMD_DO_CHANGE_SPEED,
        MAV_CMD_NAV_WAYPOINT,
        MAV_CMD_NAV_LOITER_TIME,
        MAV_CMD_NAV_WAYPOINT,
        MAV_CMD_NAV_RETURN_TO_LAUNCH,
    ]
    loiter = items[3]
    assert loiter.params[0] == 600 and loiter.params[4:] == (60.11, 24.92, 60.0)
    assert items[1].params[1] == 12


def test_parse_rejects_a_non_plan_and_names_the_bad_item():
    with pytest.raises(MalformedProblem) as e:
        parse_plan({"fileType": "Mission"})
    assert e.value.where == "/fileType"
    d = build_plan(QgcPlan(items=(MissionItem(16, (0,) * 7),), home=(0, 0, 0)))
    d["mission"]["items"][0]["params"] = [0, 0]
    with pytest.raises(MalformedProblem) as e:
        parse_plan(d)
    assert e.value.where == "/mission/items/0/params"
