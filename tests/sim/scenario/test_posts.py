"""Pure post decisions: re-deployment toward uncovered posts, post weights by hour, placement."""

from __future__ import annotations

import numpy as np

from fleet.dispatch.policy import DispatchPolicy, FleetSnapshot
from fleet.dispatch.redeploy import Post
from fleet.types import UnitKind
from planners.geo import Projection
from sim.scenario.posts import plan_posts, post_weights, redeploy_kind

PROJ = Projection(7.42, 43.73)


def _snap(rows: list[tuple[str, UnitKind, float, float, bool]]) -> FleetSnapshot:
    return FleetSnapshot(
        proj=PROJ,
        unit_ids=tuple(r[0] for r in rows),
        kinds=tuple(r[1] for r in rows),
        xy=np.asarray([(r[2], r[3]) for r in rows], dtype=np.float64),
        available=np.asarray([r[4] for r in rows], dtype=bool),
        battery_pct=np.full(len(rows), np.nan),
        altitude_m=np.zeros(len(rows)),
        docks_xy=np.zeros((0, 2)),
    )


def _post(pid: str, x: float, y: float, w: float) -> Post:
    lon, lat = PROJ.to_lonlat([(x, y)])[0]
    return Post(pid, float(lon), float(lat), w)


def test_idle_units_move_to_the_heaviest_post_a_pulled_unit_left() -> None:
    posts = [_post("A", 0, 0, 10.0), _post("B", 400, 0, 5.0), _post("C", 800, 0, 1.0)]
    snap = _snap(
        [
            ("f1", UnitKind.FOOT, 0, 0, False),  # pulled to an incident: A is uncovered
            ("f2", UnitKind.FOOT, 400, 0, True),
            ("f3", UnitKind.FOOT, 800, 0, True),
            ("c1", UnitKind.CAR, 10, 0, True),  # another kind: never on a foot post
        ]
    )
    prev = {"f1": "A", "f2": "B", "f3": "C", "c1": "car-post"}
    moves = redeploy_kind(snap, UnitKind.FOOT, posts, DispatchPolicy(), prev)
    after = prev | {m.unit_id: m.post_id for m in moves}
    assert {after["f2"], after["f3"]} == {"A", "B"}
    assert all(m.unit_id in {"f2", "f3"} for m in moves)
    assert after["c1"] == "car-post"


def test_a_fully_manned_set_of_posts_moves_nobody() -> None:
    posts = [_post("A", 0, 0, 10.0), _post("B", 400, 0, 5.0)]
    snap = _snap([("f1", UnitKind.FOOT, 0, 0, True), ("f2", UnitKind.FOOT, 400, 0, True)])
    assert redeploy_kind(snap, UnitKind.FOOT, posts, DispatchPolicy(), {"f1": "A", "f2": "B"}) == []


def test_post_weights_follow_the_hour_of_day() -> None:
    travel = np.asarray([[10.0, 500.0], [500.0, 10.0]])  # post 0 serves demand 0, post 1 demand 1
    hourly = np.zeros((2, 24))
    hourly[0, 8] = 3.0  # morning demand at point 0
    hourly[1, 22] = 4.0  # night demand at point 1
    assert np.argmax(post_weights(travel, hourly, 8)) == 0
    assert np.argmax(post_weights(travel, hourly, 22)) == 1
    assert np.all(post_weights(travel, hourly, 3) > 0)  # every post keeps a little weight


def test_placement_picks_the_sites_that_cover_the_demand() -> None:
    sites = [(7.42, 43.73), (7.43, 43.74), (7.44, 43.75)]
    demand = [(7.4301, 43.7401), (7.4402, 43.7502)]
    travel = np.asarray([[900.0, 900.0], [30.0, 400.0], [400.0, 30.0]])
    idx, res = plan_posts(
        sites, demand, [1.0, 1.0], travel, 2, tiers_s=(60.0, 180.0, 300.0), time_limit_s=2.0, seed=0
    )
    assert sorted(idx.tolist()) == [1, 2]
    assert res.covered_share[0] == 1.0
