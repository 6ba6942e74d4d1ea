"""DroneLinks against simulated autopilots over real UDP: missions, fences, failsafes, links."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from fleet.control import (
    CommandRejected,
    CommandResult,
    DroneUnavailable,
    FenceCircle,
    FencePolygon,
    Geofence,
    GeoPoint,
    LinkLost,
    LinkLostEvent,
    MissionProgress,
    Reattached,
    StatusText,
    Telemetry,
    Waypoint,
)

M_PER_DEG = 111_195.0


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / M_PER_DEG,
        lon + east_m / (M_PER_DEG * math.cos(math.radians(lat))),
    )


def _dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dn = (lat2 - lat1) * M_PER_DEG
    de = (lon2 - lon1) * M_PER_DEG * math.cos(math.radians(lat1))
    return math.hypot(dn, de)


async def _airborne(rig, sysid: int, alt_m: float = 20.0) -> Telemetry:
    await rig.links.arm_and_takeoff(sysid, alt_m)
    await rig.rec.wait_for(
        lambda: (
            (t := rig.rec.latest(sysid)) is not None
            and t.in_air
            and abs(t.alt_rel_m - alt_m) < 1.0
            and t.flight_mode == "HOLD"
        )
    )
    tel = rig.rec.latest(sysid)
    assert tel is not None
    return tel


async def test_ten_drones_each_fly_their_mission_and_return(
    open_rig: Callable[..., AbstractAsyncContextManager],
) -> None:
    async with open_rig(10) as rig:
        ids = list(range(1, 11))
        homes = {i: rig.links.telemetry_nowait(i) for i in ids}
        plans = {}
        for i, home in homes.items():
            assert home is not None and home.position_known
            legs = [(120, 0, 20.0), (120, 90, 25.0), (40, 90, 20.0)]
            plans[i] = [
                Waypoint(*_offset(home.lat_deg, home.lon_deg, n, e), alt, speed_mps=12.0)
                for n, e, alt in legs
            ]
        outcomes = await asyncio.gather(
            *(rig.links.upload_mission(i, plans[i], return_home=True) for i in ids)
        )
        assert all(o.result is CommandResult.ACCEPTED for o in outcomes)
        starts = await asyncio.gather(*(rig.links.start_mission(i) for i in ids))
        assert [s.drone_id for s in starts] == ids

        def done() -> bool:
            return all(
                any(p.finished for p in rig.rec.of(MissionProgress, i))
                and (t := rig.rec.latest(i)) is not None
                and not t.armed
                and not t.in_air
                for i in ids
            )

        await rig.rec.wait_for(done, timeout_s=60)
        for i in ids:
            total = rig.swarm.drone(i).status()["mission_items"]
            assert total == 5  # speed change, three waypoints, return to launch
            reached = sorted(
                p.reached for p in rig.rec.of(MissionProgress, i) if p.reached is not None
            )
            assert reached == list(range(total)), f"drone {i} reached {reached}"
            last = rig.rec.latest(i)
            assert last is not None
            assert _dist_m(homes[i].lat_deg, homes[i].lon_deg, last.lat_deg, last.lon_deg) < 3.0
            # the telemetry saw it fly: some snapshot well away from the dock
            assert any(t.alt_rel_m > 15 for t in rig.rec.of(Telemetry, i))


async def test_geofence_upload_reaches_the_drone_and_clear_removes_it(rig) -> None:
    home = rig.links.telemetry_nowait(1)
    corners = [(-300, -300), (300, -300), (300, 300), (-300, 300)]
    keep_in = FencePolygon(
        tuple(GeoPoint(*_offset(home.lat_deg, home.lon_deg, n, e)) for n, e in corners)
    )
    no_fly = FencePolygon(
        tuple(
            GeoPoint(*_offset(home.lat_deg, home.lon_deg, n, e))
            for n, e in [(100, 100), (150, 100), (150, 150)]
        )
    )
    circle = FenceCircle(GeoPoint(*_offset(home.lat_deg, home.lon_deg, -100, 0)), 25.0)
    out = await rig.links.upload_geofence(1, Geofence(keep_in=keep_in, keep_out=(no_fly, circle)))
    assert out.result is CommandResult.ACCEPTED
    assert rig.swarm.drone(1).status()["fence"] == {
        "polygons": [{"inclusion": True, "vertices": 4}, {"inclusion": False, "vertices": 3}],
        "circles": [{"inclusion": False, "radius_m": 25.0}],
    }
    await rig.links.clear_geofence(1)
    assert rig.swarm.drone(1).status()["fence_items"] == 0


async def test_injected_fence_breach_makes_the_drone_return_and_the_link_sees_it(rig) -> None:
    home = await _airborne(rig, 1)
    corners = [(-200, -200), (200, -200), (200, 200), (-200, 200)]
    keep_in = FencePolygon(
        tuple(GeoPoint(*_offset(home.lat_deg, home.lon_deg, n, e)) for n, e in corners)
    )
    await rig.links.upload_geofence(1, Geofence(keep_in=keep_in))
    n0 = len(rig.rec.events)
    rig.swarm.drone(1).fence_breach()
    await rig.rec.wait_for(
        lambda: (
            any("Geofence" in s.text for s in rig.rec.of(StatusText, 1))
            and "RETURN_TO_LAUNCH" in rig.rec.modes_since(n0, 1)
        )
    )
    breach = next(s for s in rig.rec.of(StatusText, 1) if "Geofence" in s.text)
    assert breach.severity == "CRITICAL"
    await rig.rec.wait_for(lambda: not rig.rec.latest(1).armed, timeout_s=30)


async def test_link_drop_is_reported_within_3s_and_restore_reattaches_same_sysid(rig) -> None:
    rig.swarm.drone(2).drop_link()
    t0 = time.monotonic()
    await rig.rec.wait_for(lambda: rig.rec.of(LinkLostEvent, 2), timeout_s=5)
    assert time.monotonic() - t0 < 3.0
    assert not rig.links.is_connected(2) and rig.links.is_connected(1)
    with pytest.raises(LinkLost) as lost:
        await rig.links.return_to_launch(2)
    assert lost.value.drone_id == 2
    rig.swarm.drone(2).restore_link()
    await rig.rec.wait_for(lambda: rig.rec.of(Reattached, 2), timeout_s=5)
    assert rig.links.drones() == [1, 2]
    await rig.links.spotlight(2, True)
    assert rig.swarm.drone(2).vehicle.illuminator_on


async def test_orbit_circles_the_centre_at_the_radius(rig) -> None:
    home = await _airborne(rig, 1, 30.0)
    centre = GeoPoint(*_offset(home.lat_deg, home.lon_deg, 60, 0))
    await rig.links.orbit(1, centre=centre, radius_m=40.0, velocity_mps=8.0, alt_m=30.0)
    await asyncio.sleep(2.5)  # 50 s of flight at 20x: reach the circle and go round
    n0 = len(rig.rec.of(Telemetry, 1))
    await asyncio.sleep(2.0)
    samples = rig.rec.of(Telemetry, 1)[n0:]
    assert len(samples) >= 8
    radii = [_dist_m(centre.lat_deg, centre.lon_deg, t.lat_deg, t.lon_deg) for t in samples]
    assert all(34.0 < r < 46.0 for r in radii), radii
    assert all(abs(t.alt_rel_m - 30.0) < 1.0 for t in samples)
    bearings = {
        round(
            math.degrees(math.atan2(t.lon_deg - centre.lon_deg, t.lat_deg - centre.lat_deg)) // 90
        )
        for t in samples
    }
    assert len(bearings) >= 3  # it went round, not hovered


async def test_goto_flies_to_the_point_and_land_lands_there(rig) -> None:
    home = await _airborne(rig, 2)
    lat, lon = _offset(home.lat_deg, home.lon_deg, 150, -80)
    await rig.links.goto(2, lon_deg=lon, lat_deg=lat, alt_m=35.0, speed_mps=12.0)
    await rig.rec.wait_for(
        lambda: (
            _dist_m(lat, lon, rig.rec.latest(2).lat_deg, rig.rec.latest(2).lon_deg) < 2.0
            and abs(rig.rec.latest(2).alt_rel_m - 35.0) < 1.0
        )
    )
    await rig.links.land(2)
    await rig.rec.wait_for(lambda: not rig.rec.latest(2).in_air, timeout_s=30)
    last = rig.rec.latest(2)
    assert _dist_m(lat, lon, last.lat_deg, last.lon_deg) < 3.0


async def test_pause_holds_and_resume_continues_the_mission(rig) -> None:
    home = rig.links.telemetry_nowait(1)
    wps = [
        Waypoint(*_offset(home.lat_deg, home.lon_deg, 400, 0), 20.0, speed_mps=10.0),
        Waypoint(*_offset(home.lat_deg, home.lon_deg, 400, 50), 20.0),
    ]
    await rig.links.upload_mission(1, wps, return_home=False)
    await rig.links.start_mission(1)
    await rig.rec.wait_for(lambda: (t := rig.rec.latest(1)).in_air and t.ground_speed_mps > 5)
    await rig.links.pause(1)
    await rig.rec.wait_for(
        lambda: (t := rig.rec.latest(1)).flight_mode == "HOLD" and t.ground_speed_mps < 0.5
    )
    assert not any(p.reached == 1 for p in rig.rec.of(MissionProgress, 1) if p.reached)
    await rig.links.resume(1)
    await rig.rec.wait_for(lambda: any(p.finished for p in rig.rec.of(MissionProgress, 1)))


async def test_abort_holds_then_returns_home(rig) -> None:
    home = await _airborne(rig, 1)
    lat, lon = _offset(home.lat_deg, home.lon_deg, 300, 0)
    await rig.links.goto(1, lon_deg=lon, lat_deg=lat, alt_m=20.0)
    await rig.rec.wait_for(
        lambda: (
            _dist_m(
                home.lat_deg, home.lon_deg, rig.rec.latest(1).lat_deg, rig.rec.latest(1).lon_deg
            )
            > 100
        )
    )
    n0 = len(rig.rec.events)
    out = await rig.links.abort(1)
    assert out.command == "abort"
    await rig.rec.wait_for(lambda: "RETURN_TO_LAUNCH" in rig.rec.modes_since(n0, 1))


async def test_low_battery_makes_the_drone_return(
    open_rig: Callable[..., AbstractAsyncContextManager],
) -> None:
    # 5x: between BAT_CRIT_THR (7%, return) and BAT_EMERGEN_THR (5%, land) lie ~30 s of
    # flight, which at 20x could pass between two 1 Hz heartbeats
    async with open_rig(1, time_scale=5.0) as rig:
        home = await _airborne(rig, 1)
        lat, lon = _offset(home.lat_deg, home.lon_deg, 0, 200)
        await rig.links.goto(1, lon_deg=lon, lat_deg=lat, alt_m=20.0)
        await rig.rec.wait_for(
            lambda: (
                _dist_m(
                    home.lat_deg, home.lon_deg, rig.rec.latest(1).lat_deg, rig.rec.latest(1).lon_deg
                )
                > 60
            )
        )
        n0 = len(rig.rec.events)
        rig.swarm.drone(1).drain_battery(6.8)
        await rig.rec.wait_for(
            lambda: (
                "RETURN_TO_LAUNCH" in rig.rec.modes_since(n0, 1)
                and any(t.battery_pct <= 7.0 for t in rig.rec.of(Telemetry, 1))
                and any("battery critical" in s.text for s in rig.rec.of(StatusText, 1))
            )
        )


async def test_refused_command_raises_command_rejected_with_the_result(rig) -> None:
    rig.swarm.drone(1).lose_gps()
    with pytest.raises(CommandRejected) as rejected:
        await rig.links.arm_and_takeoff(1, 20.0)
    assert rejected.value.result is CommandResult.DENIED
    assert rejected.value.drone_id == 1 and rejected.value.command == "takeoff"
    # a reposition on the ground is refused "for now" (TEMPORARILY_REJECTED): the links
    # retry it (Timeouts.retries = 2), then give up with the autopilot's answer
    with pytest.raises(CommandRejected) as later:
        await rig.links.goto(2, lon_deg=24.94, lat_deg=60.17, alt_m=20.0)
    assert later.value.result is CommandResult.TEMPORARILY_REJECTED
    assert later.value.attempts == 3


async def test_unknown_drone_raises_drone_unavailable(rig) -> None:
    with pytest.raises(DroneUnavailable):
        await rig.links.land(42)


async def test_telemetry_snapshots_are_throttled_but_keep_up(rig) -> None:
    n0 = len(rig.rec.of(Telemetry, 1))
    await asyncio.sleep(2.0)
    rate = (len(rig.rec.of(Telemetry, 1)) - n0) / 2.0
    assert 4.0 <= rate <= 5.6  # sim streams 5 Hz, links cap at 5 Hz
    t = rig.rec.latest(1)
    assert t.gps_fix == "FIX_3D" and t.health_ok and t.battery_pct > 90


async def test_gps_loss_in_flight_lands_and_the_link_sees_no_fix(rig) -> None:
    await _airborne(rig, 1)
    rig.swarm.drone(1).lose_gps()
    await rig.rec.wait_for(
        lambda: (
            (t := rig.rec.latest(1)).gps_fix == "NO_FIX"
            and not t.health_ok
            and any("no global position" in s.text for s in rig.rec.of(StatusText, 1))
        )
    )
    await rig.rec.wait_for(lambda: not rig.rec.latest(1).in_air, timeout_s=30)


async def test_link_loss_failsafe_returns_the_drone_while_the_link_is_down(
    open_rig: Callable[..., AbstractAsyncContextManager],
) -> None:
    async with open_rig(1, time_scale=5.0) as rig:  # slow enough to watch the return
        home = await _airborne(rig, 1)
        lat, lon = _offset(home.lat_deg, home.lon_deg, 400, 0)
        await rig.links.goto(1, lon_deg=lon, lat_deg=lat, alt_m=20.0)
        await rig.rec.wait_for(
            lambda: (
                _dist_m(
                    home.lat_deg, home.lon_deg, rig.rec.latest(1).lat_deg, rig.rec.latest(1).lon_deg
                )
                > 100
            )
        )
        # PX4 waits COM_DL_LOSS_T (10 s, wall clock) before its data-link failsafe
        rig.swarm.drone(1).vehicle.params.values["COM_DL_LOSS_T"] = 1.0
        rig.swarm.drone(1).drop_link()
        await rig.rec.wait_for(lambda: rig.rec.of(LinkLostEvent, 1), timeout_s=5)
        assert rig.swarm.drone(1).status()["mode"] == "RTL"
        rig.swarm.drone(1).restore_link()
        await rig.rec.wait_for(lambda: rig.rec.of(Reattached, 1), timeout_s=5)
        await rig.rec.wait_for(lambda: rig.rec.latest(1).flight_mode == "RETURN_TO_LAUNCH")


async def test_restarted_links_reattach_flying_drones_and_follow_their_missions() -> None:
    """The service dies mid-mission: new links on the same port pick every drone up again."""
    from fleet.control import LinksConfig, open_drone_links
    from sim.autopilot import SwarmConfig, run_swarm
    from tests import helpers
    from tests.fleet.control.conftest import Recorder

    port = helpers.free_udp_port()
    config = LinksConfig(connections=(f"udpin://127.0.0.1:{port}",))
    ids = [1, 2, 3]
    cfg = SwarmConfig(count=3, connect=f"udp://127.0.0.1:{port}", time_scale=20.0)
    async with run_swarm(cfg) as swarm:
        async with open_drone_links(config) as links:
            await asyncio.wait_for(links.wait_discovered(set(ids)), timeout=10)
            for i in ids:
                home = links.telemetry_nowait(i)
                wps = [
                    Waypoint(*_offset(home.lat_deg, home.lon_deg, n, e), 20.0, speed_mps=10.0)
                    for n, e in [(300, 0), (300, 100)]
                ]
                await links.upload_mission(i, wps, return_home=True)
                await links.start_mission(i)
            await asyncio.sleep(0.5)
        # links gone: the drones fly on (no data-link failsafe within COM_DL_LOSS_T)
        await asyncio.sleep(0.5)
        assert all(swarm.drone(i).status()["mode"] == "MISSION" for i in ids)
        async with open_drone_links(config) as links:
            rec = Recorder()
            links.add_listener(rec)
            await asyncio.wait_for(links.wait_discovered(set(ids)), timeout=10)
            assert links.drones() == ids
            await rec.wait_for(
                lambda: all(
                    any(p.finished for p in rec.of(MissionProgress, i)) and not rec.latest(i).armed
                    for i in ids
                ),
                timeout_s=40,
            )
            for i in ids:
                # the new links never uploaded: the total comes from MISSION_CURRENT (0 until
                # the first one arrives, at most a second after re-attaching)
                assert {p.total for p in rec.of(MissionProgress, i)} - {0} == {4}


async def test_unanswered_command_raises_command_timeout_after_its_deadline(
    open_rig: Callable[..., AbstractAsyncContextManager],
) -> None:
    from fleet.control import CommandTimeout, Timeouts

    async with open_rig(1, timeouts=Timeouts(command_s=1.5)) as rig:
        rig.swarm.drone(1).drop_uplink()  # telemetry still flows: the link is up
        t0 = time.monotonic()
        with pytest.raises(CommandTimeout) as timed_out:
            await rig.links.spotlight(1, True)
        assert 1.4 < time.monotonic() - t0 < 2.5
        assert timed_out.value.drone_id == 1 and timed_out.value.command == "spotlight"
        assert rig.links.is_connected(1)
        assert not rig.swarm.drone(1).vehicle.illuminator_on


async def test_links_listen_on_several_connections_like_px4_sitl_instances() -> None:
    from fleet.control import LinksConfig, open_drone_links
    from sim.autopilot import SwarmConfig, run_swarm
    from tests import helpers

    base = helpers.free_udp_port()  # base + 1 is very likely free too
    urls = (f"udpin://127.0.0.1:{base}", f"udpin://127.0.0.1:{base + 1}")
    async with open_drone_links(LinksConfig(connections=urls)) as links:
        cfg = SwarmConfig(count=2, connect=f"udp://127.0.0.1:{base}", port_stride=1)
        async with run_swarm(cfg):
            await asyncio.wait_for(links.wait_discovered({1, 2}), timeout=10)
            assert links.drones() == [1, 2]
