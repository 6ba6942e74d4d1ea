"""Patrol operations through the service over the real protocols: simulated MAVLink drones,
simulated ground units over MQTT, PostgreSQL-free SQLite store, HTTP API."""

from __future__ import annotations

import math
import time
from typing import Any

from fleet.settings import Settings
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
            mqtt_url=settings.mqtt_url or "", units=units, root=settings.mqtt_root, interval_s=0.5
        )
        await fleet.register(rig.base_url, rig.admin_token)
        async with run_ground_fleet(fleet):
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
            p = await wait_ended(rig, pid, 60)
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
        assert p["routes"] and all(r["status"] == "acked" for r in p["routes"]), p["routes"]
        for u in units:
            routes = [m for m in u.commands if m["kind"] == "patrol_route"]
            if any(r["unit_id"] == u.unit_id for r in p["routes"]):
                assert len(routes) == 1 and routes[0]["payload"]["stops"]
        prog = p["progress"]
        assert prog["all_visited"], prog
        for h in prog["hot_spots"]:
            assert h["visits"] >= 1
            print(
                h["name"],
                "visits_s",
                h["visits_s"],
                "gaps",
                h["revisit_gaps_s"],
                "target",
                h["target_revisit_s"],
            )
    print("runtime", round(time.monotonic() - t0, 1))
