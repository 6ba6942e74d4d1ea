"""`sim live`: the scenario's calls reach a real broker as valid alerts, in time order."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import aiomqtt

from fleet.mqtt.schemas import Alert
from fleet.mqtt.topics import Topics
from sim.scenario import City, build_world, deploy_baseline
from sim.scenario.live import ground_units, raise_alerts

from .conftest import small_config


async def test_calls_are_published_as_alerts_in_order(
    monaco: City, mqtt_url: str, topic_root: str
) -> None:
    world = build_world(monaco, small_config(hours=0.5))
    calls = world.incidents[:8]
    assert calls
    parts = urlsplit(mqtt_url)
    got: list[dict] = []
    async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as sub:
        await sub.subscribe(Topics(topic_root).alerts(), qos=1)

        async def collect() -> None:
            async for msg in sub.messages:
                assert isinstance(msg.payload, bytes)
                got.append(json.loads(msg.payload))
                if len(got) == len(calls):
                    return

        speed = calls[-1].t_s / 0.5  # the whole stretch in half a second
        async with asyncio.timeout(20):
            sent, _ = await asyncio.gather(
                raise_alerts(calls, mqtt_url=mqtt_url, root=topic_root, speed=speed), collect()
            )
    assert sent == len(calls)
    assert [g["external_ref"] for g in got] == [c.id for c in calls]
    for g, c in zip(got, calls, strict=True):
        alert = Alert.model_validate(g)
        assert (alert.category, alert.priority) == (c.category, c.priority)
        assert abs(alert.lon - c.lonlat[0]) < 1e-6 and abs(alert.lat - c.lonlat[1]) < 1e-6


def test_live_units_start_at_the_scenario_posts(monaco: City) -> None:
    world = build_world(monaco, small_config())
    dep = deploy_baseline(world)
    units = ground_units(world, dep)
    assert [u.unit_id for u in units] == [u.id for u in world.units]
    u0, spec0 = units[0], world.units[0]
    x, y = world.city.proj.to_xy([(u0.lon, u0.lat)])[0]
    px, py = dep.posts_xy[dep.first_post[spec0.id]]
    assert abs(x - px) < 0.5 and abs(y - py) < 0.5
    assert u0.kind == spec0.kind.value
