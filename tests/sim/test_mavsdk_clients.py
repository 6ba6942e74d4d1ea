"""MAVSDK's own client plugins accept the simulated autopilot as they accept PX4 (real UDP)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from mavsdk.asyncio import ComponentType, Configuration, Mavsdk, System
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.geofence import GeofenceAsync
from mavsdk.asyncio.plugins.mission import MissionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from mavsdk.asyncio.plugins.param import ParamAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync
from mavsdk.plugins.geofence import Circle, FenceType, GeofenceData, Point, Polygon
from mavsdk.plugins.mission import MissionItem, MissionPlan
from mavsdk.plugins.telemetry import FlightMode

from sim.autopilot import Swarm, SwarmConfig, run_swarm

LAT, LON = 60.1699, 24.9384


@dataclass
class Rig:
    mavsdk: Mavsdk
    swarm: Swarm


@pytest.fixture
async def rig(udp_port: int) -> AsyncIterator[Rig]:
    """A MAVSDK ground station on a free port and two simulated drones at 20x physics."""
    config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
    async with Mavsdk(config) as mavsdk:
        await mavsdk.add_any_connection(f"udpin://127.0.0.1:{udp_port}")
        cfg = SwarmConfig(count=2, connect=f"udp://127.0.0.1:{udp_port}", time_scale=20.0)
        async with run_swarm(cfg) as swarm:
            yield Rig(mavsdk, swarm)


async def _system(mavsdk: Mavsdk, sysid: int) -> System:
    async with asyncio.timeout(5):
        while True:
            for s in await mavsdk.get_systems():
                if await s.get_system_id() == sysid and await s.has_autopilot():
                    return s
            await asyncio.sleep(0.1)


async def _until(agen: AsyncIterator, pred, timeout_s: float = 20.0):
    async with asyncio.timeout(timeout_s):
        async for value in agen:
            if pred(value):
                return value
    raise AssertionError("stream ended")


async def test_telemetry_plugin_reads_position_health_mode_and_battery(rig: Rig) -> None:
    tel = TelemetryAsync(await _system(rig.mavsdk, 2))
    pos = await _until(tel.subscribe_position(), lambda p: not math.isnan(p.latitude_deg))
    assert abs(pos.latitude_deg - LAT) < 1e-3 and abs(pos.absolute_altitude_m - 20.0) < 0.5
    health = await _until(
        tel.subscribe_health(), lambda h: h.is_global_position_ok and h.is_home_position_ok
    )
    assert health.is_armable and health.is_local_position_ok
    assert await _until(tel.subscribe_flight_mode(), lambda m: True) is FlightMode.HOLD
    battery = await _until(tel.subscribe_battery(), lambda b: b.remaining_percent > 0)
    assert battery.remaining_percent == pytest.approx(100.0, abs=1.0)
    assert battery.voltage_v == pytest.approx(16.8, abs=0.2)
    gps = await _until(tel.subscribe_gps_info(), lambda g: g.num_satellites > 0)
    assert gps.fix_type.name == "FIX_3D"


async def test_action_plugin_takes_off_to_the_param_altitude_goes_and_returns(rig: Rig) -> None:
    system = await _system(rig.mavsdk, 1)
    action, tel = ActionAsync(system), TelemetryAsync(system)
    await _until(tel.subscribe_health(), lambda h: h.is_global_position_ok)
    await action.set_takeoff_altitude(15.0)  # PARAM_SET MIS_TAKEOFF_ALT
    assert await action.get_takeoff_altitude() == pytest.approx(15.0)
    await action.arm()
    await action.takeoff()
    await _until(tel.subscribe_position(), lambda p: p.relative_altitude_m > 14.5)
    await _until(tel.subscribe_flight_mode(), lambda m: m is FlightMode.HOLD)
    await action.goto_location(LAT + 0.001, LON, 20.0 + 25.0, 0.0)
    await _until(tel.subscribe_position(), lambda p: abs(p.latitude_deg - (LAT + 0.001)) < 2e-5)
    await action.do_orbit(20.0, 4.0, 0, LAT + 0.001, LON, 45.0)
    await action.hold()
    await action.return_to_launch()
    await _until(tel.subscribe_flight_mode(), lambda m: m is FlightMode.RETURN_TO_LAUNCH)
    await _until(tel.subscribe_armed(), lambda armed: not armed, timeout_s=30)
    assert rig.swarm.drone(1).status()["in_air"] is False


async def test_mission_plugin_flies_a_mission_with_progress_and_rtl(rig: Rig) -> None:
    system = await _system(rig.mavsdk, 2)
    mission, action, tel = MissionAsync(system), ActionAsync(system), TelemetryAsync(system)
    await _until(tel.subscribe_health(), lambda h: h.is_global_position_ok)
    items = [
        MissionItem(
            latitude_deg=LAT + 0.0008,
            longitude_deg=LON,
            relative_altitude_m=20.0,
            speed_m_s=10.0,
            is_fly_through=True,
            loiter_time_s=0.0,
        ),
        MissionItem(
            latitude_deg=LAT + 0.0008,
            longitude_deg=LON + 0.0015,
            relative_altitude_m=25.0,
            speed_m_s=10.0,
            is_fly_through=False,
            loiter_time_s=2.0,
        ),
    ]
    await mission.set_return_to_launch_after_mission(True)
    await mission.upload_mission(MissionPlan(items))
    await action.arm()
    await mission.start_mission()
    progress = await _until(
        mission.subscribe_mission_progress(), lambda p: p.current == p.total, timeout_s=30
    )
    assert progress.total == 2
    assert await mission.is_mission_finished()
    await _until(tel.subscribe_armed(), lambda armed: not armed, timeout_s=30)


async def test_mission_raw_downloads_what_was_uploaded(rig: Rig) -> None:
    system = await _system(rig.mavsdk, 1)
    mission = MissionAsync(system)
    items = [
        MissionItem(latitude_deg=LAT + 0.001 * i, longitude_deg=LON, relative_altitude_m=30.0)
        for i in range(1, 4)
    ]
    await mission.upload_mission(MissionPlan(items))
    raw = await MissionRawAsync(system).download_mission()
    waypoints = [i for i in raw if i.command == 16]
    assert [w.x for w in waypoints] == [round((LAT + 0.001 * i) * 1e7) for i in range(1, 4)]
    assert rig.swarm.drone(1).status()["mission_items"] == len(raw)


async def test_geofence_plugin_upload_reaches_the_autopilot_and_clear_removes_it(
    rig: Rig,
) -> None:
    system = await _system(rig.mavsdk, 1)
    fence = GeofenceAsync(system)
    square = [
        Point(LAT - 0.002, LON - 0.003),
        Point(LAT + 0.002, LON - 0.003),
        Point(LAT + 0.002, LON + 0.003),
        Point(LAT - 0.002, LON + 0.003),
    ]
    data = GeofenceData(
        polygons=[Polygon(square, FenceType.INCLUSION)],
        circles=[Circle(Point(LAT + 0.001, LON), 30.0, FenceType.EXCLUSION)],
    )
    await fence.upload_geofence(data)
    held = rig.swarm.drone(1).status()["fence"]
    assert held == {
        "polygons": [{"inclusion": True, "vertices": 4}],
        "circles": [{"inclusion": False, "radius_m": 30.0}],
    }
    await fence.clear_geofence()
    assert rig.swarm.drone(1).status()["fence"] == {"polygons": [], "circles": []}


async def test_param_plugin_reads_and_writes_px4_parameters(rig: Rig) -> None:
    param = ParamAsync(await _system(rig.mavsdk, 2))
    assert await param.get_param_float("RTL_RETURN_ALT") == pytest.approx(30.0)
    await param.set_param_float("RTL_RETURN_ALT", 45.0)
    assert rig.swarm.drone(2).vehicle.params["RTL_RETURN_ALT"] == pytest.approx(45.0)


async def test_rally_points_upload_through_mission_raw(rig: Rig) -> None:
    from mavsdk.plugins.mission_raw import MissionItem as RawItem

    system = await _system(rig.mavsdk, 2)
    points = [
        RawItem(
            seq=i,
            frame=0,
            command=5100,
            current=0,
            autocontinue=1,
            param1=0.0,
            param2=0.0,
            param3=0.0,
            param4=0.0,
            x=round((LAT + 0.001 * i) * 1e7),
            y=round(LON * 1e7),
            z=30.0,
            mission_type=2,
        )
        for i in range(2)
    ]
    await MissionRawAsync(system).upload_rally_points(points)
    assert rig.swarm.drone(2).status()["rally_items"] == 2
