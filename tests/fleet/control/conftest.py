"""Fixtures for the drone links: a real MAVSDK ground station and simulated autopilots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from fleet.control import DroneEvent, DroneLinks, LinksConfig, Telemetry, open_drone_links
from sim.autopilot import Swarm, SwarmConfig, run_swarm
from tests.helpers import free_udp_port


@dataclass
class Recorder:
    """Every event the links report, with a waiter for a condition on them."""

    events: list[DroneEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: DroneEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type, sysid: int | None = None) -> list:
        return [
            e for e in self.events if isinstance(e, kind) and (sysid is None or e.sysid == sysid)
        ]

    def modes_since(self, index: int, sysid: int) -> set[str]:
        """Flight modes in the snapshots after ``events[index]``: transient modes count too."""
        return {
            e.flight_mode
            for e in self.events[index:]
            if isinstance(e, Telemetry) and e.sysid == sysid
        }

    def latest(self, sysid: int) -> Telemetry | None:
        tel = self.of(Telemetry, sysid)
        return tel[-1] if tel else None

    async def wait_for(self, pred: Callable[[], object], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not pred():
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Rig:
    links: DroneLinks
    swarm: Swarm
    rec: Recorder
    port: int


@asynccontextmanager
async def _open_rig(count: int, time_scale: float = 20.0, **links_kw: Any) -> AsyncIterator[Rig]:
    # 20x, not more: flight modes reach the links with the 1 Hz HEARTBEAT, so a return
    # that lasts under a second of wall time could slip between two heartbeats.
    port = free_udp_port()
    config = LinksConfig(connections=(f"udpin://127.0.0.1:{port}",), **links_kw)
    async with open_drone_links(config) as links:
        rec = Recorder()
        links.add_listener(rec)
        cfg = SwarmConfig(count=count, connect=f"udp://127.0.0.1:{port}", time_scale=time_scale)
        async with run_swarm(cfg) as swarm:
            await asyncio.wait_for(links.wait_discovered(set(range(1, count + 1))), timeout=10)
            yield Rig(links, swarm, rec, port)


@pytest.fixture
def open_rig() -> Callable[..., AbstractAsyncContextManager[Rig]]:
    """Opens DroneLinks on a free UDP port with N simulated drones (20x physics) talking to it."""
    return _open_rig


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    """Two simulated drones at 20x physics, discovered by the links."""
    async with _open_rig(2) as r:
        yield r
