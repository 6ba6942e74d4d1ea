"""Patrol operations through the service over the real protocols: simulated MAVLink drones,
simulated ground units over MQTT, PostgreSQL-free SQLite store, HTTP API."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from fleet.settings import Settings
from sim.patrol_units import follow_patrol_routes
from sim.units import GroundFleet, SimUnit, run_ground_fleet
from tests.fleet.drone_rig import DroneRig, drone_rig
from tests.helpers import wait_for

PROBLEM = "application/problem+json"
SCALE = 30.0  # simulator physics and patrol clock run together


def offset(lon: float, lat: float, east_m: float, north_m: float) -> list[float]:
    return [
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    ]


def home(rig: DroneRig, did: str = "drone-1") -> tuple[float, float]:
    live = rig.coordinator.state.get(did)
    assert live is not None and live.lon is not None and live.lat is not None
    return live.lon, live.lat


async def add_hotspots(
    rig: DroneRig, spots: list[tuple[str, list[float]]], **props: Any
) -> list[str]:
    ids = []
    async with rig.client() as c:
        for name, where in spots:
            body = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": where},
                "properties": {"name": name, "revisit_s": 600, "dwell_s": 30, **props},
            }
            r = await c.post("/v1/hotspots", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


async def patrol_state(rig: DroneRig, pid: str) -> dict[str, Any]:
    async with rig.client() as c:
        r = await c.get(f"/v1/patrols/{pid}")
        assert r.status_code == 200, r.text
        return r.json()


async def wait_ended(rig: DroneRig, pid: str, timeout_s: float) -> dict[str, Any]:
    """Poll the patrol over HTTP until it is no longer running."""
    last: dict[str, Any] = {}

    async def ended() -> bool:
        last.update(await patrol_state(rig, pid))
        return bool(last["status"] != "running")

    await wait_for(ended, timeout_s=timeout_s, interval_s=0.5)
    return last


async def test_a_patrol_flies_its_sorties_sends_acked_routes_and_visits_every_hot_spot(
    settings: Settings,
) -> None:
    t0 = time.monotonic()
    async with drone_rig(settings, 2, time_scale=SCALE) as rig:
        lon, lat = home(rig)
        hot = await add_hotspots(
            rig,
            [
                ("station square", offset(lon, lat, 250, 150)),
                ("mall entrance", offset(lon, lat, -200, 250)),
                ("harbour gate", offset(lon, lat, 100, -250)),
            ],
        )
        units = [
            SimUnit("car-1", "car", *offset(lon, lat, 50, 50)),
            SimUnit("foot-1", "foot", *offset(lon, lat, -60, 20)),
        ]
        fleet = GroundFleet(
            mqtt_url=settings.mqtt_url or "",
            units=units,
            root=settings.mqtt_root,
            interval_s=0.3,
            time_scale=SCALE,
        )
        await fleet.register(rig.base_url, rig.admin_token)
        async with run_ground_fleet(fleet), asyncio.TaskGroup() as tg:
            follower = tg.create_task(follow_patrol_routes(fleet), name="test.follow")
            await wait_for(
                lambda: all(
                    (u := rig.coordinator.state.get(x.unit_id)) is not None and u.lon is not None
                    for x in units
                ),
                timeout_s=10,
            )
            async with rig.client() as c:
                r = await c.post(
                    "/v1/patrols",
                    json={
                        "name": "evening peak",
                        "hot_spot_ids": hot,
                        "duration_s": 900,
                        "drones": ["drone-1", "drone-2"],
                        "ground_units": ["car-1", "foot-1"],
                        "clock_scale": SCALE,
                        "time_limit_s": 2,
                    },
                )
                assert r.status_code == 201, r.text
                patrol = r.json()
                pid = patrol["id"]
                assert patrol["status"] == "planned" and patrol["version"] == 1
                assert patrol["sorties"], patrol
                assert {x["unit_id"] for x in patrol["routes"]} <= {"car-1", "foot-1"}
                geo = (await c.get(f"/v1/patrols/{pid}.geojson")).json()
                kinds = {f["properties"]["kind"] for f in geo["features"]}
                assert {"sortie", "hot_spot"} <= kinds
                sid = patrol["sorties"][0]["id"]
                qgc = (await c.get(f"/v1/patrols/{pid}/sorties/{sid}.plan")).json()
                assert qgc["fileType"] == "Plan" and qgc["mission"]["items"]
                r = await c.post(f"/v1/patrols/{pid}/start")
                assert r.status_code == 202, r.text

                async def acked() -> bool:
                    routes = (await patrol_state(rig, pid))["routes"]
                    return all(r["status"] == "acked" for r in routes)

                await wait_for(acked, timeout_s=10, interval_s=0.2)
                # foot-1 is pulled away to an incident: its remaining stops go to car-1.
                before = {r["unit_id"]: r for r in (await patrol_state(rig, pid))["routes"]}
                r = await c.post(
                    "/v1/units/foot-1/commands",
                    json={"kind": "dispatch", "payload": {"lon": lon, "lat": lat}},
                )
                assert r.status_code in (201, 202), r.text

                async def replanned() -> bool:
                    routes = {r["unit_id"]: r for r in (await patrol_state(rig, pid))["routes"]}
                    return bool(
                        routes["foot-1"]["status"] == "pulled"
                        and routes["car-1"]["command_id"] != before["car-1"]["command_id"]
                        and routes["car-1"]["status"] == "acked"
                    )

                await wait_for(replanned, timeout_s=15, interval_s=0.2)
            p = await wait_ended(rig, pid, 60)
            follower.cancel()
        assert p["status"] == "completed", p
        statuses = {s["status"] for s in p["sorties"]}
        assert statuses == {"completed"}, p["sorties"]
        # every drone landed again
        for did in ("drone-1", "drone-2"):
            await wait_for(
                lambda did=did: not rig.coordinator.require_drones().drones[did].in_air,
                timeout_s=20,
            )
        # ground units received and acked their routes
        # (both acked before foot-1 was pulled away, checked above)
        assert {r["status"] for r in p["routes"]} == {"acked", "pulled"}, p["routes"]
        for u in units:
            orders = [m for m in u.commands if m["kind"] == "patrol_route"]
            assert orders and all(m["payload"]["stops"] for m in orders)
        prog = p["progress"]
        assert prog["all_visited"], prog
        ground_seen = set()
        for h in prog["hot_spots"]:
            assert h["visits"] >= 1
            ground_seen |= set(h["units"]) & {"car-1", "foot-1"}
            print(
                h["name"],
                h["units"],
                "visits_s",
                h["visits_s"],
                "gaps",
                h["revisit_gaps_s"],
                "target",
                h["target_revisit_s"],
            )
        # car-1 drove its routes (the first and the re-planned one): seen at hot spots
        assert "car-1" in ground_seen, prog
        routes = {r["unit_id"]: r for r in p["routes"]}
        assert routes["foot-1"]["status"] == "pulled" and routes["car-1"]["status"] == "acked"
        car_orders = [m for m in units[0].commands if m["kind"] == "patrol_route"]
        assert len(car_orders) == 2
        left = {st["hot_spot_id"] for st in before["foot-1"]["stops"]}
        taken = {st["hot_spot_id"] for st in car_orders[1]["payload"]["stops"]}
        assert left <= taken, (left, taken)
    print("runtime", round(time.monotonic() - t0, 1))


async def test_a_drone_that_cannot_finish_its_sortie_with_the_reserve_is_not_launched_and_a_recharged_one_continues(  # noqa: E501
    settings: Settings,
) -> None:
    # A 10-minute battery (in the service's energy account) makes the planner give the
    # drone two sorties with a battery swap between them.
    settings = settings.model_copy(update={"drone_endurance_s": 600.0})
    async with drone_rig(settings, 1, time_scale=SCALE) as rig, rig.client() as c:
        lon, lat = home(rig)
        hot = await add_hotspots(
            rig,
            [("square", offset(lon, lat, 250, 150)), ("gate", offset(lon, lat, -200, 250))],
            revisit_s=400,
        )
        r = await c.post(
            "/v1/patrols",
            json={
                "hot_spot_ids": hot,
                "duration_s": 1000,
                "drones": ["drone-1"],
                "swap_s": 30,
                "clock_scale": SCALE,
                "time_limit_s": 2,
            },
        )
        assert r.status_code == 201, r.text
        patrol = r.json()
        assert [s["index"] for s in patrol["sorties"]] == [0, 1], patrol["sorties"]
        first, second = patrol["sorties"]
        rig.swarm.handle_control({"op": "drain_battery", "sysid": 1, "percent": 60})
        await wait_for(
            lambda: (
                (u := rig.coordinator.state.get("drone-1")) is not None
                and (u.battery_pct or 100) < 62
            ),
            timeout_s=10,
        )
        assert (await c.post(f"/v1/patrols/{patrol['id']}/start")).status_code == 202

        async def skipped() -> bool:
            s = (await patrol_state(rig, patrol["id"]))["sorties"][0]
            return bool(s["status"] == "skipped")

        await wait_for(skipped, timeout_s=20, interval_s=0.2)
        p = await patrol_state(rig, patrol["id"])
        why = p["sorties"][0]["reason"]
        assert "battery" in why and "not launched" in why, why
        assert p["sorties"][0]["mission_id"] is None
        assert not rig.coordinator.require_drones().drones["drone-1"].in_air
        assert rig.swarm.drone(1).vehicle.mission == []  # nothing was uploaded
        assert p["progress"]["sorties_missed"][0]["sortie_id"] == first["id"]
        # Battery swapped on the dock: the next sortie of the rotation flies.
        rig.swarm.handle_control({"op": "drain_battery", "sysid": 1, "percent": 100})
        p = await wait_ended(rig, patrol["id"], 60)
        assert p["status"] == "completed", p
        assert [(s["id"], s["status"]) for s in p["sorties"]] == [
            (first["id"], "skipped"),
            (second["id"], "completed"),
        ]
        missions = await rig.coordinator.store.list_missions(unit_id="drone-1")
        assert [m.correlation_id for m in missions] == [second["id"]]
        print("skipped:", why)
