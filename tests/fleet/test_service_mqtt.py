"""The running service against a real broker: ingest, dead letters, duty, commands, outages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from fleet.domain import SYSTEM
from fleet.mqtt.client import BrokerAddress
from fleet.service import Coordinator, run
from fleet.settings import Settings
from fleet.types import CommandStatus, IncidentState, UnitKind
from tests.helpers import PrivateMosquitto, wait_for


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Coordinator]:
    async with run(settings) as coordinator:
        await wait_for(lambda: coordinator.bus.connected)
        yield coordinator


@pytest.fixture
async def client(mqtt_url: str) -> AsyncIterator[aiomqtt.Client]:
    addr = BrokerAddress.from_url(mqtt_url)
    async with aiomqtt.Client(addr.host, addr.port) as c:
        yield c


async def add_unit(c: Coordinator, unit_id: str, kind: UnitKind = UnitKind.CAR) -> None:
    await c.store.create_unit(SYSTEM, kind=kind, unit_id=unit_id)
    await c.register_unit_live(unit_id)


async def test_telemetry_reaches_the_live_state_and_the_position_history(
    service: Coordinator, client: aiomqtt.Client
) -> None:
    await add_unit(service, "car-1")
    msg = {"lon": 24.94, "lat": 60.17, "speed_mps": 8.5, "heading_deg": 90, "battery_pct": 77}
    await client.publish(service.topics.telemetry("car-1"), json.dumps(msg))
    live = await wait_for(lambda: service.state.get("car-1").lon and service.state.get("car-1"))
    assert (live.lon, live.lat, live.speed_mps, live.battery_pct) == (24.94, 60.17, 8.5, 77)
    assert live.online
    rows = await wait_for(lambda: service.store.positions("car-1"))
    assert rows[0].lon == 24.94


@pytest.mark.parametrize(
    ("unit", "payload", "reason"),
    [
        ("car-1", b"{not json", "payload-invalid"),
        ("car-1", json.dumps({"lon": "east", "lat": 60}).encode(), "payload-invalid"),
        ("car-1", json.dumps({"lon": 24.9}).encode(), "payload-invalid"),
        (
            "car-1",
            json.dumps({"lon": 24.9, "lat": 60, "schema_version": 7}).encode(),
            "unsupported-schema-version",
        ),
        ("car-1", b"x" * 1_000_000, "oversized"),
        ("stranger", json.dumps({"lon": 24.9, "lat": 60.1}).encode(), "unknown_unit"),
    ],
)
async def test_bad_messages_are_dead_lettered_counted_and_harmless(
    service: Coordinator, client: aiomqtt.Client, unit: str, payload: bytes, reason: str
) -> None:
    await add_unit(service, "car-1")
    await client.subscribe(service.topics.deadletter(), qos=1)
    await client.publish(service.topics.telemetry(unit), payload)
    async with asyncio.timeout(5):
        async for message in client.messages:
            letter = json.loads(message.payload)  # type: ignore[arg-type]
            break
    assert letter["reason"] == reason
    assert letter["topic"] == service.topics.telemetry(unit)
    assert letter["detail"]
    counted = service.metrics.dead_letters.labels(reason)._value.get()
    assert counted == 1
    # ... and the service still takes good telemetry afterwards.
    await client.publish(service.topics.telemetry("car-1"), json.dumps({"lon": 1, "lat": 2}))
    await wait_for(lambda: service.state.get("car-1").lon == 1)


async def test_duty_check_in_and_out_over_mqtt_are_recorded(
    service: Coordinator, client: aiomqtt.Client
) -> None:
    await add_unit(service, "team-1", UnitKind.TEAM)
    topic = service.topics.duty("team-1")
    await client.publish(topic, json.dumps({"action": "check_in", "team_size": 5}), qos=1)
    await wait_for(lambda: service.state.get("team-1").on_duty)
    assert service.state.get("team-1").team_size == 5
    assert (await service.store.open_duty_sessions())["team-1"].source == "mqtt"
    await client.publish(topic, json.dumps({"action": "check_out"}), qos=1)
    await wait_for(lambda: not service.state.get("team-1").on_duty)
    assert await service.store.open_duty_sessions() == {}


async def test_a_command_is_recorded_sent_and_acked(
    service: Coordinator, client: aiomqtt.Client
) -> None:
    await add_unit(service, "car-2")
    await client.subscribe(service.topics.commands("car-2"), qos=1)
    cmd = await service.outbox.submit(SYSTEM, "car-2", "goto", {"lon": 24.9, "lat": 60.1})
    assert (await service.store.get_command(cmd.id)).status is CommandStatus.PENDING
    async with asyncio.timeout(5):
        async for message in client.messages:
            received = json.loads(message.payload)  # type: ignore[arg-type]
            break
    assert received["command_id"] == cmd.id and received["payload"] == {"lon": 24.9, "lat": 60.1}
    ack = {"command_id": cmd.id, "status": "accepted"}
    await client.publish(service.topics.acks("car-2"), json.dumps(ack), qos=1)
    async with asyncio.timeout(5):
        done = await service.outbox.wait_outcome(cmd.id)
    assert done.status is CommandStatus.ACKED and done.sent_at and done.completed_at


async def test_an_unanswered_command_times_out_and_a_rejected_one_fails(
    service: Coordinator, client: aiomqtt.Client
) -> None:
    await add_unit(service, "car-3")
    silent = await service.outbox.submit(SYSTEM, "car-3", "goto", {}, timeout_s=0.5)
    rejected = await service.outbox.submit(SYSTEM, "car-3", "goto", {}, timeout_s=10)
    await wait_for(lambda: service.store.get_command(rejected.id), timeout_s=5)  # recorded
    await wait_for(lambda: rejected.id not in service.outbox._pending)
    nack = {"command_id": rejected.id, "status": "rejected", "reason": "off duty"}
    await client.publish(service.topics.acks("car-3"), json.dumps(nack), qos=1)
    async with asyncio.timeout(5):
        a = await service.outbox.wait_outcome(silent.id)
        b = await service.outbox.wait_outcome(rejected.id)
    assert a.status is CommandStatus.TIMED_OUT and "acknowledgement" in (a.error or "")
    assert b.status is CommandStatus.FAILED and b.error == "off duty"


async def test_an_alert_becomes_an_incident(service: Coordinator, client: aiomqtt.Client) -> None:
    alert = {
        "source": "camera",
        "category": "fight",
        "lon": 24.95,
        "lat": 60.16,
        "priority": 1,
        "external_ref": "cam-17/evt-9",
    }
    await client.publish(service.topics.alerts(), json.dumps(alert), qos=1)
    page = await wait_for(lambda: _incidents(service))
    assert page[0].source == "camera" and page[0].external_ref == "cam-17/evt-9"
    assert page[0].state is IncidentState.NEW and page[0].priority == 1


async def _incidents(c: Coordinator) -> list:  # type: ignore[type-arg]
    return (await c.store.list_incidents())[0]


async def test_broker_restart_reconnects_and_loses_no_command(
    settings: Settings, private_mosquitto: PrivateMosquitto
) -> None:
    settings = settings.model_copy(update={"mqtt_url": private_mosquitto.url})
    async with run(settings) as service:
        await wait_for(lambda: service.bus.connected)
        await add_unit(service, "car-4")
        private_mosquitto.stop()
        await wait_for(lambda: not service.bus.connected)
        checks = await service.readiness()
        assert checks["mqtt"]["ok"] is False and checks["database"]["ok"] is True
        # Commands issued during the outage are kept, not lost.
        cmd = await service.outbox.submit(SYSTEM, "car-4", "patrol", {"route": 1})
        await asyncio.sleep(0.5)
        assert (await service.store.get_command(cmd.id)).status is CommandStatus.PENDING
        private_mosquitto.start()
        await wait_for(lambda: service.bus.connected, timeout_s=15)
        assert (await service.readiness())["mqtt"]["ok"] is True
        sent = await wait_for(lambda: _status_is(service, cmd.id, CommandStatus.SENT), timeout_s=10)
        assert sent.attempts == 1
        assert service.bus.connects == 2


async def _status_is(c: Coordinator, command_id: str, status: CommandStatus):  # type: ignore[no-untyped-def]
    cmd = await c.store.get_command(command_id)
    return cmd if cmd.status is status else None


async def test_a_command_recorded_before_a_crash_is_sent_after_the_restart(
    settings: Settings, client: aiomqtt.Client
) -> None:
    # The first run cannot reach any broker: the command is recorded, never published,
    # exactly as if the process had died between recording and sending.
    unreachable = settings.model_copy(update={"mqtt_url": "mqtt://127.0.0.1:1"})
    async with run(unreachable) as first:
        await add_unit(first, "car-5")
        cmd = await first.outbox.submit(SYSTEM, "car-5", "patrol", {"leg": 3})
    await client.subscribe(first.topics.commands("car-5"), qos=1)
    async with run(settings) as second:
        async with asyncio.timeout(5):
            async for message in client.messages:
                assert json.loads(message.payload)["command_id"] == cmd.id  # type: ignore[arg-type]
                break
        sent = await wait_for(lambda: _status_is(second, cmd.id, CommandStatus.SENT))
        assert sent.attempts == 1


async def test_leaving_the_patrol_zone_and_nearing_a_no_fly_zone_raise_one_event_each(
    service: Coordinator, client: aiomqtt.Client
) -> None:
    from fleet.types import FenceKind

    square = {
        "type": "Polygon",
        "coordinates": [
            [[24.90, 60.10], [24.95, 60.10], [24.95, 60.15], [24.90, 60.15], [24.90, 60.10]]
        ],
    }
    zone = await service.store.create_fence(
        SYSTEM, name="Kallio", kind=FenceKind.PATROL_ZONE, geometry=square
    )
    nofly = {
        "type": "Polygon",
        "coordinates": [
            [[25.00, 60.10], [25.01, 60.10], [25.01, 60.11], [25.00, 60.11], [25.00, 60.10]]
        ],
    }
    await service.store.create_fence(
        SYSTEM, name="Parliament", kind=FenceKind.NO_FLY, geometry=nofly
    )
    await service.store.create_unit(SYSTEM, kind=UnitKind.FOOT, unit_id="f-1", home_zone_id=zone.id)
    await service.register_unit_live("f-1")
    await add_unit(service, "d-1", UnitKind.DRONE)
    seen: list[tuple[str, str]] = []
    service.events.add_listener(
        lambda e: (
            seen.append((e.type, e.data.get("unit_id", "")))
            if e.type in {"unit.left_zone", "unit.back_in_zone", "drone.near_no_fly"}
            else None
        )
    )
    for lon in (24.92, 24.96, 24.97, 24.93):  # in, out, still out, back in
        await client.publish(
            service.topics.telemetry("f-1"), json.dumps({"lon": lon, "lat": 60.12})
        )
        await client.publish(
            service.topics.telemetry("d-1"),
            json.dumps({"lon": 24.9995 if lon == 24.96 else 24.98, "lat": 60.105}),
        )
        await asyncio.sleep(1.2)
    await wait_for(lambda: ("unit.back_in_zone", "f-1") in seen, timeout_s=5)
    assert [s for s in seen if s[1] == "f-1"] == [
        ("unit.left_zone", "f-1"),
        ("unit.back_in_zone", "f-1"),
    ]
    assert seen.count(("drone.near_no_fly", "d-1")) == 1
    entries, _ = await service.store.list_audit(action="unit.left_zone")
    assert entries and entries[0].target_id == "f-1"
