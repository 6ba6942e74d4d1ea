"""The airframe model without I/O: kinematics, battery endurance, missions, failsafes."""

from __future__ import annotations

import pytest

from sim.autopilot.px4 import Mode
from sim.autopilot.vehicle import LandedState, MissionItem, MissionState, Vehicle

HOME = (60.1699, 24.9384)


def _run(v: Vehicle, seconds: float, dt: float = 0.1) -> None:
    for _ in range(round(seconds / dt)):
        v.step(dt)


def _airborne(alt: float = 20.0) -> Vehicle:
    v = Vehicle(1, *HOME)
    assert v.arm()[0]
    assert v.takeoff(alt)[0]
    _run(v, 20)
    assert v.in_air and abs(v.alt - alt) < 1.0
    return v


def _wp(seq: int, n: float, e: float, v: Vehicle, alt: float = 20.0, cmd: int = 16) -> MissionItem:
    lat, lon = v.frame.to_latlon(n, e)
    return MissionItem(seq, 6, cmd, 0.0, 0.0, 0.0, 0.0, round(lat * 1e7), round(lon * 1e7), alt)


def test_takeoff_climbs_no_faster_than_px4_limit_and_then_holds() -> None:
    v = Vehicle(1, *HOME)
    v.arm()
    v.takeoff(30.0)
    _run(v, 5)
    assert v.alt <= 5 * 3.0 + 0.1
    _run(v, 20)
    assert v.mode is Mode.HOLD and abs(v.alt - 30.0) < 0.6


def test_endurance_is_between_25_and_35_minutes_of_patrol_flight() -> None:
    v = _airborne()
    far = v.frame.to_latlon(100_000.0, 0.0)
    n, e = v.frame.to_ne(*far)
    v.reposition(n, e, 20.0, 10.0)
    v.params.values["BAT_CRIT_THR"] = -1.0  # measure to empty, no failsafe
    v.params.values["BAT_EMERGEN_THR"] = -1.0
    t = 0.0
    while v.battery > 0.0 and t < 3600:
        v.step(1.0)
        t += 1.0
    assert 25 * 60 <= t <= 35 * 60


def test_mission_is_flown_in_order_and_rtl_item_brings_the_drone_home() -> None:
    v = Vehicle(1, *HOME)
    items = [_wp(0, 100, 0, v), _wp(1, 100, 100, v), MissionItem(2, 2, 20, 0, 0, 0, 0, 0, 0, 0)]
    v.set_mission(items)
    v.arm()
    assert v.set_mode(Mode.MISSION)
    reached = []
    for _ in range(3000):
        v.step(0.1)
        reached += [e[1] for e in v.events if e[0] == "reached"]
        v.events.clear()
        if not v.armed:
            break
    assert reached == [0, 1, 2]
    assert not v.armed and v.landed is LandedState.ON_GROUND
    assert abs(v.n) < 2 and abs(v.e) < 2
    assert v.mission_state is MissionState.COMPLETE


def test_fence_breach_returns_and_says_so() -> None:
    v = _airborne()
    corners = [(-50, -50), (50, -50), (50, 50), (-50, 50)]
    items = []
    for i, (n, e) in enumerate(corners):
        lat, lon = v.frame.to_latlon(n, e)
        items.append(MissionItem(i, 0, 5001, 4, 0, 0, 0, round(lat * 1e7), round(lon * 1e7), 0))
    v.set_fence(items)
    v.reposition(200.0, 0.0, 20.0, 10.0)
    _run(v, 15)
    assert v.mode is Mode.RTL
    assert any("Geofence" in e[2] for e in v.events if e[0] == "statustext")


def test_keep_out_circle_counts_as_breach_inside_it() -> None:
    v = Vehicle(1, *HOME)
    lat, lon = v.frame.to_latlon(30.0, 0.0)
    v.set_fence([MissionItem(0, 0, 5004, 10.0, 0, 0, 0, round(lat * 1e7), round(lon * 1e7), 0)])
    assert v.fence.breached(30.0, 5.0)
    assert not v.fence.breached(0.0, 0.0)


@pytest.mark.parametrize(
    ("percent", "mode"), [(6.0, Mode.RTL), (4.0, Mode.LAND)], ids=["critical", "emergency"]
)
def test_battery_failsafe_returns_or_lands(percent: float, mode: Mode) -> None:
    v = _airborne()
    v.battery = percent / 100
    _run(v, 0.5)
    assert v.mode is mode


def test_gps_loss_in_flight_lands() -> None:
    v = _airborne()
    v.gps_ok = False
    _run(v, 0.5)
    assert v.mode is Mode.LAND
    assert not v.arm()[0] or v.armed  # already armed; a disarmed drone could not arm


def test_datalink_loss_returns_after_com_dl_loss_t() -> None:
    v = _airborne()
    v.gcs_heartbeat()
    v.gcs_silent_s = 9.0
    _run(v, 0.5)
    assert v.mode is Mode.HOLD
    v.gcs_silent_s = 11.0
    _run(v, 0.5)
    assert v.mode is Mode.RTL


def test_arming_is_refused_without_gps() -> None:
    v = Vehicle(1, *HOME)
    v.gps_ok = False
    ok, why = v.arm()
    assert not ok and "GPS" in why


def test_orbit_keeps_the_radius() -> None:
    v = _airborne(30.0)
    v.start_orbit(0.0, 0.0, 40.0, 6.0, 30.0)
    _run(v, 60)
    import math

    radii = []
    for _ in range(50):
        v.step(0.2)
        radii.append(math.hypot(v.n, v.e))
    assert all(35.0 < r < 45.0 for r in radii)
