"""The HTTP API over real HTTP: auth and roles, problem+json, resources, audit, stream."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import websockets

from fleet.mqtt.client import BrokerAddress
from fleet.types import Role
from tests.helpers import wait_for
from tests.live_api import LiveApi

PROBLEM = "application/problem+json"


def feature(lon: float = 24.94, lat: float = 60.17, **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": "theft", **props},
    }


SQUARE = [[[24.9, 60.1], [24.95, 60.1], [24.95, 60.2], [24.9, 60.2], [24.9, 60.1]]]


async def test_health_is_open_and_readiness_checks_dependencies(live_api: LiveApi) -> None:
    async with live_api.client() as c:
        assert (await c.get("/healthz")).status_code == 200
        ready = await c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": {"ok": True}, "mqtt": {"ok": True}}
        metrics = await c.get("/metrics")
        assert "patrolfleet_units_online" in metrics.text


async def test_no_token_is_401_and_a_viewer_cannot_write(live_api: LiveApi) -> None:
    async with live_api.client() as anon:
        r = await anon.get("/v1/units")
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in r.json()["detail"]
    async with live_api.client() as bad:
        r = await bad.get("/v1/units", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
    async with live_api.client(Role.VIEWER) as viewer:
        assert (await viewer.get("/v1/units")).status_code == 200
        r = await viewer.post("/v1/incidents", json=feature())
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
        assert r.json()["required_role"] == "dispatcher"
    async with live_api.client(Role.DISPATCHER) as dispatcher:
        assert (await dispatcher.get("/v1/audit")).status_code == 403


async def test_each_write_is_audited_with_who_did_it(live_api: LiveApi) -> None:
    async with live_api.client(Role.DISPATCHER) as d:
        assert (await d.post("/v1/units", json={"id": "car-1", "kind": "car"})).status_code == 201
        inc = (await d.post("/v1/incidents", json=feature())).json()
        r = await d.post(f"/v1/incidents/{inc['id']}/state", json={"state": "dispatched"})
        assert r.status_code == 200
        fence = {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": SQUARE},
            "properties": {"name": "Harbour", "kind": "no_fly"},
        }
        assert (await d.post("/v1/fences", json=fence)).status_code == 201
    async with live_api.client(Role.ADMIN) as admin:
        log = (await admin.get("/v1/audit", params={"actor": "test-dispatcher"})).json()
    actions = [e["action"] for e in log["data"]]
    assert sorted(actions) == sorted(
        ["unit.create", "incident.create", "incident.transition", "fence.create"]
    )
    assert all(e["role"] == "dispatcher" for e in log["data"])


async def test_incident_round_trip_in_geojson_lon_lat_order(live_api: LiveApi) -> None:
    async with live_api.client(Role.DISPATCHER) as d:
        r = await d.post(
            "/v1/incidents", json=feature(24.9384, 60.1699, priority=1, description="bag snatched")
        )
        assert r.status_code == 201
        inc = r.json()
        assert inc["geometry"]["coordinates"] == [24.9384, 60.1699]
        assert inc["properties"]["state"] == "new" and inc["properties"]["priority"] == 1
        got = (await d.get(f"/v1/incidents/{inc['id']}")).json()
        assert got == inc
        listed = (await d.get("/v1/incidents", params={"state": "new"})).json()
        assert listed["type"] == "FeatureCollection" and listed["count"] == 1
        closed = await d.post(f"/v1/incidents/{inc['id']}/state", json={"state": "resolved"})
        assert [t["to"] for t in closed.json()["properties"]["transitions"]] == ["new", "resolved"]
        again = await d.post(f"/v1/incidents/{inc['id']}/state", json={"state": "dispatched"})
        assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
        assert "resolved" in again.json()["detail"]


async def test_invalid_geojson_and_unknown_fields_are_422_naming_the_field(
    live_api: LiveApi,
) -> None:
    cases = [
        (feature(props_typo=1), "properties.props_typo"),
        (
            {**feature(), "geometry": {"type": "Point", "coordinates": [24.9]}},
            "geometry.coordinates",
        ),
        (feature(lon=200), "geometry.coordinates"),
        ({**feature(), "geometry": {"type": "Polygon", "coordinates": SQUARE}}, "geometry"),
        ({**feature(), "extra": True}, "extra"),
        (feature(priority=9), "properties.priority"),
    ]
    async with live_api.client(Role.DISPATCHER) as d:
        for body, field in cases:
            r = await d.post("/v1/incidents", json=body)
            assert r.status_code == 422, body
            assert r.headers["content-type"] == PROBLEM
            problem = r.json()
            assert problem["status"] == 422 and problem["field"].startswith(field), problem
            assert field in problem["detail"]
        r = await d.post(
            "/v1/incidents", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        bowtie = [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]
        r = await d.post(
            "/v1/fences",
            json={
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": bowtie},
                "properties": {"name": "x", "kind": "no_fly"},
            },
        )
        assert r.status_code == 422 and "Self-intersection" in r.json()["detail"]
        r = await d.get("/v1/incidents/inc-missing")
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


async def test_telemetry_shows_in_the_unit_within_a_second(live_api: LiveApi) -> None:
    async with live_api.client(Role.DISPATCHER) as d:
        await d.post("/v1/units", json={"id": "moto-1", "kind": "motorbike"})
        addr = BrokerAddress.from_url(live_api.coordinator.settings.mqtt_url or "")
        async with aiomqtt.Client(addr.host, addr.port) as mqtt:
            await mqtt.publish(
                live_api.coordinator.topics.telemetry("moto-1"),
                json.dumps({"lon": 24.95, "lat": 60.16, "speed_mps": 12}),
            )
        async with asyncio.timeout(1.0):
            while True:
                live = (await d.get("/v1/units/moto-1")).json()["live"]
                if live["lon"] is not None:
                    break
                await asyncio.sleep(0.02)
        assert (live["lon"], live["lat"], live["online"]) == (24.95, 60.16, True)


async def test_duty_check_in_and_out_by_api(live_api: LiveApi) -> None:
    async with live_api.client(Role.DISPATCHER) as d:
        await d.post("/v1/units", json={"id": "team-3", "kind": "team", "team_size": 4})
        r = await d.post("/v1/units/team-3/duty", json={"team_size": 6})
        assert r.status_code == 201 and r.json()["team_size"] == 6
        on = (await d.get("/v1/units", params={"on_duty": True})).json()
        assert [u["id"] for u in on["data"]] == ["team-3"]
        assert (await d.delete("/v1/units/team-3/duty")).status_code == 200
        assert (await d.delete("/v1/units/team-3/duty")).status_code == 404


async def test_stream_sends_a_snapshot_then_incident_and_duty_events(live_api: LiveApi) -> None:
    ws_url = live_api.base_url.replace("http", "ws") + "/v1/stream"
    async with live_api.client(Role.DISPATCHER) as d:
        await d.post("/v1/units", json={"id": "car-9", "kind": "car"})
        with_token = f"{ws_url}?token={live_api.tokens[Role.VIEWER]}"
        async with websockets.connect(with_token) as ws:
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot"
            assert [u["id"] for u in snapshot["data"]["units"]] == ["car-9"]
            await d.post("/v1/incidents", json=feature())
            await d.post("/v1/units/car-9/duty")
            seen: list[str] = []
            async with asyncio.timeout(5):
                while not {"incident.created", "duty.check_in"} <= set(seen):
                    frame = json.loads(await ws.recv())
                    seen += [e["type"] for e in frame["events"]]
    try:
        async with websockets.connect(ws_url) as ws:
            await ws.recv()
        raise AssertionError("a stream without a token must be refused")
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 4401
        assert "bearer token" in closed.rcvd.reason


async def test_commands_by_api_are_recorded_and_their_outcome_readable(live_api: LiveApi) -> None:
    async with live_api.client(Role.DISPATCHER) as d:
        await d.post("/v1/units", json={"id": "car-7", "kind": "car"})
        r = await d.post(
            "/v1/units/car-7/commands",
            json={"kind": "message", "timeout_s": 0.3, "payload": {"text": "to gate B"}},
        )
        assert r.status_code == 202 and r.json()["status"] == "pending"
        cid = r.json()["id"]
        done = await wait_for(lambda: _terminal(d, cid), timeout_s=5, interval_s=0.1)
        assert done["status"] == "timed_out" and done["sent_at"]
        r = await d.post("/v1/units/ghost/commands", json={"kind": "message"})
        assert r.status_code == 404


async def _terminal(client, cid):  # type: ignore[no-untyped-def]
    body = (await client.get(f"/v1/commands/{cid}")).json()
    return body if body["status"] in {"acked", "failed", "timed_out"} else None
