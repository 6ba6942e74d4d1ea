"""The dispatch policy, property-tested over random fleets: no drone is ever proposed for a
leg its battery cannot finish with the reserve, the ranking is by ETA, and the multi-point
call is exactly the units that make the call tier."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.dispatch.policy import (
    DispatchPolicy,
    FleetSnapshot,
    next_best,
    plan_response,
    recommend,
)
from fleet.types import UnitKind
from planners.eta import DroneFleetState, drone_eta
from planners.geo import Airspace, NoFlyZone, Projection

CENTRE = (24.94, 60.17)
PROJ = Projection.centred_on([CENTRE])
KINDS = [UnitKind.CAR, UnitKind.FOOT, UnitKind.BICYCLE, UnitKind.TEAM, UnitKind.DRONE]

unit = st.tuples(
    st.sampled_from(KINDS),
    st.floats(-0.03, 0.03),
    st.floats(-0.015, 0.015),
    st.booleans(),
    st.floats(0, 100),
    st.sampled_from([0.0, 0.0, 60.0]),
)


def snapshot(rows: list[tuple]) -> FleetSnapshot:  # type: ignore[type-arg]
    return FleetSnapshot.build(
        PROJ,
        [
            (
                f"u{i:03d}",
                k,
                CENTRE[0] + dx,
                CENTRE[1] + dy,
                avail,
                batt if k is UnitKind.DRONE else math.nan,
                alt if k is UnitKind.DRONE else 0.0,
            )
            for i, (k, dx, dy, avail, batt, alt) in enumerate(rows)
        ],
        [CENTRE, (CENTRE[0] + 0.02, CENTRE[1])],
    )


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(unit, min_size=1, max_size=40),
    target=st.tuples(st.floats(-0.03, 0.03), st.floats(-0.015, 0.015)),
    with_zone=st.booleans(),
)
def test_no_drone_is_proposed_for_a_leg_its_battery_cannot_finish(
    rows: list[tuple],
    target: tuple[float, float],
    with_zone: bool,  # type: ignore[type-arg]
) -> None:
    policy = DispatchPolicy()
    snap = snapshot(rows)
    point = (CENTRE[0] + target[0], CENTRE[1] + target[1])
    airspace = None
    if with_zone:
        zone = NoFlyZone(id="z", center=(CENTRE[0] + 0.005, CENTRE[1]), radius_m=300)
        airspace = Airspace.from_lonlat(PROJ, [zone], margin_m=20)
    recs = recommend(snap, point, policy, airspace=airspace)
    drones = np.flatnonzero(snap.is_drone)
    if drones.size:
        fleet = DroneFleetState(
            position_xy=snap.xy[drones],
            cruise_speed_mps=policy.drone_cruise_speed_mps,
            cruise_alt_m=policy.drone_cruise_alt_m,
            altitude_m=snap.altitude_m[drones],
            battery_s=snap.battery_pct[drones] / 100 * policy.drone_endurance_s,
            reserve_s=policy.drone_reserve_pct / 100 * policy.drone_endurance_s,
        )
        exact = drone_eta(fleet, PROJ.to_xy([point])[0], docks_xy=snap.docks_xy, airspace=airspace)
        by_id = {snap.unit_ids[i]: j for j, i in enumerate(drones)}
        for r in recs:
            if r.kind is UnitKind.DRONE and r.feasible:
                j = by_id[r.unit_id]
                need = exact.flight_s[j] + exact.return_s[j] + fleet.reserve_s[j]
                assert fleet.battery_s[j] >= need - 1e-6
    # Feasible first, each group by ETA.
    feasible = [r.feasible for r in recs]
    assert feasible == sorted(feasible, reverse=True)
    etas = [r.eta_s for r in recs if r.feasible]
    assert etas == sorted(etas)
    plan = plan_response(recs, category="fight", priority=1, policy=policy)
    if plan.drone is not None:
        assert plan.drone.feasible and plan.drone.kind is UnitKind.DRONE
    call = policy.tiers_s[1]
    expected = {
        r.unit_id for r in recs if r.feasible and r.kind is not UnitKind.DRONE and r.eta_s <= call
    }
    assert set(plan.called) == expected | set(plan.assigned_ids)
    assert all(
        r.unit_id in {x.unit_id for x in recs if x.feasible}
        for r in [next_best(recs, set())]
        if r is not None
    )


def test_referral_categories_are_not_dispatched() -> None:
    snap = snapshot([(UnitKind.CAR, 0.001, 0.0, True, 0.0, 0.0)])
    recs = recommend(snap, CENTRE, DispatchPolicy())
    plan = plan_response(recs, category="noise_complaint", priority=3, policy=DispatchPolicy())
    assert plan.referred and plan.called == () and plan.assigned == ()


def test_the_baseline_sends_only_the_nearest_unit_and_no_drone() -> None:
    rows = [(UnitKind.CAR, 0.001 * i, 0.0, True, 0.0, 0.0) for i in range(1, 6)]
    rows.append((UnitKind.DRONE, 0.0, 0.0, True, 100.0, 0.0))
    snap = snapshot(rows)
    base = DispatchPolicy.baseline()
    plan = plan_response(recommend(snap, CENTRE, base), category="fight", priority=1, policy=base)
    assert plan.drone is None and plan.assigned_ids == ("u000",) and plan.called == ("u000",)
