"""Patrol API edges: infeasible requests as problem+json, hot spots by hand and from incident
history, and a recurring schedule that creates and starts its patrol on time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from fleet.settings import Settings
from sim.units import GroundFleet, SimUnit, run_ground_fleet
from tests.fleet.drone_rig import drone_rig
from tests.helpers import wait_for

PROBLEM = "application/problem+json"


def offset(lon: float, lat: float, east_m: float, north_m: float) -> list[float]:
    return [
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    ]


def square(lon: float, lat: float, half_m: float) -> list[list[float]]:
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    return [offset(lon, lat, half_m * e, half_m * n) for e, n in corners]


def spot(name: str, where: list[float], **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": where},
        "properties": {"name": name, **props},
    }


async def test_infeasible_patrols_name_the_constraint_and_the_hot_spot(settings: Settings) -> None:
    async with drone_rig(settings, 1, companion=False) as rig, rig.client(rig.admin_token) as c:
        live = rig.coordinator.state.get("drone-1")
        assert live is not None and live.lon is not None and live.lat is not None
        lon, lat = live.lon, live.lat
        zone = offset(lon, lat, 400, 0)
        r = await c.post(
            "/v1/fences",
            json={
                "type": "Feature",
                "properties": {"name": "Parliament", "kind": "no_fly"},
                "geometry": {"type": "Polygon", "coordinates": [square(*zone, 80)]},
            },
        )
        assert r.status_code == 201, r.text
        inside = (await c.post("/v1/hotspots", json=spot("in the zone", zone))).json()["id"]
        far = (
            await c.post("/v1/hotspots", json=spot("far away", offset(lon, lat, 0, 15_000)))
        ).json()["id"]
        near = (
            await c.post("/v1/hotspots", json=spot("near", offset(lon, lat, -150, 100)))
        ).json()["id"]
        for hid, constraint in ((inside, "no_fly"), (far, "battery")):
            r = await c.post(
                "/v1/patrols",
                json={
                    "hot_spot_ids": [near, hid],
                    "duration_s": 1800,
                    "drones": ["drone-1"],
                    "time_limit_s": 1,
                },
            )
            assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
            problem = r.json()
            assert problem["type"].endswith("patrol-infeasible")
            assert problem["constraint"] == constraint and problem["hot_spot_id"] == hid, problem
        # "all active hot spots in the zone": a stored zone around `near` only
        r = await c.post(
            "/v1/fences",
            json={
                "type": "Feature",
                "properties": {"name": "old town", "kind": "patrol_zone"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [square(*offset(lon, lat, -150, 100), 100)],
                },
            },
        )
        r = await c.post(
            "/v1/patrols",
            json={
                "zone_id": r.json()["id"],
                "duration_s": 1800,
                "drones": ["drone-1"],
                "time_limit_s": 1,
            },
        )
        assert r.status_code == 201, r.text
        assert [h["id"] for h in r.json()["hot_spots"]] == [near]
        # an overwatch longer than one drone can hold is refused, naming the constraint
        r = await c.post(
            "/v1/operations/overwatch",
            json={
                "geometry": {"type": "Point", "coordinates": offset(lon, lat, 100, 100)},
                "duration_s": 4 * 3600,
                "drones": ["drone-1"],
            },
        )
        assert r.status_code == 422 and r.json()["constraint"] == "max_drones", r.text
        # allow_partial plans what fits and reports the rest
        r = await c.post(
            "/v1/patrols",
            json={
                "hot_spot_ids": [near, inside],
                "duration_s": 1800,
                "drones": ["drone-1"],
                "time_limit_s": 1,
                "allow_partial": True,
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["unreachable"] == [inside]
        # a planned patrol is re-planned into version 2; the old version stays readable
        pid = r.json()["id"]
        r = await c.post(f"/v1/patrols/{pid}/replan", json={"hot_spot_ids": [near]})
        assert r.status_code == 200 and r.json()["version"] == 2, r.text
        v1 = (await c.get(f"/v1/patrols/{pid}.geojson", params={"version": 1})).json()
        v2 = (await c.get(f"/v1/patrols/{pid}.geojson")).json()
        ids = lambda fc: {f["properties"].get("id") for f in fc["features"]} - {None}  # noqa: E731
        assert ids(v1) == {near, inside} and ids(v2) == {near}


async def test_hot_spots_by_hand_and_derived_from_incidents_at_this_hour(
    settings: Settings,
) -> None:
    async with drone_rig(settings, 1, companion=False) as rig, rig.client(rig.admin_token) as c:
        lon, lat = 24.9384, 60.1699
        polygon = {"type": "Polygon", "coordinates": [square(lon, lat, 40)]}
        r = await c.post(
            "/v1/hotspots",
            json={
                "type": "Feature",
                "geometry": polygon,
                "properties": {
                    "name": "station",
                    "weight": 3,
                    "revisit_s": 900,
                    "active_hours": [[17, 20]],
                },
            },
        )
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        assert (await c.get("/v1/hotspots", params={"hour": 18})).json()["count"] == 1
        assert (await c.get("/v1/hotspots", params={"hour": 9})).json()["count"] == 0
        r = await c.patch(f"/v1/hotspots/{hid}", json={"weight": 5, "active": False})
        assert r.json()["properties"]["weight"] == 5 and not r.json()["properties"]["active"]
        r = await c.post("/v1/hotspots", json=spot("bad", [200, 95]))
        assert r.status_code == 422 and r.json()["where"] == "geometry", r.text
        assert (await c.delete(f"/v1/hotspots/{hid}")).status_code == 204
        assert (await c.get(f"/v1/hotspots/{hid}")).status_code == 404

        # Incident history: 5 at the station, 3 at the mall, 1 lone one far away.
        for k, (e, n, count) in enumerate(((0, 0, 5), (900, 600, 3), (-2000, -2000, 1))):
            for j in range(count):
                r = await c.post(
                    "/v1/incidents",
                    json={
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": offset(lon, lat, e + 10 * j, n - 5 * j),
                        },
                        "properties": {"category": "theft", "description": f"{k}/{j}"},
                    },
                )
                assert r.status_code == 201, r.text
        hour = datetime.now(UTC).hour
        r = await c.post(
            "/v1/hotspots/derive",
            json={"from_hour": hour, "to_hour": hour + 1, "days": 1, "min_score": 2, "top": 5},
        )
        assert r.status_code == 201, r.text
        derived = r.json()["features"]
        assert len(derived) == 2, derived
        best, second = (f["properties"] for f in derived)
        assert best["weight"] == 1.0 and best["incidents"] == 5 and best["source"] == "derived"
        assert second["incidents"] == 3 and second["revisit_s"] > best["revisit_s"]
        assert best["active_hours"] == [[hour, hour + 1]]


async def test_a_schedule_whose_window_is_open_creates_and_starts_its_patrol(
    settings: Settings,
) -> None:
    async with drone_rig(settings, 1, companion=False) as rig, rig.client(rig.admin_token) as c:
        lon, lat = 24.9384, 60.1699
        hid = (
            await c.post("/v1/hotspots", json=spot("square", offset(lon, lat, 300, 200)))
        ).json()["id"]
        fleet = GroundFleet(
            mqtt_url=settings.mqtt_url or "",
            units=[SimUnit("car-9", "car", *offset(lon, lat, -100, 50))],
            root=settings.mqtt_root,
            interval_s=0.5,
        )
        await fleet.register(rig.base_url, rig.admin_token)
        async with run_ground_fleet(fleet):
            await wait_for(
                lambda: (u := rig.coordinator.state.get("car-9")) is not None and u.lon is not None,
                timeout_s=10,
            )
            now = datetime.now(UTC)
            r = await c.post(
                "/v1/patrol-schedules",
                json={
                    "name": "evening stations",
                    "days": [1, 2, 3, 4, 5, 6, 7],
                    "start_time": (now - timedelta(minutes=1)).strftime("%H:%M"),
                    "end_time": (now + timedelta(minutes=10)).strftime("%H:%M"),
                    "patrol": {"hot_spot_ids": [hid], "duration_s": 60, "ground_units": ["car-9"]},
                },
            )
            assert r.status_code == 201, r.text
            sid = r.json()["id"]

            async def started() -> str | None:
                s = (await c.get("/v1/patrol-schedules")).json()["data"][0]
                return s["last_patrol_id"]  # type: ignore[no-any-return]

            pid = await wait_for(started, timeout_s=15, interval_s=0.3)
            p = (await c.get(f"/v1/patrols/{pid}")).json()
            assert p["status"] == "running" and p["schedule_id"] == sid

            async def acked() -> bool:
                p = (await c.get(f"/v1/patrols/{pid}")).json()
                return bool(p["routes"] and p["routes"][0]["status"] == "acked")

            await wait_for(acked, timeout_s=15, interval_s=0.3)
            cmd = next(m for m in fleet.units[0].commands if m["kind"] == "patrol_route")
            assert cmd["payload"]["patrol_id"] == pid
            assert cmd["payload"]["stops"][0]["hot_spot_id"] == hid
            assert cmd["payload"]["route"]["geometry"]["type"] == "LineString"
            # Once a day: the next pass does not start a second patrol.
            r = await c.post(f"/v1/patrols/{pid}/stop")
            assert r.status_code == 200 and r.json()["status"] == "stopped"
            patrols = (await c.get("/v1/patrols")).json()["data"]
            assert [x["id"] for x in patrols if x["schedule_id"] == sid] == [pid]
