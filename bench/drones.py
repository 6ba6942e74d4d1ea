"""Benchmark: N simulated autopilots in a separate process, flown through DroneLinks in this one.

``patrolfleet bench drones --count 50 --seconds 60 --json`` prints one JSON object:

- ``telemetry_hz_min``: the slowest drone's rate of telemetry snapshots seen by the links
  listener over the measurement window (the sim streams position at 5 Hz, the links cap
  snapshots at 5 Hz);
- ``cmd_ack_p99_ms``: 99th percentile of command round trips (links call -> final ack ->
  outcome), over mission uploads, mission starts and spotlight toggles sent throughout;
- ``missions_completed``: drones that flew their whole mission (every item reached) and
  landed back at the dock (disarmed) within the window.

The sim runs with ``--time-scale`` (default 4) so a 600 m patrol with its return fits a
minute; telemetry rates and acks are wall-clock and unaffected by it. CPU shares of both
processes and the event-loop lag of this one show where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable

from fleet.control import (
    CommandRejected,
    CommandTimeout,
    DroneEvent,
    LinkLost,
    LinkLostEvent,
    LinksConfig,
    MissionProgress,
    Telemetry,
    Waypoint,
    open_drone_links,
)


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, math.ceil(q * len(s)) - 1)]


def _offset(lat: float, lon: float, n: float, e: float) -> tuple[float, float]:
    return lat + n / 111_195.0, lon + e / (111_195.0 * math.cos(math.radians(lat)))


async def _run(args: argparse.Namespace) -> dict[str, object]:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rng = random.Random(args.seed)
    snapshots: dict[int, int] = defaultdict(int)
    finished: set[int] = set()
    lost_events = 0
    counting = False

    def listener(ev: DroneEvent) -> None:
        nonlocal lost_events
        if isinstance(ev, Telemetry):
            if counting:
                snapshots[ev.sysid] += 1
        elif isinstance(ev, MissionProgress) and ev.finished:
            finished.add(ev.sysid)
        elif isinstance(ev, LinkLostEvent):
            lost_events += 1

    sim_cmd = _sim_cmd(args, port)
    config = LinksConfig(connections=(f"udpin://127.0.0.1:{port}",), telemetry_hz=args.telemetry_hz)
    async with open_drone_links(config) as links:
        links.add_listener(listener)
        proc = await asyncio.create_subprocess_exec(
            *sim_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            t0 = time.monotonic()
            ids = set(range(1, args.count + 1))
            await asyncio.wait_for(links.wait_discovered(ids), timeout=60)
            discovery_s = time.monotonic() - t0

            latencies: list[float] = []
            failures: dict[str, int] = defaultdict(int)
            lags: list[float] = []

            by_kind: dict[str, list[float]] = defaultdict(list)

            async def timed(coro: Awaitable[object], kind: str) -> bool:
                t = time.monotonic()
                try:
                    await coro
                except (CommandRejected, CommandTimeout, LinkLost) as exc:
                    failures[type(exc).__name__] += 1
                    return False
                latencies.append((time.monotonic() - t) * 1000)
                by_kind[kind].append(latencies[-1])
                return True

            async def fly(sysid: int) -> None:
                await asyncio.sleep(rng.random() * 2.0)
                home = links.telemetry_nowait(sysid)
                assert home is not None
                legs = [(150, 0, 25.0), (150, 150, 30.0), (0, 150, 25.0)]
                wps = [
                    Waypoint(*_offset(home.lat_deg, home.lon_deg, n, e), alt, speed_mps=12.0)
                    for n, e, alt in legs
                ]
                if await timed(
                    links.upload_mission(sysid, wps, return_home=True), "upload_mission"
                ):
                    await timed(links.start_mission(sysid), "start_mission")
                on = False
                while True:  # spotlight toggles: a steady stream of small commands
                    await asyncio.sleep(args.command_period_s * (0.5 + rng.random()))
                    on = not on
                    await timed(links.spotlight(sysid, on), "spotlight")

            async def lag_probe() -> None:
                while True:
                    t = time.monotonic()
                    await asyncio.sleep(0.05)
                    lags.append((time.monotonic() - t - 0.05) * 1000)

            counting = True
            cpu_links0, cpu_sim0 = _cpu_s(os.getpid()), _cpu_s(proc.pid)
            w0 = time.monotonic()
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(fly(i), name=f"bench[drone-{i}].fly") for i in sorted(ids)]
                tasks.append(tg.create_task(lag_probe(), name="bench.lag"))
                await asyncio.sleep(args.seconds)
                counting = False
                window = time.monotonic() - w0
                cpu_links = _cpu_s(os.getpid()) - cpu_links0
                cpu_sim = _cpu_s(proc.pid) - cpu_sim0
                for t in tasks:
                    t.cancel()
            completed = sum(
                1
                for i in finished
                if (tel := links.telemetry_nowait(i)) is not None and not tel.armed
            )
            rates = [snapshots.get(i, 0) / window for i in sorted(ids)]
            return {
                "bench": "drones",
                "client": "fleet.control.DroneLinks",
                "drones": args.count,
                "seconds": round(window, 2),
                "sim_time_scale": args.time_scale,
                "discovery_s": round(discovery_s, 2),
                "telemetry_hz_min": round(min(rates), 2),
                "telemetry_hz_median": round(statistics.median(rates), 2),
                "commands": len(latencies) + sum(failures.values()),
                "command_failures": dict(failures),
                "cmd_ack_p50_ms": round(_pct(latencies, 0.50), 2),
                "cmd_ack_p99_ms": round(_pct(latencies, 0.99), 2),
                "cmd_ack_max_ms": round(max(latencies, default=math.nan), 2),
                "cmd_ack_p99_ms_by_command": {
                    k: round(_pct(v, 0.99), 2) for k, v in sorted(by_kind.items())
                },
                "missions_completed": completed,
                "link_lost_events": lost_events,
                "loop_lag_p99_ms": round(_pct(lags, 0.99), 2),
                "cpu_links_pct": round(100 * cpu_links / window, 1),
                "cpu_sim_pct": round(100 * cpu_sim / window, 1),
                "cpus": os.cpu_count(),
            }
        finally:
            proc.terminate()
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _run_stock(args: argparse.Namespace) -> dict[str, object]:
    """The peer: MAVSDK's stock asyncio wrappers, as its examples use them.

    One task per stream per drone (position, velocity, heading, battery, flight mode,
    armed, in air, GPS, health, as DroneLinks subscribes), commands through the
    ``run_in_executor`` wrappers (mission_raw upload/start, mavlink_direct spotlight).
    """
    import socket

    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
    from mavsdk.asyncio.plugins.action import ActionAsync
    from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync
    from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync
    from mavsdk.plugins.mavlink_direct import MavlinkMessage
    from mavsdk.plugins.mission_raw import MissionItem as RawMissionItem

    from fleet.control.links import _route_mavsdk_logs
    from fleet.control.mission import mission_items

    _route_mavsdk_logs()  # keep stdout for the JSON line

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rng = random.Random(args.seed)
    positions: dict[int, int] = defaultdict(int)
    counting = False
    latencies: list[float] = []
    failures: dict[str, int] = defaultdict(int)
    lags: list[float] = []
    config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
    async with Mavsdk(config) as mavsdk:
        await mavsdk.add_any_connection(f"udpin://127.0.0.1:{port}")
        proc = await asyncio.create_subprocess_exec(
            *_sim_cmd(args, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            t0 = time.monotonic()
            systems: dict[int, object] = {}
            async with asyncio.timeout(60):
                while len(systems) < args.count:
                    for system in await mavsdk.get_systems():
                        if await system.has_autopilot():
                            systems[await system.get_system_id()] = system
                    await asyncio.sleep(0.2)
            discovery_s = time.monotonic() - t0

            async def consume(sysid: int, agen: object, count: bool) -> None:
                async for _ in agen:  # type: ignore[attr-defined]
                    if count and counting:
                        positions[sysid] += 1

            async def timed(coro: Awaitable[object]) -> None:
                t = time.monotonic()
                try:
                    await coro
                except Exception as exc:  # the peer's own error types
                    failures[type(exc).__name__] += 1
                    return
                latencies.append((time.monotonic() - t) * 1000)

            async def fly(sysid: int, system: object) -> None:
                tel = TelemetryAsync(system)
                mission = MissionRawAsync(system)
                action = ActionAsync(system)
                direct = MavlinkDirectAsync(system)
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(consume(sysid, tel.subscribe_position(), True))
                    for stream in (
                        tel.subscribe_velocity_ned, tel.subscribe_heading,
                        tel.subscribe_battery, tel.subscribe_flight_mode, tel.subscribe_armed,
                        tel.subscribe_in_air, tel.subscribe_gps_info, tel.subscribe_health,
                    ):  # fmt: skip
                        tg.create_task(consume(sysid, stream(), False))
                    await asyncio.sleep(1.0 + rng.random() * 2.0)
                    home = await tel.position()
                    legs = [(150, 0, 25.0), (150, 150, 30.0), (0, 150, 25.0)]
                    wps = [
                        Waypoint(*_offset(home.latitude_deg, home.longitude_deg, n, e), alt,
                                 speed_mps=12.0)
                        for n, e, alt in legs
                    ]  # fmt: skip
                    items = [
                        RawMissionItem(i.seq, i.frame, i.command, i.current, i.autocontinue,
                                       i.param1, i.param2, i.param3, i.param4, i.x, i.y, i.z,
                                       i.mission_type)
                        for i in mission_items(wps, return_home=True)
                    ]  # fmt: skip
                    await timed(mission.upload_mission(items))
                    await timed(action.arm())
                    await timed(mission.start_mission())
                    on = False
                    while True:
                        await asyncio.sleep(args.command_period_s * (0.5 + rng.random()))
                        on = not on
                        body = {"target_system": sysid, "target_component": 1,
                                "command": 405, "confirmation": 0, "param1": float(on),
                                "param2": 0.0, "param3": 0.0, "param4": 0.0,
                                "param5": 0.0, "param6": 0.0, "param7": 0.0}  # fmt: skip
                        msg = MavlinkMessage("COMMAND_LONG", 0, 0, sysid, 1, json.dumps(body))
                        await timed(direct.send_command(msg))

            async def lag_probe() -> None:
                while True:
                    t = time.monotonic()
                    await asyncio.sleep(0.05)
                    lags.append((time.monotonic() - t - 0.05) * 1000)

            counting = True
            cpu0 = _cpu_s(os.getpid())
            w0 = time.monotonic()
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(fly(i, s)) for i, s in sorted(systems.items())]
                tasks.append(tg.create_task(lag_probe()))
                await asyncio.sleep(args.seconds)
                counting = False
                window = time.monotonic() - w0
                cpu = _cpu_s(os.getpid()) - cpu0
                for t in tasks:
                    t.cancel()
            rates = [positions.get(i, 0) / window for i in sorted(systems)]
            return {
                "bench": "drones",
                "client": "mavsdk-asyncio-stock",
                "drones": args.count,
                "seconds": round(window, 2),
                "discovery_s": round(discovery_s, 2),
                "telemetry_hz_min": round(min(rates), 2),
                "telemetry_hz_median": round(statistics.median(rates), 2),
                "commands": len(latencies) + sum(failures.values()),
                "command_failures": dict(failures),
                "cmd_ack_p50_ms": round(_pct(latencies, 0.50), 2),
                "cmd_ack_p99_ms": round(_pct(latencies, 0.99), 2),
                "cmd_ack_max_ms": round(max(latencies, default=math.nan), 2),
                "loop_lag_p99_ms": round(_pct(lags, 0.99), 2),
                "cpu_links_pct": round(100 * cpu / window, 1),
            }
        finally:
            proc.terminate()
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _sim_cmd(args: argparse.Namespace, port: int) -> list[str]:
    return [
        sys.executable, "-c", "from fleet.cli import main; main()", "sim", "drones",
        "--count", str(args.count), "--connect", f"udp://127.0.0.1:{port}",
        "--time-scale", str(args.time_scale), "--telemetry-hz", str(args.telemetry_hz),
        "--duration-s", str(args.seconds + 120),
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    """Run the benchmark; prints one JSON object with --json, a summary line otherwise."""
    p = argparse.ArgumentParser(prog="patrolfleet bench drones", description=__doc__)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--time-scale", type=float, default=4.0)
    p.add_argument("--telemetry-hz", type=float, default=5.0)
    p.add_argument("--command-period-s", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--client",
        choices=("links", "stock"),
        default="links",
        help="links: fleet.control.DroneLinks; stock: MAVSDK's asyncio wrappers (the peer)",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = asyncio.run(_run(args) if args.client == "links" else _run_stock(args))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['drones']} drones: telemetry min {result['telemetry_hz_min']} Hz, "
            f"ack p99 {result['cmd_ack_p99_ms']} ms, "
            f"missions {result.get('missions_completed', '-')}/{result['drones']}"
        )
    return 0
