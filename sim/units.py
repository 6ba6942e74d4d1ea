"""Simulated ground units and minimal teams: they register over HTTP, check in and report over
MQTT, acknowledge commands, and drive (or walk) to the incident they are sent to.

One MQTT connection carries all of them, as a radio gateway would; each unit still has its own
topics and its own behaviour (speed by kind, whether and how fast it answers).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import httpx

from fleet.mqtt.topics import TopicKind, Topics
from sim._background import in_background

# Moving speeds (m/s) of the simulated units, by kind.
SPEED_MPS = {"car": 10.0, "motorbike": 11.0, "bicycle": 5.0, "foot": 1.6, "team": 1.5, "boat": 8.0}


@dataclass
class SimUnit:
    unit_id: str
    kind: str
    lon: float
    lat: float
    answers: bool = True  # False: a unit that never acknowledges (radio off, busy)
    team_size: int = 1
    target: tuple[float, float] | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)

    def step(self, dt_s: float) -> None:
        if self.target is None:
            return
        tlon, tlat = self.target
        de = (tlon - self.lon) * 111_320 * math.cos(math.radians(self.lat))
        dn = (tlat - self.lat) * 111_320
        dist = math.hypot(de, dn)
        move = SPEED_MPS.get(self.kind, 1.5) * dt_s
        if dist <= move:
            self.lon, self.lat = tlon, tlat
            return
        self.lon += de / dist * move / (111_320 * math.cos(math.radians(self.lat)))
        self.lat += dn / dist * move / 111_320


@dataclass
class GroundFleet:
    mqtt_url: str
    units: Sequence[SimUnit]
    root: str = "patrolfleet"
    interval_s: float = 1.0
    time_scale: float = 1.0
    ack_delay_s: float = 0.1

    def __post_init__(self) -> None:
        self.by_id = {u.unit_id: u for u in self.units}
        self.topics = Topics(self.root)

    async def register(self, base_url: str, token: str) -> None:
        """Create the units through the service's HTTP API (409 for known ones is fine)."""
        async with httpx.AsyncClient(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            for u in self.units:
                r = await http.post(
                    "/v1/units", json={"id": u.unit_id, "kind": u.kind, "team_size": u.team_size}
                )
                if r.status_code not in (201, 409):
                    r.raise_for_status()

    async def _publish_positions(self, client: aiomqtt.Client) -> None:
        for u in self.units:
            body = {
                "lon": round(u.lon, 7),
                "lat": round(u.lat, 7),
                "status": "busy" if u.target else "available",
                "ts": time.time(),
            }
            await client.publish(self.topics.telemetry(u.unit_id), json.dumps(body))

    async def _answer(self, client: aiomqtt.Client, unit: SimUnit, message: dict[str, Any]) -> None:
        unit.commands.append(message)
        if not unit.answers:
            return
        await asyncio.sleep(self.ack_delay_s)
        await client.publish(
            self.topics.acks(unit.unit_id),
            json.dumps({"command_id": message["command_id"], "status": "accepted"}),
            qos=1,
        )
        payload = message.get("payload") or {}
        if message.get("kind") == "dispatch" and "lon" in payload:
            unit.target = (float(payload["lon"]), float(payload["lat"]))
        elif message.get("kind") == "release":
            unit.target = None

    async def run(self, started: asyncio.Event | None = None) -> None:
        parts = urlsplit(self.mqtt_url)
        async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
            await client.subscribe(f"{self.root}/v1/units/+/commands", qos=1)
            for u in self.units:
                await client.publish(
                    self.topics.duty(u.unit_id),
                    json.dumps({"action": "check_in", "team_size": u.team_size}),
                    qos=1,
                )
            await self._publish_positions(client)
            if started is not None:
                started.set()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._move(client), name="sim.units.move")
                async for message in client.messages:
                    parsed = self.topics.parse(message.topic.value)
                    if parsed is None or parsed.kind is not TopicKind.COMMANDS:
                        continue
                    unit = self.by_id.get(parsed.unit_id or "")
                    if unit is None or not isinstance(message.payload, bytes):
                        continue
                    tg.create_task(
                        self._answer(client, unit, json.loads(message.payload)),
                        name=f"sim[{unit.unit_id}].ack",
                    )

    async def _move(self, client: aiomqtt.Client) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            for u in self.units:
                u.step(self.interval_s * self.time_scale)
            await self._publish_positions(client)


@asynccontextmanager
async def run_ground_fleet(fleet: GroundFleet) -> AsyncIterator[GroundFleet]:
    """Run the fleet in the background until the block ends; it is on duty on entry."""
    async with in_background(fleet.run, name="sim.units"):
        yield fleet


def scatter(
    n: int,
    lon: float,
    lat: float,
    radius_m: float,
    *,
    seed: int = 0,
    kinds: Sequence[str] = ("car", "foot", "bicycle", "motorbike", "team"),
    prefix: str = "unit",
) -> list[SimUnit]:
    """`n` units placed uniformly in a disc, kinds in rotation (deterministic for a seed)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = radius_m * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        out.append(
            SimUnit(
                unit_id=f"{prefix}-{i:04d}",
                kind=kinds[i % len(kinds)],
                lon=lon + r * math.cos(a) / (111_320 * math.cos(math.radians(lat))),
                lat=lat + r * math.sin(a) / 111_320,
            )
        )
    return out
