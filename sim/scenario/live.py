"""Drive a running service with a scenario, in (scaled) real time, over the real protocols.

The same world as `patrolfleet sim scenario` (same seed, same calls), but nothing is
simulated on the service's side: each call is published as an MQTT alert on
``<root>/v1/alerts`` at its time divided by ``speed``, and the ground units run as
`sim.units.GroundFleet` (registered over HTTP, on duty, reporting and acknowledging over
MQTT) starting at the scenario's standby posts. Drones are not started here: run
``patrolfleet sim drones`` beside it (MAVLink), as for any other test of the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiomqtt

from fleet.mqtt.topics import Topics
from sim.scenario.demand import Incident
from sim.scenario.world import Deployment, World
from sim.units import GroundFleet, SimUnit, run_ground_fleet

__all__ = ["alert_payload", "ground_units", "raise_alerts", "run_live"]

log = logging.getLogger(__name__)


def alert_payload(inc: Incident) -> dict[str, object]:
    """The MQTT alert of a call (README: ``patrolfleet/v1/alerts``)."""
    return {
        "schema_version": 1,
        "source": "call_centre",
        "category": inc.category,
        "lon": round(inc.lonlat[0], 7),
        "lat": round(inc.lonlat[1], 7),
        "priority": inc.priority,
        "description": f"scenario call {inc.id} ({inc.source})",
        "external_ref": inc.id,
    }


def ground_units(world: World, dep: Deployment) -> list[SimUnit]:
    """The scenario's ground units at their first posts, as MQTT-speaking simulated units."""
    out = []
    for u in world.units:
        lon, lat = world.city.proj.to_lonlat([dep.posts_xy[dep.first_post[u.id]]])[0]
        out.append(SimUnit(u.id, u.kind.value, float(lon), float(lat)))
    return out


async def raise_alerts(
    incidents: Sequence[Incident], *, mqtt_url: str, root: str, speed: float
) -> int:
    """Publish each call as an alert at ``t_s / speed`` seconds from now; returns the count.

    Raises
    ------
    ValueError
        If ``speed`` is not positive.
    """
    if not speed > 0:
        raise ValueError("speed must be > 0")
    parts = urlsplit(mqtt_url)
    topic = Topics(root).alerts()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
        for inc in incidents:
            wait = t0 + inc.t_s / speed - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await client.publish(topic, json.dumps(alert_payload(inc)), qos=1)
            log.info("sim.live.alert id=%s category=%s", inc.id, inc.category)
    return len(incidents)


async def run_live(
    world: World,
    dep: Deployment,
    *,
    mqtt_url: str,
    root: str,
    base_url: str,
    token: str,
    speed: float,
) -> int:
    """Register and run the ground units, then raise every call; returns the alerts sent."""
    fleet = GroundFleet(
        mqtt_url=mqtt_url, units=ground_units(world, dep), root=root, time_scale=speed
    )
    await fleet.register(base_url, token)
    async with run_ground_fleet(fleet):
        return await raise_alerts(world.incidents, mqtt_url=mqtt_url, root=root, speed=speed)
