"""Safety invariants of the simulated drones, checked leg by leg from the recorded geometry.

* No drone is sent on a leg it cannot finish with its reserve: at take-off the battery
  covers the outbound leg, the return to the nearest dock and the reserve; every landing
  keeps at least the reserve.
* No flown leg crosses a no-fly zone: every segment of every path is tested with shapely
  against the zone's true (unbuffered) polygon.

Hypothesis draws the zone (where, how large, its shape), the drones' endurance and launch
threshold and the seed; the zone is put over a hot spot so drones must fly around it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from fleet.dispatch.policy import DispatchPolicy
from planners.geo import NoFlyZone
from sim.scenario import City, DroneLeg, DroneSpec, Simulation, build_world, deploy_baseline
from sim.scenario.world import World

from .conftest import small_config

EPS_PCT = 1e-6


def crossing_legs(legs: list[DroneLeg], zones: tuple[shapely.Polygon, ...]) -> list[DroneLeg]:
    """Legs whose path touches a zone at all (its boundary included: paths keep a margin)."""
    bad = []
    for leg in legs:
        line = LineString(leg.path_xy) if len(leg.path_xy) > 1 else shapely.Point(leg.path_xy[0])
        if any(line.intersects(z) for z in zones):
            bad.append(leg)
    return bad


def battery_violations(legs: list[DroneLeg], reserve_pct: float) -> list[str]:
    out = []
    for leg in legs:
        if leg.phase == "out" and leg.battery_start_pct + EPS_PCT < leg.required_pct:
            out.append(
                f"{leg.drone_id} took off with {leg.battery_start_pct:.2f} % < "
                f"{leg.required_pct:.2f} % needed for {leg.incident_id}"
            )
        if leg.phase == "back" and leg.battery_end_pct + EPS_PCT < reserve_pct:
            out.append(f"{leg.drone_id} landed with {leg.battery_end_pct:.2f} % < reserve")
    return out


def _zone(
    world: World, centre: tuple[float, float], radius_m: float, sides: int, turn: float
) -> NoFlyZone:
    ang = np.linspace(0, 2 * math.pi, sides, endpoint=False) + turn
    ring = np.column_stack([centre[0] + radius_m * np.cos(ang), centre[1] + radius_m * np.sin(ang)])
    ll = world.city.proj.to_lonlat(ring)
    return NoFlyZone("nf-test", tuple((float(a), float(b)) for a, b in ll))


def _run(
    monaco: City,
    seed: int,
    spot: int,
    radius_m: float,
    sides: int,
    turn: float,
    endurance_s: float,
    min_launch_pct: float,
) -> tuple[World, list[DroneLeg]]:
    cfg = small_config(
        seed=seed,
        hours=3.0,
        drone=DroneSpec(
            endurance_s=endurance_s, min_launch_pct=min_launch_pct, recharge_pct_per_min=1.0
        ),
        drones_per_km2=3.0,
    )
    probe = build_world(monaco, cfg, zones=[])
    centre = probe.spots[spot % len(probe.spots)].xy
    world = build_world(monaco, cfg, zones=[_zone(probe, centre, radius_m, sides, turn)])
    policy = dataclasses.replace(DispatchPolicy(), drone_endurance_s=endurance_s)
    dep = dataclasses.replace(deploy_baseline(world), policy=policy, name="drone-first")
    res = Simulation(world, dep).run()
    return world, list(res.legs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    spot=st.integers(0, 20),
    radius_m=st.floats(60.0, 260.0),
    sides=st.integers(3, 10),
    turn=st.floats(0.0, math.pi),
    endurance_s=st.sampled_from([420.0, 600.0, 900.0, 1800.0]),
    min_launch_pct=st.floats(21.0, 60.0),
)
def test_no_drone_leg_breaks_the_reserve_or_crosses_a_no_fly_zone(
    monaco: City, seed: int, spot: int, radius_m: float, sides: int, turn: float,
    endurance_s: float, min_launch_pct: float,
) -> None:  # fmt: skip
    world, legs = _run(monaco, seed, spot, radius_m, sides, turn, endurance_s, min_launch_pct)
    assert not battery_violations(legs, world.config.drone.reserve_pct)
    assert not crossing_legs(legs, world.zones_xy)
    # Each drone flies one leg at a time, out then back, and lands where the next starts.
    by_drone: dict[str, list[DroneLeg]] = {}
    for leg in legs:
        by_drone.setdefault(leg.drone_id, []).append(leg)
    for seq in by_drone.values():
        for a, b in itertools.pairwise(seq):
            assert a.t_end <= b.t_start + 1e-9
            assert a.phase != b.phase
            assert np.allclose(a.path_xy[-1], b.path_xy[0]) or a.phase == "back"


def test_drones_fly_around_a_zone_over_a_hot_spot(monaco: City) -> None:
    world, legs = _run(monaco, 7, 0, 200.0, 8, 0.3, 1800.0, 40.0)
    assert legs, "no drone flew: the invariant tests would be vacuous"
    assert not crossing_legs(legs, world.zones_xy)
    # Some leg had to bend: its straight line would have crossed the zone.
    straight = [dataclasses.replace(leg, path_xy=(leg.path_xy[0], leg.path_xy[-1])) for leg in legs]
    assert crossing_legs(straight, world.zones_xy), "no leg needed a detour: move the zone"
    assert any(len(leg.path_xy) > 2 for leg in legs)


def test_the_checks_catch_a_crossing_and_an_empty_battery() -> None:
    zone = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)])
    through = DroneLeg("d", "i", "out", 0, 1, ((-50.0, 50.0), (150.0, 50.0)), 50, 40, 30)
    grazing = DroneLeg("d", "i", "out", 0, 1, ((-50.0, 100.0), (150.0, 100.0)), 50, 40, 30)
    clear = DroneLeg("d", "i", "out", 0, 1, ((-50.0, 101.0), (150.0, 101.0)), 50, 40, 30)
    assert crossing_legs([through, grazing, clear], (zone,)) == [through, grazing]
    short = dataclasses.replace(through, battery_start_pct=29.0)
    low = dataclasses.replace(through, phase="back", battery_end_pct=19.0, required_pct=20.0)
    assert len(battery_violations([short, low], 20.0)) == 2


@pytest.mark.parametrize("endurance_s", [300.0])
def test_a_drone_that_cannot_make_the_round_trip_is_not_sent(
    monaco: City, endurance_s: float
) -> None:
    world, legs = _run(monaco, 3, 1, 80.0, 6, 0.0, endurance_s, 21.0)
    assert not battery_violations(legs, world.config.drone.reserve_pct)
    reach_m = (0.8 * endurance_s - 20.0) / 2 * DispatchPolicy().drone_cruise_speed_mps
    for leg in legs:
        if leg.phase == "out":
            assert math.dist(leg.path_xy[0], leg.path_xy[-1]) <= reach_m
