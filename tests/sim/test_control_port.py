"""The swarm's JSON-over-UDP control port and the `patrolfleet sim drones` command."""

from __future__ import annotations

import asyncio
import sys

from sim.autopilot import ControlClient, SwarmConfig, run_swarm
from tests import helpers


async def test_control_port_reports_status_and_injects_faults(udp_port: int) -> None:
    control = helpers.free_udp_port()
    cfg = SwarmConfig(count=3, connect=f"udp://127.0.0.1:{udp_port}", control_port=control)
    async with run_swarm(cfg) as swarm:
        client = ControlClient("127.0.0.1", control)
        everything = await client.request({"op": "status"})
        assert [d["sysid"] for d in everything["drones"]] == [1, 2, 3]
        assert await client.request({"op": "drop_link", "sysid": 2}) == {"ok": True}
        assert swarm.drone(2).endpoint.link_up is False
        assert await client.request({"op": "drain_battery", "sysid": "all", "percent": 12})
        assert all(d.vehicle.battery == 0.12 for d in swarm.drones.values())
        await client.request({"op": "lose_gps", "sysid": 3})
        status = await client.request({"op": "status", "sysid": 3})
        assert status["drone"]["gps_ok"] is False and status["drone"]["battery_pct"] == 12.0
        refused = await client.request({"op": "fence_breach", "sysid": 1})
        assert refused == {"ok": False, "error": "drone 1 holds no fence"}
        assert (await client.request({"op": "warp"}))["ok"] is False
        assert (await client.request({"op": "status", "sysid": 9}))["ok"] is False


async def test_sim_drones_command_runs_autopilots_with_a_control_port(udp_port: int) -> None:
    control = helpers.free_udp_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from fleet.cli import main; main()", "sim", "drones",
        "--count", "2", "--base-sysid", "7", "--connect", f"udp://127.0.0.1:{udp_port}",
        "--control-port", str(control), "--duration-s", "20",
    )  # fmt: skip
    try:
        client = ControlClient("127.0.0.1", control)
        async with asyncio.timeout(15):
            while True:
                try:
                    reply = await client.request({"op": "status"}, timeout_s=0.5)
                    break
                except (TimeoutError, ConnectionRefusedError):
                    await asyncio.sleep(0.2)
        assert [d["sysid"] for d in reply["drones"]] == [7, 8]
    finally:
        proc.terminate()
        await proc.wait()
