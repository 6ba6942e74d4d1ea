"""The same DroneLinks code flying PX4 SITL: mission, geofence, orbit, return."""

from __future__ import annotations

import asyncio
import math

import pytest

from fleet.control import (
    CommandResult,
    FencePolygon,
    Geofence,
    GeoPoint,
    MissionProgress,
    Waypoint,
)
from tests.fleet.control.test_links import _dist_m, _offset
from tests.px4.conftest import PX4_SYSID

pytestmark = pytest.mark.px4
ID = PX4_SYSID


async def test_px4_flies_an_uploaded_mission_and_returns(px4) -> None:
    links, rec = px4
    home = links.telemetry_nowait(ID)
    wps = [
        Waypoint(*_offset(home.lat_deg, home.lon_deg, 60, 0), 15.0, speed_mps=8.0),
        Waypoint(*_offset(home.lat_deg, home.lon_deg, 60, 60), 20.0, loiter_s=2.0),
    ]
    await links.upload_mission(ID, wps, return_home=True)
    await links.start_mission(ID)
    await rec.wait_for(lambda: any(p.finished for p in rec.of(MissionProgress, ID)), timeout_s=240)
    reached = {p.reached for p in rec.of(MissionProgress, ID) if p.reached is not None}
    assert {1, 2} <= reached  # both waypoints (item 0 is the speed change)
    await rec.wait_for(lambda: not rec.latest(ID).armed, timeout_s=240)
    last = rec.latest(ID)
    assert _dist_m(home.lat_deg, home.lon_deg, last.lat_deg, last.lon_deg) < 5.0


async def test_px4_accepts_a_geofence_and_clears_it(px4) -> None:
    links, _ = px4
    home = links.telemetry_nowait(ID)
    square = FencePolygon(
        tuple(
            GeoPoint(*_offset(home.lat_deg, home.lon_deg, n, e))
            for n, e in [(-200, -200), (200, -200), (200, 200), (-200, 200)]
        )
    )
    out = await links.upload_geofence(ID, Geofence(keep_in=square))
    assert out.result is CommandResult.ACCEPTED
    await links.clear_geofence(ID)


async def test_px4_orbits_and_returns_to_launch(px4) -> None:
    links, rec = px4
    home = links.telemetry_nowait(ID)
    await links.arm_and_takeoff(ID, 20.0)
    await rec.wait_for(lambda: rec.latest(ID).alt_rel_m > 18.0, timeout_s=60)
    centre = GeoPoint(*_offset(home.lat_deg, home.lon_deg, 40, 0))
    await links.orbit(ID, centre=centre, radius_m=25.0, velocity_mps=5.0, alt_m=20.0)
    await asyncio.sleep(40)
    t = rec.latest(ID)
    r = _dist_m(centre.lat_deg, centre.lon_deg, t.lat_deg, t.lon_deg)
    assert abs(r - 25.0) < 6.0 and math.hypot(t.velocity_n_mps, t.velocity_e_mps) > 2.0
    await links.return_to_launch(ID)
    await rec.wait_for(lambda: not rec.latest(ID).armed, timeout_s=240)
