"""A live service with its drone links on a free UDP port, simulated autopilots talking to it
over real MAVLink, and a simulated payload companion on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from api.app import create_app
from fleet.domain import SYSTEM
from fleet.service import Coordinator
from fleet.settings import Settings
from fleet.types import Role
from sim.autopilot import Swarm, SwarmConfig, run_swarm
from sim.payload import PayloadCompanion, run_companion
from tests.helpers import free_tcp_port, free_udp_port, wait_for


@dataclass
class DroneRig:
    base_url: str
    coordinator: Coordinator
    swarm: Swarm
    companion: PayloadCompanion
    operator_token: str
    admin_token: str

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token or self.operator_token}"},
            timeout=30,
        )


@asynccontextmanager
async def drone_rig(
    settings: Settings, count: int, *, time_scale: float = 30.0, companion: bool = True
) -> AsyncIterator[DroneRig]:
    udp = free_udp_port()
    port = free_tcp_port()
    settings = settings.model_copy(
        update={"drone_connections": [f"udpin://127.0.0.1:{udp}"], "port": port}
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="test.uvicorn")
    try:
        await wait_for(lambda: server.started or task.done(), timeout_s=20)
        if task.done():
            task.result()
        c: Coordinator = app.state.coordinator
        _, operator = await c.store.create_token(SYSTEM, name="test-operator", role=Role.OPERATOR)
        _, admin = await c.store.create_token(SYSTEM, name="test-admin", role=Role.ADMIN)
        cfg = SwarmConfig(count=count, connect=f"udp://127.0.0.1:{udp}", time_scale=time_scale)
        comp = PayloadCompanion(
            mqtt_url=settings.mqtt_url or "", root=settings.mqtt_root, seconds_per_word=0.01
        )
        async with run_swarm(cfg) as swarm:
            drones = c.require_drones()
            await wait_for(
                lambda: all(
                    (u := c.state.get(f"drone-{i}")) is not None and u.battery_pct is not None
                    for i in range(1, count + 1)
                ),
                timeout_s=20,
            )
            assert len(drones.drones) == count
            if companion:
                async with run_companion(comp):
                    yield DroneRig(f"http://127.0.0.1:{port}", c, swarm, comp, operator, admin)
            else:
                yield DroneRig(f"http://127.0.0.1:{port}", c, swarm, comp, operator, admin)
    finally:
        server.should_exit = True
        await task
