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

    sim_cmd = [
        sys.executable, "-c", "from fleet.cli import main; main()", "sim", "drones",
        "--count", str(args.count), "--connect", f"udp://127.0.0.1:{port}",
        "--time-scale", str(args.time_scale), "--telemetry-hz", str(args.telemetry_hz),
        "--duration-s", str(args.seconds + 120),
    ]  # fmt: skip
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

            async def timed(coro: Awaitable[object]) -> bool:
                t = time.monotonic()
                try:
                    await coro
                except (CommandRejected, CommandTimeout, LinkLost) as exc:
                    failures[type(exc).__name__] += 1
                    return False
                latencies.append((time.monotonic() - t) * 1000)
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
                if await timed(links.upload_mission(sysid, wps, return_home=True)):
                    await timed(links.start_mission(sysid))
                on = False
                while True:  # spotlight toggles: a steady stream of small commands
                    await asyncio.sleep(args.command_period_s * (0.5 + rng.random()))
                    on = not on
                    await timed(links.spotlight(sysid, on))

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


def main(argv: list[str]) -> int:
    """Run the benchmark; prints one JSON object with --json, a summary line otherwise."""
    p = argparse.ArgumentParser(prog="patrolfleet bench drones", description=__doc__)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--time-scale", type=float, default=4.0)
    p.add_argument("--telemetry-hz", type=float, default=5.0)
    p.add_argument("--command-period-s", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['drones']} drones: telemetry min {result['telemetry_hz_min']} Hz, "
            f"ack p99 {result['cmd_ack_p99_ms']} ms, "
            f"missions {result['missions_completed']}/{result['drones']}"
        )
    return 0
