"""A service restart in the middle of a running patrol: it resumes from the stored sorties,
and no sortie is flown twice or lost. The simulated drone keeps flying while the service is
down, exactly as a real one would."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from fleet.domain import SYSTEM
from fleet.service import Coordinator
from fleet.settings import Settings
from fleet.types import Role
from sim.autopilot import SwarmConfig, run_swarm
from tests.helpers import free_tcp_port, free_udp_port, wait_for

SCALE = 30.0


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[str, Coordinator]]:
    """The service (HTTP + drone links) until the block ends, like a process that stops."""
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="test.uvicorn")
    try:
        await wait_for(lambda: server.started or task.done(), timeout_s=20)
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{settings.port}", app.state.coordinator
    finally:
        server.should_exit = True
        await task


def offset(lon: float, lat: float, east_m: float, north_m: float) -> list[float]:
    return [
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    ]


async def test_a_restart_mid_patrol_resumes_it_with_no_sortie_flown_twice_or_lost(
    settings: Settings,
) -> None:
    udp = free_udp_port()
    settings = settings.model_copy(
        update={
            "drone_connections": [f"udpin://127.0.0.1:{udp}"],
            "port": free_tcp_port(),
            # A 10-minute battery in the energy account: two sorties with a swap between.
            "drone_endurance_s": 600.0,
        }
    )
    cfg = SwarmConfig(count=1, connect=f"udp://127.0.0.1:{udp}", time_scale=SCALE)
    async with run_swarm(cfg) as swarm:
        async with serve(settings) as (url, c):
            await wait_for(
                lambda: (u := c.state.get("drone-1")) is not None and u.battery_pct is not None,
                timeout_s=20,
            )
            _, token = await c.store.create_token(SYSTEM, name="op", role=Role.OPERATOR)
            live = c.state.get("drone-1")
            assert live is not None and live.lon is not None and live.lat is not None
            http = httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            hot = []
            for name, (e, n) in (("square", (250, 150)), ("gate", (-200, 250))):
                r = await http.post(
                    "/v1/hotspots",
                    json={
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": offset(live.lon, live.lat, e, n),
                        },
                        "properties": {"name": name, "revisit_s": 400, "dwell_s": 30},
                    },
                )
                hot.append(r.json()["id"])
            r = await http.post(
                "/v1/patrols",
                json={
                    "hot_spot_ids": hot,
                    "duration_s": 1000,
                    "drones": ["drone-1"],
                    "swap_s": 30,
                    "clock_scale": SCALE,
                    "time_limit_s": 2,
                },
            )
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            sorties = [s["id"] for s in r.json()["sorties"]]
            assert len(sorties) == 2
            assert (await http.post(f"/v1/patrols/{pid}/start")).status_code == 202

            async def first_flying() -> bool:
                p = (await http.get(f"/v1/patrols/{pid}")).json()
                return bool(p["sorties"][0]["status"] == "flying")

            await wait_for(first_flying, timeout_s=20, interval_s=0.2)
            await wait_for(lambda: swarm.drone(1).vehicle.in_air, timeout_s=10)
            await http.aclose()
        # The service is down; the drone flies on with its mission.
        await asyncio.sleep(1.0)
        assert swarm.drone(1).vehicle.in_air
        async with serve(settings) as (url, c):
            http = httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            p = (await http.get(f"/v1/patrols/{pid}")).json()
            assert p["status"] == "running"
            assert p["sorties"][0]["status"] == "flying"

            async def first_done() -> bool:
                p = (await http.get(f"/v1/patrols/{pid}")).json()
                return bool(p["sorties"][0]["status"] == "completed")

            await wait_for(first_done, timeout_s=30, interval_s=0.2)
            # Battery swap on the dock before the second sortie.
            swarm.handle_control({"op": "drain_battery", "sysid": 1, "percent": 100})
            last: dict[str, Any] = {}

            async def ended() -> bool:
                last.update((await http.get(f"/v1/patrols/{pid}")).json())
                return bool(last["status"] != "running")

            await wait_for(ended, timeout_s=60, interval_s=0.5)
            await http.aclose()
            assert last["status"] == "completed", last
            assert [(s["id"], s["status"]) for s in last["sorties"]] == [
                (sorties[0], "completed"),
                (sorties[1], "completed"),
            ]
            # Each sortie flown exactly once: one mission per sortie, both completed.
            missions = await c.store.list_missions(unit_id="drone-1")
            assert sorted(m.correlation_id or "" for m in missions) == sorted(sorties)
            assert {m.status for m in missions} == {"completed"}
            uploads = [
                x
                for x in await c.store.list_commands(unit_id="drone-1")
                if x.kind == "upload_mission"
            ]
            assert len(uploads) == 2
            print("restart: progress", last["progress"]["hot_spots"])
