"""Drones through the service over real MAVLink/UDP: missions, fences, links, warnings."""

from __future__ import annotations

import asyncio
import math

from fleet.settings import Settings
from fleet.types import CommandStatus
from tests.fleet.drone_rig import DroneRig, drone_rig
from tests.helpers import wait_for

PROBLEM = "application/problem+json"


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    )


def square_around(lon: float, lat: float, half_m: float) -> list[list[float]]:
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    return [list(offset(lon, lat, half_m * e, half_m * n)) for e, n in corners]


async def drone_position(rig: DroneRig, drone_id: str) -> tuple[float, float]:
    live = rig.coordinator.state.get(drone_id)
    assert live is not None and live.lon is not None and live.lat is not None
    return live.lon, live.lat


async def mission_status(rig: DroneRig, drone_id: str, mission_id: str) -> dict:  # type: ignore[type-arg]
    async with rig.client() as c:
        return (await c.get(f"/v1/drones/{drone_id}/missions/{mission_id}")).json()


async def test_ten_drones_fly_their_missions_and_every_item_and_command_is_recorded(
    settings: Settings,
) -> None:
    async with drone_rig(settings, 10) as rig, rig.client() as c:
        missions = {}
        for i in range(1, 11):
            did = f"drone-{i}"
            lon, lat = await drone_position(rig, did)
            a, b = offset(lon, lat, 150, 100), offset(lon, lat, -100, 200)
            body = {
                "waypoints": {"type": "LineString", "coordinates": [[*a, 40], [*b, 50]]},
                "speed_m_s": 12,
                "return_home": True,
            }
            r = await c.post(f"/v1/drones/{did}/missions", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["status"] == "uploaded"
            missions[did] = r.json()
        for did, m in missions.items():
            r = await c.post(f"/v1/drones/{did}/missions/{m['id']}/start")
            assert r.status_code == 202, r.text
        async with asyncio.timeout(60):
            for did, m in missions.items():
                await wait_for(
                    lambda did=did, m=m: _finished(rig, did, m["id"]),
                    timeout_s=60,
                    interval_s=0.2,
                )
        for did, m in missions.items():
            final = await mission_status(rig, did, m["id"])
            assert final["status"] == "completed", final
            assert final["current_item"] >= final["total_items"] - 1
            assert set(final["reached"]) >= {1, 2}, final  # both waypoints reached
            cmds = await rig.coordinator.store.list_commands(unit_id=did)
            kinds = [x.kind for x in cmds]
            assert kinds[-2:] == ["upload_mission", "start_mission"]
            assert all(x.status is CommandStatus.ACKED and x.completed_at for x in cmds)


async def _finished(rig: DroneRig, did: str, mid: str) -> bool:
    return (await mission_status(rig, did, mid))["status"] in {"completed", "failed", "aborted"}


async def test_a_mission_through_a_no_fly_zone_is_refused_naming_the_fence(
    settings: Settings,
) -> None:
    async with drone_rig(settings, 1) as rig, rig.client() as c:
        lon, lat = await drone_position(rig, "drone-1")
        zone_centre = offset(lon, lat, 300, 0)
        fence = {
            "type": "Feature",
            "properties": {"name": "Parliament", "kind": "no_fly"},
            "geometry": {"type": "Polygon", "coordinates": [square_around(*zone_centre, 60)]},
        }
        async with rig.client(rig.admin_token) as admin:
            fid = (await admin.post("/v1/fences", json=fence)).json()["id"]
        across = [[*offset(lon, lat, 600, 0), 40]]
        body = {
            "waypoints": {
                "type": "LineString",
                "coordinates": [[*offset(lon, lat, 10, 0), 40], *across],
            }
        }
        r = await c.post("/v1/drones/drone-1/missions", json=body)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["fences"] == [{"id": fid, "name": "Parliament"}]
        assert "Parliament" in problem["detail"]
        # Nothing reached the drone: no mission, no upload command.
        assert rig.swarm.drone(1).vehicle.mission == []
        # A path around the zone is accepted, and the fence is on the drone before it flies.
        around = [[*offset(lon, lat, 0, 200), 40], [*offset(lon, lat, 300, 200), 40]]
        r = await c.post(
            "/v1/drones/drone-1/missions",
            json={"waypoints": {"type": "LineString", "coordinates": around}},
        )
        assert r.status_code == 201, r.text
        held = rig.swarm.drone(1).vehicle.fence
        assert len(held.polygons) == 1 and not held.polygons[0].inclusion
        kinds = [x.kind for x in await rig.coordinator.store.list_commands(unit_id="drone-1")]
        assert kinds.index("upload_geofence") < kinds.index("upload_mission")


async def test_a_fence_breach_raises_an_event_and_the_drone_returns(settings: Settings) -> None:
    async with drone_rig(settings, 1) as rig, rig.client() as c:
        seen: list[str] = []
        rig.coordinator.events.add_listener(lambda e: seen.append(e.type))
        lon, lat = await drone_position(rig, "drone-1")
        keep_in = {
            "type": "Feature",
            "properties": {"name": "City centre", "kind": "keep_in"},
            "geometry": {"type": "Polygon", "coordinates": [square_around(lon, lat, 1500)]},
        }
        async with rig.client(rig.admin_token) as admin:
            assert (await admin.post("/v1/fences", json=keep_in)).status_code == 201
        r = await c.post(
            "/v1/drones/drone-1/goto",
            json={"lon": offset(lon, lat, 400, 0)[0], "lat": lat, "alt_m": 40},
        )
        assert r.status_code == 202, r.text
        await wait_for(lambda: rig.coordinator.state.get("drone-1").alt_m > 10, timeout_s=20)
        assert rig.swarm.drone(1).vehicle.fence.polygons[0].inclusion  # uploaded before flight
        assert rig.swarm.handle_control({"op": "fence_breach", "sysid": 1}) == {"ok": True}
        await wait_for(lambda: "drone.fence_breach" in seen, timeout_s=5)
        await wait_for(
            lambda: (
                rig.coordinator.drones.drones["drone-1"].telemetry.flight_mode == "RETURN_TO_LAUNCH"
            ),
            timeout_s=5,
        )


async def test_link_loss_is_reported_within_3_s_and_the_drone_reattaches(
    settings: Settings,
) -> None:
    async with drone_rig(settings, 2) as rig:
        seen: list[tuple[str, float]] = []
        loop = asyncio.get_running_loop()
        rig.coordinator.events.add_listener(
            lambda e: (
                seen.append((e.type, loop.time())) if e.data.get("unit_id") == "drone-2" else None
            )
        )
        dropped_at = loop.time()
        rig.swarm.handle_control({"op": "drop_link", "sysid": 2})
        await wait_for(lambda: any(t == "drone.link_lost" for t, _ in seen), timeout_s=5)
        lost_after = next(at for t, at in seen if t == "drone.link_lost") - dropped_at
        assert lost_after <= 3.0
        assert not rig.coordinator.state.get("drone-2").online
        assert rig.coordinator.state.get("drone-1").online
        rig.swarm.handle_control({"op": "restore_link", "sysid": 2})
        await wait_for(lambda: any(t == "drone.reattached" for t, _ in seen), timeout_s=5)
        await wait_for(lambda: rig.coordinator.state.get("drone-2").online, timeout_s=5)
        units = await rig.coordinator.store.list_units()
        assert sorted(u.id for u in units) == ["drone-1", "drone-2"]  # same identity


async def test_a_warning_reaches_the_companion_and_is_acked(settings: Settings) -> None:
    async with drone_rig(settings, 1) as rig, rig.client() as c:
        r = await c.post(
            "/v1/drones/drone-1/warnings", json={"preset_id": "leave-area", "language": "zh"}
        )
        assert r.status_code == 202, r.text
        wid = r.json()["id"]
        done = await wait_for(lambda: _warning_done(rig, wid), timeout_s=10)
        assert done["status"] == "acked" and done["state"] == "done"
        assert done["text"] == "警察。请立即离开该区域。"
        assert done["position"]["lon"] is not None
        heard = rig.companion.handled
        assert [h["command_id"] for h in heard] == [wid] and heard[0]["language"] == "zh"
        async with rig.client(rig.admin_token) as admin:
            log = (await admin.get("/v1/audit", params={"action": "command.speak"})).json()
        entry = log["data"][0]
        assert entry["actor"] == "test-operator" and entry["target_id"] == "drone-1"
        assert entry["detail"]["payload"]["text"] == done["text"]
        assert entry["detail"]["payload"]["position"]["lat"] is not None


async def _warning_done(rig: DroneRig, wid: str) -> dict | None:  # type: ignore[type-arg]
    async with rig.client() as c:
        body = (await c.get(f"/v1/drones/drone-1/warnings/{wid}")).json()
    return body if body["state"] == "done" or body["status"] == "failed" else None


async def test_a_warning_with_no_companion_fails_with_a_clear_reason(settings: Settings) -> None:
    async with drone_rig(settings, 1, companion=False) as rig, rig.client() as c:
        r = await c.post(
            "/v1/drones/drone-1/warnings", json={"text": "Please leave the area", "timeout_s": 1}
        )
        assert r.status_code == 202
        failed = await wait_for(lambda: _warning_done(rig, r.json()["id"]), timeout_s=10)
        assert failed["status"] == "failed"
        assert "no answer from the payload companion within 1 s" in failed["reason"]


async def test_flight_commands_need_the_operator_role(settings: Settings) -> None:
    async with drone_rig(settings, 1) as rig:
        from fleet.domain import SYSTEM
        from fleet.types import Role

        _, dispatcher = await rig.coordinator.store.create_token(
            SYSTEM, name="d", role=Role.DISPATCHER
        )
        async with rig.client(dispatcher) as c:
            r = await c.post("/v1/drones/drone-1/return")
            assert r.status_code == 403
            assert (await c.get("/v1/drones")).json()["count"] == 1
