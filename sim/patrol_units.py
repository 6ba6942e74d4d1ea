"""Simulated ground units that drive the patrol routes they are sent.

`follow_patrol_routes` runs beside a `sim.units.GroundFleet`: every unit that received a
``patrol_route`` command (and acknowledged it, which the fleet does) heads for the route's
stops in order, stays at each until its ``depart_at`` time, and is free after the last one.
It only reads the commands the unit got over MQTT and moves the unit, whose position the
fleet keeps reporting as telemetry: the service sees nothing but the real protocol.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

from sim.units import GroundFleet, SimUnit

__all__ = ["follow_patrol_routes"]

_ARRIVED_M = 5.0


def _latest_route(unit: SimUnit) -> dict[str, Any] | None:
    """The route the unit follows now: none once a dispatch came after it (the unit drives
    to the incident, as `GroundFleet` makes it, and leaves the patrol)."""
    for m in reversed(unit.commands):
        if m.get("kind") == "dispatch":
            return None
        if m.get("kind") == "patrol_route":
            return dict(m)
    return None


def _at(unit: SimUnit, lon: float, lat: float) -> bool:
    de = (lon - unit.lon) * 111_320 * math.cos(math.radians(unit.lat))
    dn = (lat - unit.lat) * 111_320
    return bool(math.hypot(de, dn) <= _ARRIVED_M)


async def follow_patrol_routes(fleet: GroundFleet, *, interval_s: float = 0.1) -> None:
    """Move every unit along its latest patrol route until cancelled."""
    progress: dict[str, tuple[str, int]] = {}  # unit -> (command id, next stop index)
    while True:
        await asyncio.sleep(interval_s)
        now = datetime.now(UTC)
        for unit in fleet.units:
            cmd = _latest_route(unit)
            if cmd is None:
                continue
            stops = (cmd.get("payload") or {}).get("stops") or []
            cid, k = progress.get(unit.unit_id, (cmd["command_id"], 0))
            if cid != cmd["command_id"]:  # a new route replaces the old one
                cid, k = cmd["command_id"], 0
            if k >= len(stops):
                unit.target = None
                progress[unit.unit_id] = (cid, k)
                continue
            stop = stops[k]
            unit.target = (float(stop["lon"]), float(stop["lat"]))
            if _at(unit, *unit.target) and now >= datetime.fromisoformat(stop["depart_at"]):
                k += 1
            progress[unit.unit_id] = (cid, k)
