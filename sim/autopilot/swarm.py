"""A swarm of simulated autopilots in one asyncio loop, with fault injection and a control port.

``async with run_swarm(SwarmConfig(...)) as swarm`` yields a ready :class:`Swarm`: every
drone has its UDP socket open and is streaming. One task ticks the physics of all drones
(``physics_hz``, wall clock) and sends whatever streams are due; commands are answered as
soon as their datagram arrives, not on the tick.

Time scale
----------
``time_scale`` multiplies simulated time against the wall clock for the *physics* only
(speeds, climb, battery, hold times). Telemetry rates, command acks, transfer retries and
the data-link-loss timer (COM_DL_LOSS_T, since the ground station beats in real time) stay
in wall time, so a ground station sees the same message
timing it sees from PX4 SITL run with a speed factor (PX4_SIM_SPEED_FACTOR). Tests use
10-20x so a 1 km patrol takes seconds; the default is 1.0 (real time).

Control interface
-----------------
With ``control_port`` set, a JSON-over-UDP server listens on ``control_host:control_port``.
Each datagram is one request object, answered with one JSON object::

    {"op": "status"}                                   -> {"ok": true, "drones": [{...}, ...]}
    {"op": "status", "sysid": 3}                       -> {"ok": true, "drone": {...}}
    {"op": "drop_link" | "restore_link", "sysid": 3}   -> {"ok": true}
    {"op": "drop_uplink", "sysid": 3}                  (deaf: streams on, no acks;
                                                        restore_link ends it)
    {"op": "lose_gps" | "restore_gps", "sysid": 3}
    {"op": "drain_battery", "sysid": 3, "percent": 8}  (sets the remaining charge)
    {"op": "fence_breach", "sysid": 3}                 (pushes the drone outside its fence)
    {"op": "wind", "sysid": 3, "north_mps": 3, "east_mps": -2, "gust_mps": 1}

``"sysid": "all"`` applies an op to every drone. Errors come back as
``{"ok": false, "error": "..."}``. :class:`ControlClient` is the matching client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sim.autopilot.endpoint import Endpoint
from sim.autopilot.geo import LocalFrame
from sim.autopilot.vehicle import Vehicle

log = logging.getLogger(__name__)

MAX_SUBSTEP_S = 0.2


@dataclass(frozen=True, slots=True)
class SwarmConfig:
    """How many autopilots, where they talk to, and how their world behaves."""

    count: int = 1
    connect: str = "udp://127.0.0.1:14540"
    base_sysid: int = 1
    lat: float = 60.1699  # central Helsinki
    lon: float = 24.9384
    home_amsl_m: float = 20.0
    spacing_m: float = 8.0
    time_scale: float = 1.0
    telemetry_hz: float = 5.0
    physics_hz: float = 25.0
    wind_north_mps: float = 2.0
    wind_east_mps: float = 1.0
    gust_mps: float = 0.5
    seed: int = 0
    control_host: str = "127.0.0.1"
    control_port: int | None = None
    # 0: every drone sends to the connect port; 1: drone i sends to port + i, the way PX4
    # SITL instance i sends to 14540 + i (for a ground station with one connection each)
    port_stride: int = 0

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("count must be >= 1")
        if self.base_sysid < 1 or self.base_sysid + self.count - 1 > 250:
            raise ValueError("system ids must lie in 1..250")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")

    @property
    def remote(self) -> tuple[str, int]:
        url = urlparse(self.connect)
        if url.scheme not in ("udp", "udpout") or not url.hostname or not url.port:
            raise ValueError(f"connect must look like udp://HOST:PORT, got {self.connect!r}")
        return url.hostname, url.port


class SimDrone:
    """One simulated autopilot: its airframe, its MAVLink endpoint and its fault switches."""

    def __init__(self, vehicle: Vehicle, endpoint: Endpoint) -> None:
        self.vehicle = vehicle
        self.endpoint = endpoint

    @property
    def sysid(self) -> int:
        return self.vehicle.sysid

    def drop_link(self) -> None:
        """Stop sending and receiving, as a radio out of range does."""
        self.endpoint.link_up = False

    def restore_link(self) -> None:
        self.endpoint.link_up = True
        self.endpoint.uplink_up = True

    def drop_uplink(self) -> None:
        """Go deaf to the ground station (no acks) while still streaming telemetry."""
        self.endpoint.uplink_up = False

    def lose_gps(self) -> None:
        self.vehicle.gps_ok = False

    def restore_gps(self) -> None:
        self.vehicle.gps_ok = True

    def drain_battery(self, percent: float) -> None:
        """Set the remaining charge (0-100); the failsafes react on the next tick."""
        self.vehicle.battery = max(0.0, min(1.0, percent / 100.0))

    def set_wind(self, north_mps: float, east_mps: float, gust_mps: float = 0.0) -> None:
        self.vehicle.wind_n_mps, self.vehicle.wind_e_mps = north_mps, east_mps
        self.vehicle.gust_mps = gust_mps

    def fence_breach(self) -> None:
        """Push the drone just outside its fence (a gust or a GPS jump would do the same).

        Raises
        ------
        ValueError
            If the drone holds no fence or is not flying.
        """
        v = self.vehicle
        if v.fence.empty:
            raise ValueError(f"drone {v.sysid} holds no fence")
        if not v.in_air:
            raise ValueError(f"drone {v.sysid} is not flying")
        keep_in = [p for p in v.fence.polygons if p.inclusion]
        if keep_in:
            poly = keep_in[0].vertices
            north = max(n for n, _ in poly)
            v.n, v.e = north + 15.0, sum(e for _, e in poly) / len(poly)
            return
        keep_in_c = [c for c in v.fence.circles if c.inclusion]
        if keep_in_c:
            c = keep_in_c[0]
            v.n, v.e = c.north_m + c.radius_m + 15.0, c.east_m
            return
        out = [p for p in v.fence.polygons if not p.inclusion]
        if out:
            poly = out[0].vertices
            v.n = sum(n for n, _ in poly) / len(poly)
            v.e = sum(e for _, e in poly) / len(poly)
            return
        c = v.fence.circles[0]
        v.n, v.e = c.north_m, c.east_m

    def status(self) -> dict[str, Any]:
        """What the autopilot holds and does, for tests and the control port."""
        v = self.vehicle
        lat, lon = v.latlon
        return {
            "sysid": v.sysid,
            "lat": lat,
            "lon": lon,
            "alt_rel_m": round(v.alt, 2),
            "mode": v.mode.name,
            "armed": v.armed,
            "in_air": v.in_air,
            "battery_pct": round(v.battery * 100, 2),
            "gps_ok": v.gps_ok,
            "link_up": self.endpoint.link_up,
            "uplink_up": self.endpoint.uplink_up,
            "illuminator_on": v.illuminator_on,
            "mission_items": len(v.mission),
            "mission_current": v.mission_current,
            "mission_state": v.mission_state.name,
            "fence": {
                "polygons": [
                    {"inclusion": p.inclusion, "vertices": len(p.vertices)}
                    for p in v.fence.polygons
                ],
                "circles": [
                    {"inclusion": c.inclusion, "radius_m": c.radius_m} for c in v.fence.circles
                ],
            },
            "fence_items": len(v.fence_items),
            "rally_items": len(v.rally_items),
            "fence_breached": v.fence_breach_latched,
            "sim_time_s": round(v.sim_time_s, 2),
        }


class Swarm:
    """The running drones, by system id."""

    def __init__(self, config: SwarmConfig, drones: dict[int, SimDrone]) -> None:
        self.config = config
        self.drones = drones
        self.control_address: tuple[str, int] | None = None
        self.ticks = 0

    def drone(self, sysid: int) -> SimDrone:
        """The drone with this system id.

        Raises
        ------
        KeyError
            If no drone has it.
        """
        return self.drones[sysid]

    def step(self, dt_wall_s: float, now: float) -> None:
        """Advance every drone's physics and send what is due (one tick)."""
        dt_sim = dt_wall_s * self.config.time_scale
        steps = max(1, math.ceil(dt_sim / MAX_SUBSTEP_S))
        h = dt_sim / steps
        for d in self.drones.values():
            for _ in range(steps):
                d.vehicle.step(h)
            d.endpoint.flush_events()
            d.endpoint.send_due(now)
        self.ticks += 1

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Apply one control-port request; see the module docstring."""
        op = request.get("op")
        target = request.get("sysid", "all")
        try:
            drones = list(self.drones.values()) if target == "all" else [self.drone(int(target))]
        except (KeyError, ValueError):
            return {"ok": False, "error": f"no drone with sysid {target!r}"}
        try:
            if op == "status":
                if target == "all":
                    return {"ok": True, "drones": [d.status() for d in drones]}
                return {"ok": True, "drone": drones[0].status()}
            for d in drones:
                if op == "drop_link":
                    d.drop_link()
                elif op == "restore_link":
                    d.restore_link()
                elif op == "drop_uplink":
                    d.drop_uplink()
                elif op == "lose_gps":
                    d.lose_gps()
                elif op == "restore_gps":
                    d.restore_gps()
                elif op == "drain_battery":
                    d.drain_battery(float(request["percent"]))
                elif op == "fence_breach":
                    d.fence_breach()
                elif op == "wind":
                    d.set_wind(
                        float(request.get("north_mps", 0.0)),
                        float(request.get("east_mps", 0.0)),
                        float(request.get("gust_mps", 0.0)),
                    )
                else:
                    return {"ok": False, "error": f"unknown op {op!r}"}
        except (ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True}


class _ControlProtocol(asyncio.DatagramProtocol):
    def __init__(self, swarm: Swarm) -> None:
        self.swarm = swarm
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            request = json.loads(data)
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
            reply = self.swarm.handle_control(request)
        except ValueError as exc:
            reply = {"ok": False, "error": f"bad request: {exc}"}
        self.transport.sendto(json.dumps(reply).encode(), addr)


async def _tick(swarm: Swarm, ready: asyncio.Event) -> None:
    period = 1.0 / swarm.config.physics_hz
    last = time.monotonic()
    ready.set()
    while True:
        now = time.monotonic()
        swarm.step(now - last, now)
        last = now
        await asyncio.sleep(max(0.0, period - (time.monotonic() - now)))


@asynccontextmanager
async def run_swarm(config: SwarmConfig) -> AsyncIterator[Swarm]:
    """Open every drone's socket, start the physics tick and the control port.

    Yields
    ------
    Swarm
        Ready: sockets bound, first streams sent.

    Raises
    ------
    ValueError
        If the config is unusable (bad ``connect`` URL).
    OSError
        If a socket cannot be opened (e.g. the control port is taken).
    """
    loop = asyncio.get_running_loop()
    remote = config.remote
    rng = random.Random(config.seed)
    drones: dict[int, SimDrone] = {}
    async with AsyncExitStack() as stack:
        cols = max(1, math.ceil(math.sqrt(config.count)))
        for i in range(config.count):
            sysid = config.base_sysid + i
            # docks on a grid around the given point, spacing_m apart
            lat, lon = LocalFrame(config.lat, config.lon).to_latlon(
                (i // cols) * config.spacing_m, (i % cols) * config.spacing_m
            )
            vehicle = Vehicle(
                sysid=sysid,
                home_lat=lat,
                home_lon=lon,
                home_amsl_m=config.home_amsl_m,
                wind_n_mps=config.wind_north_mps,
                wind_e_mps=config.wind_east_mps,
                gust_mps=config.gust_mps,
                seed=config.seed,
            )
            vehicle.params.values["MAV_SYS_ID"] = float(sysid)
            endpoint = Endpoint(
                vehicle,
                (remote[0], remote[1] + i * config.port_stride),
                telemetry_hz=config.telemetry_hz,
                phase=rng.random(),
            )
            # the factory runs inside this await, so the closure sees this drone's endpoint
            transport, _ = await loop.create_datagram_endpoint(
                lambda: endpoint,  # noqa: B023
                local_addr=("0.0.0.0", 0),
            )
            stack.callback(transport.close)
            drones[sysid] = SimDrone(vehicle, endpoint)
        swarm = Swarm(config, drones)
        if config.control_port is not None:
            ctl, _ = await loop.create_datagram_endpoint(
                lambda: _ControlProtocol(swarm),
                local_addr=(config.control_host, config.control_port),
            )
            stack.callback(ctl.close)
            swarm.control_address = ctl.get_extra_info("sockname")[:2]
        ready = asyncio.Event()
        tg = await stack.enter_async_context(asyncio.TaskGroup())
        tick = tg.create_task(_tick(swarm, ready), name="sim[swarm].tick")
        await ready.wait()
        log.info(
            "sim.swarm.started",
            extra={"count": config.count, "remote": f"{remote[0]}:{remote[1]}"},
        )
        try:
            yield swarm
        finally:
            tick.cancel()


class ControlClient:
    """Talks to a swarm's JSON-over-UDP control port (for other processes and benches)."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)

    async def request(self, payload: dict[str, Any], timeout_s: float = 2.0) -> dict[str, Any]:
        """Send one request and wait for its reply.

        Raises
        ------
        TimeoutError
            If the swarm does not answer in ``timeout_s``.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()

        class _P(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if not fut.done():
                    fut.set_result(data)

        transport, _ = await loop.create_datagram_endpoint(_P, remote_addr=self.address)
        try:
            transport.sendto(json.dumps(payload).encode())
            async with asyncio.timeout(timeout_s):
                return json.loads(await fut)
        finally:
            transport.close()
