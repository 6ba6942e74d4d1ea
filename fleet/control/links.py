"""The drone links: one MAVSDK ground station for every autopilot, and the commands to fly them.

``async with open_drone_links(LinksConfig(...)) as links`` yields a ready
:class:`DroneLinks`: MAVSDK is listening on every configured connection and the discovery
and watchdog tasks run. Every autopilot that sends a heartbeat is attached (its plugins
created, its streams subscribed) and reported as :class:`~fleet.control.types.Discovered`.

Scaling to many drones in one process
-------------------------------------
MAVSDK's Python ``asyncio`` wrappers turn every command into a ``run_in_executor`` call
that blocks a pool thread until the autopilot answers, and every stream into its own
queue; with fifty drones that starves the six-thread default pool and wakes the loop
thousands of times a second. These links instead use the plugins' ``*_async`` callback
APIs: a command is one future completed from MAVSDK's callback thread, and stream
callbacks only store the latest value in plain attributes (atomic under the GIL). The
loop is woken once per fresh position sample, and each drone's telemetry task emits at
most ``telemetry_hz`` snapshots a second.

MAVSDK drops subscription callbacks when they arrive in bursts faster than Python takes
them ("a subscriber is not keeping up"): autopilots that send in lock-step cause that, real
ones (and :mod:`sim.autopilot`, which staggers its streams) do not.

Link liveness
-------------
A drone is *lost* when no HEARTBEAT, position, battery or landed-state message has arrived
for ``link_timeout_s`` (default 2 s, checked every 0.25 s, so a dead link is reported
within 2.25 s of its last message; PX4 sends HEARTBEAT at 1 Hz and position at >=4 Hz).
Traffic from the same system id afterwards re-attaches it (:class:`Reattached`); MAVSDK
keeps its ``System`` object, so the plugins and subscriptions carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import math
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from mavsdk.component_type import ComponentType
from mavsdk.exceptions import MavsdkError
from mavsdk.logging import LogLevel, log_subscribe
from mavsdk.mavsdk import Configuration, Mavsdk
from mavsdk.plugins.action import Action, ActionResult, OrbitYawBehavior
from mavsdk.plugins.geofence import Geofence as GeofencePlugin
from mavsdk.plugins.geofence import GeofenceResult
from mavsdk.plugins.mavlink_direct import MavlinkDirect, MavlinkDirectResult, MavlinkMessage
from mavsdk.plugins.mission_raw import MissionItem as RawMissionItem
from mavsdk.plugins.mission_raw import MissionRaw, MissionRawResult

from fleet.control.errors import CommandRejected, CommandTimeout, DroneUnavailable, LinkLost
from fleet.control.mission import RawItem, fence_items, mission_items
from fleet.control.types import (
    CommandOutcome,
    CommandResult,
    Discovered,
    DroneEvent,
    Geofence,
    GeoPoint,
    LinkLostEvent,
    MissionProgress,
    Reattached,
    StatusText,
    Telemetry,
    Timeouts,
    Waypoint,
)

log = logging.getLogger(__name__)
mavsdk_log = logging.getLogger("fleet.control.mavsdk")

MAV_CMD_NAV_TAKEOFF = 22
MAV_CMD_DO_REPOSITION = 192
MAV_CMD_ILLUMINATOR_ON_OFF = 405
MAV_DO_REPOSITION_FLAGS_CHANGE_MODE = 1
MAV_FRAME_GLOBAL_INT = 5

_MAV_RESULT = {
    0: CommandResult.ACCEPTED,
    1: CommandResult.TEMPORARILY_REJECTED,
    2: CommandResult.DENIED,
    3: CommandResult.UNSUPPORTED,
    4: CommandResult.FAILED,
    5: CommandResult.BUSY,  # IN_PROGRESS as a final answer
    6: CommandResult.CONNECTION_ERROR,  # CANCELLED
}

_ACTION_RESULT = {
    ActionResult.SUCCESS: CommandResult.ACCEPTED,
    ActionResult.NO_SYSTEM: CommandResult.NO_SYSTEM,
    ActionResult.CONNECTION_ERROR: CommandResult.CONNECTION_ERROR,
    ActionResult.BUSY: CommandResult.BUSY,
    ActionResult.COMMAND_DENIED: CommandResult.DENIED,
    ActionResult.COMMAND_DENIED_LANDED_STATE_UNKNOWN: CommandResult.TEMPORARILY_REJECTED,
    ActionResult.COMMAND_DENIED_NOT_LANDED: CommandResult.DENIED,
    ActionResult.TIMEOUT: CommandResult.TIMEOUT,
    ActionResult.UNSUPPORTED: CommandResult.UNSUPPORTED,
    ActionResult.FAILED: CommandResult.FAILED,
    ActionResult.INVALID_ARGUMENT: CommandResult.INVALID_ARGUMENT,
    ActionResult.PARAMETER_ERROR: CommandResult.INVALID_ARGUMENT,
}

_MISSION_RESULT = {
    MissionRawResult.SUCCESS: CommandResult.ACCEPTED,
    MissionRawResult.BUSY: CommandResult.BUSY,
    MissionRawResult.TIMEOUT: CommandResult.TIMEOUT,
    MissionRawResult.NO_SYSTEM: CommandResult.NO_SYSTEM,
    MissionRawResult.DENIED: CommandResult.DENIED,
    MissionRawResult.UNSUPPORTED: CommandResult.UNSUPPORTED,
    MissionRawResult.INVALID_ARGUMENT: CommandResult.INVALID_ARGUMENT,
    MissionRawResult.TOO_MANY_MISSION_ITEMS: CommandResult.INVALID_ARGUMENT,
    MissionRawResult.NO_MISSION_AVAILABLE: CommandResult.DENIED,
    MissionRawResult.TRANSFER_CANCELLED: CommandResult.PROTOCOL_ERROR,
    MissionRawResult.PROTOCOL_ERROR: CommandResult.PROTOCOL_ERROR,
    MissionRawResult.INVALID_SEQUENCE: CommandResult.PROTOCOL_ERROR,
    MissionRawResult.CURRENT_INVALID: CommandResult.PROTOCOL_ERROR,
    MissionRawResult.MISSION_TYPE_NOT_CONSISTENT: CommandResult.PROTOCOL_ERROR,
    MissionRawResult.INT_MESSAGES_NOT_SUPPORTED: CommandResult.UNSUPPORTED,
    MissionRawResult.ERROR: CommandResult.FAILED,
}

_GEOFENCE_RESULT = {
    GeofenceResult.SUCCESS: CommandResult.ACCEPTED,
    GeofenceResult.BUSY: CommandResult.BUSY,
    GeofenceResult.TIMEOUT: CommandResult.TIMEOUT,
    GeofenceResult.NO_SYSTEM: CommandResult.NO_SYSTEM,
    GeofenceResult.INVALID_ARGUMENT: CommandResult.INVALID_ARGUMENT,
    GeofenceResult.TOO_MANY_GEOFENCE_ITEMS: CommandResult.INVALID_ARGUMENT,
    GeofenceResult.ERROR: CommandResult.FAILED,
}

_DIRECT_FAILURE = {
    MavlinkDirectResult.TIMEOUT: CommandResult.TIMEOUT,
    MavlinkDirectResult.NO_SYSTEM: CommandResult.NO_SYSTEM,
    MavlinkDirectResult.CONNECTION_ERROR: CommandResult.CONNECTION_ERROR,
    MavlinkDirectResult.INVALID_MESSAGE: CommandResult.INVALID_ARGUMENT,
    MavlinkDirectResult.INVALID_FIELD: CommandResult.INVALID_ARGUMENT,
}


@dataclass(frozen=True, slots=True)
class LinksConfig:
    """Where to listen and how to pace the links."""

    connections: tuple[str, ...] = ("udpin://0.0.0.0:14540",)
    telemetry_hz: float = 5.0  # at most this many snapshots per drone per second
    link_timeout_s: float = 2.0
    watchdog_period_s: float = 0.25
    timeouts: Timeouts = field(default_factory=Timeouts)
    # MAVSDK delivers every callback on its own thread, which takes the GIL from the event
    # loop. A lower switch interval (e.g. 0.001) shortens that hand-off under load; it is
    # process-wide (restored on close), so it is off by default: with fifty drones it
    # changed ack p99 from ~31 to ~19 ms in bench/drones.py, within run-to-run noise.
    gil_switch_interval_s: float | None = None

    def __post_init__(self) -> None:
        if not self.connections:
            raise ValueError("at least one connection is needed")
        if self.telemetry_hz <= 0:
            raise ValueError("telemetry_hz must be > 0")
        if not 0 < self.link_timeout_s + self.watchdog_period_s <= 3.0:
            raise ValueError("link_timeout_s + watchdog_period_s must be within (0, 3] s")


class _State(enum.Enum):
    OPENING = "opening"
    OPEN = "open"
    CLOSED = "closed"


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Hand a MAVSDK-thread callback to the loop; a closed loop just drops it."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(fn, *args)


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


class _Drone:
    """Per-drone link state. Stream callbacks run on MAVSDK's thread and only store values."""

    def __init__(self, sysid: int, system: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.sysid = sysid
        self.system = system
        self.loop = loop
        now = time.monotonic()
        self.last_rx = now
        self.connected = True
        self.lost_at: float | None = None
        self.fresh = asyncio.Event()
        self.lat = self.lon = self.alt_rel = self.alt_amsl = math.nan
        self.vn = self.ve = self.vd = 0.0
        self.heading = math.nan
        self.battery = math.nan
        self.flight_mode = "UNKNOWN"
        self.armed = False
        self.in_air = False
        self.gps_fix = "NO_GPS"
        self.sats = 0
        self.health_ok = False
        self.mission_total = 0
        self.mission_current = 0
        self.position_samples = 0
        self.snapshots = 0
        self.listeners: list[Callable[[DroneEvent], None]] = []
        self.telemetry: Any = None
        self.action: Any = None
        self.mission: Any = None
        self.direct: Any = None
        self.geofence: Any = None

    # ------------------------------------------------------------ attach (worker thread)
    def attach(self) -> None:
        """Create the plugins and subscribe; runs in a worker thread (C calls may block)."""
        from mavsdk.plugins.telemetry import Telemetry as TelemetryPlugin

        s = self.system
        t = self.telemetry = TelemetryPlugin(s)
        self.action = Action(s)
        self.mission = MissionRaw(s)
        self.direct = MavlinkDirect(s)
        self.geofence = GeofencePlugin(s)
        # One GLOBAL_POSITION_INT callback carries position, velocity and heading: with
        # fifty drones, three separate Telemetry streams for them tripled the callbacks
        # crossing into Python and MAVSDK started dropping subscription callbacks.
        self.direct.subscribe_message("GLOBAL_POSITION_INT", self._on_global_position)
        t.subscribe_battery(self._on_battery)
        t.subscribe_flight_mode(self._on_flight_mode)
        t.subscribe_armed(self._on_armed)
        t.subscribe_in_air(self._on_in_air)
        t.subscribe_gps_info(self._on_gps)
        t.subscribe_health(self._on_health)
        t.subscribe_status_text(self._on_status_text)
        # MISSION_CURRENT (seq, total, state) rather than mission_raw's progress stream,
        # whose total is overwritten by fence uploads and unknown after a restart.
        self.direct.subscribe_message("MISSION_CURRENT", self._on_mission_current)
        self.direct.subscribe_message("MISSION_ITEM_REACHED", self._on_item_reached)
        s.subscribe_is_connected(self._on_connected)

    def _alive(self) -> None:
        self.last_rx = time.monotonic()

    def _on_global_position(self, msg: Any, _ud: Any) -> None:
        try:
            f = json.loads(msg.fields_json)
            lat, lon = f["lat"] / 1e7, f["lon"] / 1e7
            alt_amsl, alt_rel = f["alt"] / 1000.0, f["relative_alt"] / 1000.0
            vn, ve, vd = f["vx"] / 100.0, f["vy"] / 100.0, f["vz"] / 100.0
            hdg = f["hdg"]
        except (ValueError, KeyError, TypeError):
            return
        self.lat, self.lon, self.alt_amsl, self.alt_rel = lat, lon, alt_amsl, alt_rel
        self.vn, self.ve, self.vd = vn, ve, vd
        self.heading = math.nan if hdg == 0xFFFF else hdg / 100.0
        self.position_samples += 1
        self._alive()
        _call_soon(self.loop, self.fresh.set)

    def _on_battery(self, b: Any, _ud: Any) -> None:
        self.battery = b.remaining_percent
        self._alive()

    def _on_flight_mode(self, mode: Any, _ud: Any) -> None:
        self.flight_mode = mode.name

    def _on_armed(self, armed: bool, _ud: Any) -> None:
        # queued by MAVSDK on every HEARTBEAT from the autopilot component
        self.armed = armed
        self._alive()

    def _on_in_air(self, in_air: bool, _ud: Any) -> None:
        self.in_air = in_air
        self._alive()

    def _on_gps(self, g: Any, _ud: Any) -> None:
        self.gps_fix, self.sats = g.fix_type.name, g.num_satellites

    def _on_health(self, h: Any, _ud: Any) -> None:
        self.health_ok = bool(
            h.is_global_position_ok and h.is_home_position_ok and h.is_local_position_ok
        )

    def _on_status_text(self, st: Any, _ud: Any) -> None:
        self._emit_threadsafe(StatusText(self.sysid, st.type.name, st.text))

    def _on_mission_current(self, msg: Any, _ud: Any) -> None:
        try:
            fields = json.loads(msg.fields_json)
            seq, total = int(fields["seq"]), int(fields.get("total", 0))
        except (ValueError, KeyError, TypeError):
            return
        if total in (0, 0xFFFF):  # older autopilots leave total unset
            total = self.mission_total
        if (seq, total) != (self.mission_current, self.mission_total):
            self.mission_current, self.mission_total = seq, total
            self._emit_threadsafe(MissionProgress(self.sysid, seq, total))

    def _on_item_reached(self, msg: Any, _ud: Any) -> None:
        try:
            seq = int(json.loads(msg.fields_json)["seq"])
        except (ValueError, KeyError, TypeError):
            return
        self._emit_threadsafe(MissionProgress(self.sysid, seq + 1, self.mission_total, seq))

    def _on_connected(self, connected: bool, _ud: Any) -> None:
        if not connected:
            # MAVSDK's own heartbeat timeout: age the link so the watchdog reports it now
            self.last_rx = min(self.last_rx, time.monotonic() - 3600.0)

    def _emit_threadsafe(self, event: DroneEvent) -> None:
        _call_soon(self.loop, self.emit, event)

    # ------------------------------------------------------------ loop side
    def emit(self, event: DroneEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a listener bug must not stop the links
                log.exception("drone.listener.failed", extra={"drone_id": self.sysid})

    def snapshot(self) -> Telemetry:
        return Telemetry(
            sysid=self.sysid,
            lat_deg=self.lat,
            lon_deg=self.lon,
            alt_rel_m=self.alt_rel,
            alt_amsl_m=self.alt_amsl,
            velocity_n_mps=self.vn,
            velocity_e_mps=self.ve,
            velocity_d_mps=self.vd,
            heading_deg=self.heading,
            battery_pct=self.battery,
            flight_mode=self.flight_mode,
            armed=self.armed,
            in_air=self.in_air,
            gps_fix=self.gps_fix,
            gps_satellites=self.sats,
            health_ok=self.health_ok,
            monotonic_s=self.last_rx,
        )

    @property
    def ground_amsl_m(self) -> float:
        """AMSL of the launch point, from the last position (absolute minus relative)."""
        return self.alt_amsl - self.alt_rel


def _to_mavsdk_items(items: list[RawItem]) -> list[RawMissionItem]:
    return [
        RawMissionItem(
            seq=i.seq,
            frame=i.frame,
            command=i.command,
            current=i.current,
            autocontinue=i.autocontinue,
            param1=i.param1,
            param2=i.param2,
            param3=i.param3,
            param4=i.param4,
            x=i.x,
            y=i.y,
            z=i.z,
            mission_type=i.mission_type,
        )
        for i in items
    ]


class DroneLinks:
    """Every drone's link: discovery, liveness, telemetry, commands. Get one from
    :func:`open_drone_links`; it is ready when yielded.

    All command methods return a :class:`CommandOutcome` when the autopilot accepted, and
    raise otherwise, so the caller can record the outcome (record before, outcome after).
    """

    def __init__(self, config: LinksConfig, mavsdk: Mavsdk, tg: asyncio.TaskGroup) -> None:
        self.config = config
        self._mavsdk = mavsdk
        self._tg = tg
        self._drones: dict[int, _Drone] = {}
        self._listeners: list[Callable[[DroneEvent], None]] = []
        self._state = _State.OPENING
        self._ignored_systems = 0
        self._tasks: list[asyncio.Task[Any]] = []

    # ------------------------------------------------------------ listeners & state
    def add_listener(self, listener: Callable[[DroneEvent], None]) -> Callable[[], None]:
        """Call ``listener`` (on the loop, must not block) with every :data:`DroneEvent`.

        Returns
        -------
        Callable[[], None]
            Removes the listener.
        """
        self._listeners.append(listener)
        for d in self._drones.values():
            d.listeners = self._listeners

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def drones(self) -> list[int]:
        """System ids of every drone discovered so far (connected or not)."""
        return sorted(self._drones)

    def is_connected(self, sysid: int) -> bool:
        d = self._drones.get(sysid)
        return d is not None and d.connected

    def telemetry_nowait(self, sysid: int) -> Telemetry | None:
        """The latest snapshot of a drone, or None if it is unknown."""
        d = self._drones.get(sysid)
        return None if d is None else d.snapshot()

    def stats(self, sysid: int) -> dict[str, int]:
        """Counters for benchmarks: position samples received, snapshots emitted."""
        d = self._require_known(sysid)
        return {"position_samples": d.position_samples, "snapshots": d.snapshots}

    async def wait_discovered(self, sysids: set[int] | int) -> None:
        """Wait until every given drone has been discovered and has a position."""
        want = {sysids} if isinstance(sysids, int) else set(sysids)
        while True:
            ready = {s for s in want if s in self._drones and self._drones[s].position_samples}
            if ready == want:
                return
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------ commands
    async def arm_and_takeoff(self, sysid: int, alt_m: float) -> CommandOutcome:
        """Arm, then take off to ``alt_m`` above the launch point.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        ValueError
            If ``alt_m`` is not in (0, 500].
        """
        if not 0 < alt_m <= 500:
            raise ValueError("alt_m must be in (0, 500]")

        async def attempt(d: _Drone) -> CommandResult:
            if not d.armed:
                r = await self._action(d, "arm_async")
                if r is not CommandResult.ACCEPTED:
                    return r
            return await self._direct_command(
                d,
                "COMMAND_LONG",
                MAV_CMD_NAV_TAKEOFF,
                param4=math.nan,
                param5=math.nan,
                param6=math.nan,
                param7=d.ground_amsl_m + alt_m,
            )

        return await self._run(sysid, "takeoff", attempt, self.config.timeouts.takeoff_s)

    async def goto(
        self,
        sysid: int,
        *,
        lon_deg: float,
        lat_deg: float,
        alt_m: float,
        speed_mps: float | None = None,
    ) -> CommandOutcome:
        """Fly to a point (MAV_CMD_DO_REPOSITION); ``alt_m`` is above the launch point.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout, ValueError
        """
        GeoPoint(lat_deg, lon_deg)
        if speed_mps is not None and not 0 < speed_mps <= 30:
            raise ValueError("speed_mps must be in (0, 30]")

        async def attempt(d: _Drone) -> CommandResult:
            return await self._direct_command(
                d,
                "COMMAND_INT",
                MAV_CMD_DO_REPOSITION,
                frame=MAV_FRAME_GLOBAL_INT,
                param1=speed_mps if speed_mps else -1.0,
                param2=float(MAV_DO_REPOSITION_FLAGS_CHANGE_MODE),
                param4=math.nan,
                x=round(lat_deg * 1e7),
                y=round(lon_deg * 1e7),
                z=d.ground_amsl_m + alt_m,
            )

        return await self._run(sysid, "goto", attempt, self.config.timeouts.command_s)

    async def orbit(
        self, sysid: int, *, centre: GeoPoint, radius_m: float, velocity_mps: float, alt_m: float
    ) -> CommandOutcome:
        """Circle ``centre`` (MAV_CMD_DO_ORBIT), nose to the centre; positive radius = clockwise.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout, ValueError
        """
        if not 5 <= abs(radius_m) <= 2000 or not 0 < velocity_mps <= 20:
            raise ValueError("radius_m must be within 5..2000 and velocity_mps within (0, 20]")

        async def attempt(d: _Drone) -> CommandResult:
            return await self._action(
                d,
                "do_orbit_async",
                radius_m,
                velocity_mps,
                OrbitYawBehavior.HOLD_FRONT_TO_CIRCLE_CENTER,
                centre.lat_deg,
                centre.lon_deg,
                d.ground_amsl_m + alt_m,
            )

        return await self._run(sysid, "orbit", attempt, self.config.timeouts.command_s)

    async def upload_mission(
        self, sysid: int, waypoints: list[Waypoint], *, return_home: bool = True
    ) -> CommandOutcome:
        """Upload a patrol (mission protocol); it replaces the drone's mission.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout, ValueError
        """
        items = _to_mavsdk_items(mission_items(waypoints, return_home=return_home))

        async def attempt(d: _Drone) -> CommandResult:
            r = await self._plugin_call(d.mission.upload_mission_async, items, _MISSION_RESULT)
            if r is CommandResult.ACCEPTED:
                d.mission_total, d.mission_current = len(items), 0
            return r

        return await self._run(
            sysid, "upload_mission", attempt, self.config.timeouts.mission_upload_s
        )

    async def start_mission(self, sysid: int) -> CommandOutcome:
        """Arm if needed and switch to mission mode (the drone takes off if landed).

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """

        async def attempt(d: _Drone) -> CommandResult:
            if not d.armed:
                r = await self._action(d, "arm_async")
                if r is not CommandResult.ACCEPTED:
                    return r
            return await self._plugin_call(d.mission.start_mission_async, None, _MISSION_RESULT)

        return await self._run(sysid, "start_mission", attempt, self.config.timeouts.takeoff_s)

    async def pause(self, sysid: int) -> CommandOutcome:
        """Hold position (pauses a running mission).

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """
        return await self._run(
            sysid, "pause", lambda d: self._action(d, "hold_async"), self.config.timeouts.command_s
        )

    async def resume(self, sysid: int) -> CommandOutcome:
        """Continue the mission from its current item.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """

        async def attempt(d: _Drone) -> CommandResult:
            return await self._plugin_call(d.mission.start_mission_async, None, _MISSION_RESULT)

        return await self._run(sysid, "resume", attempt, self.config.timeouts.command_s)

    async def return_to_launch(self, sysid: int) -> CommandOutcome:
        """Return to the launch point and land.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """
        return await self._run(
            sysid,
            "return_to_launch",
            lambda d: self._action(d, "return_to_launch_async"),
            self.config.timeouts.command_s,
        )

    async def land(self, sysid: int) -> CommandOutcome:
        """Land where the drone is.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """
        return await self._run(
            sysid, "land", lambda d: self._action(d, "land_async"), self.config.timeouts.command_s
        )

    async def abort(self, sysid: int) -> CommandOutcome:
        """Stop what the drone does (hold) and bring it home (RTL).

        The hold is best effort; the outcome is the RTL's.
        """

        async def attempt(d: _Drone) -> CommandResult:
            await self._action(d, "hold_async")
            return await self._action(d, "return_to_launch_async")

        return await self._run(sysid, "abort", attempt, self.config.timeouts.command_s)

    async def upload_geofence(self, sysid: int, fence: Geofence) -> CommandOutcome:
        """Replace the drone's fence with a keep-in polygon and keep-out polygons/circles.

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """
        items = _to_mavsdk_items(fence_items(fence))

        async def attempt(d: _Drone) -> CommandResult:
            return await self._plugin_call(d.mission.upload_geofence_async, items, _MISSION_RESULT)

        return await self._run(
            sysid, "upload_geofence", attempt, self.config.timeouts.fence_upload_s
        )

    async def clear_geofence(self, sysid: int) -> CommandOutcome:
        """Remove every fence from the drone (MISSION_CLEAR_ALL for the fence type).

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """

        async def attempt(d: _Drone) -> CommandResult:
            return await self._plugin_call(d.geofence.clear_geofence_async, None, _GEOFENCE_RESULT)

        return await self._run(
            sysid, "clear_geofence", attempt, self.config.timeouts.fence_upload_s
        )

    async def spotlight(self, sysid: int, on: bool) -> CommandOutcome:
        """Switch the drone's illuminator (MAV_CMD_ILLUMINATOR_ON_OFF).

        Raises
        ------
        DroneUnavailable, LinkLost, CommandRejected, CommandTimeout
        """

        async def attempt(d: _Drone) -> CommandResult:
            return await self._direct_command(
                d, "COMMAND_LONG", MAV_CMD_ILLUMINATOR_ON_OFF, param1=1.0 if on else 0.0
            )

        return await self._run(sysid, "spotlight", attempt, self.config.timeouts.command_s)

    # ------------------------------------------------------------ command machinery
    def _require_known(self, sysid: int) -> _Drone:
        d = self._drones.get(sysid)
        if d is None:
            raise DroneUnavailable(sysid)
        return d

    async def _run(
        self,
        sysid: int,
        name: str,
        attempt: Callable[[_Drone], Awaitable[CommandResult]],
        timeout_s: float,
    ) -> CommandOutcome:
        """Send with bounded retries inside one deadline; translate every failure."""
        if self._state is not _State.OPEN:
            raise RuntimeError("drone links are not open")
        d = self._require_known(sysid)
        if not d.connected:
            raise LinkLost(sysid, name)
        t = self.config.timeouts
        start = time.monotonic()
        attempts = 0
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    attempts += 1
                    try:
                        result = await attempt(d)
                    except MavsdkError as exc:  # MAVSDK errors never leave fleet/
                        log.warning(
                            "drone.command.mavsdk_error",
                            extra={"drone_id": sysid, "command": name, "error": str(exc)},
                        )
                        result = CommandResult.FAILED
                    if result is CommandResult.ACCEPTED:
                        return CommandOutcome(
                            sysid, name, result, attempts, time.monotonic() - start
                        )
                    if not d.connected:
                        raise LinkLost(sysid, name)
                    if result.retryable and attempts <= t.retries:
                        log.info(
                            "drone.command.retry",
                            extra={"drone_id": sysid, "command": name, "attempt": attempts},
                        )
                        await asyncio.sleep(t.retry_backoff_s * attempts)
                        continue
                    if result in (CommandResult.NO_SYSTEM, CommandResult.CONNECTION_ERROR):
                        # MAVSDK saw the link die before our watchdog did
                        raise LinkLost(sysid, name)
                    if result is CommandResult.TIMEOUT:
                        raise CommandTimeout(sysid, name, timeout_s, attempts)
                    raise CommandRejected(sysid, name, result, attempts)
        except TimeoutError as exc:
            if not d.connected:
                raise LinkLost(sysid, name) from exc
            raise CommandTimeout(sysid, name, timeout_s, attempts) from exc

    async def _plugin_call(
        self, method: Callable[..., None], arg: Any, table: dict[Any, CommandResult]
    ) -> CommandResult:
        """Call a MAVSDK ``*_async(…, callback)`` and await its result on the loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def done(result: Any, *_rest: Any) -> None:
            _call_soon(loop, _resolve, fut, result)

        if arg is None:
            method(done)
        else:
            method(arg, done)
        raw = await fut
        return table.get(raw, CommandResult.UNKNOWN)

    async def _action(self, d: _Drone, method: str, *args: Any) -> CommandResult:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def done(result: Any, _ud: Any) -> None:
            _call_soon(loop, _resolve, fut, result)

        getattr(d.action, method)(*args, done)
        return _ACTION_RESULT.get(await fut, CommandResult.UNKNOWN)

    async def _direct_command(
        self, d: _Drone, kind: str, command: int, **fields: float | int
    ) -> CommandResult:
        """Send a COMMAND_LONG/COMMAND_INT through mavlink_direct and read the final ack.

        MAVSDK retransmits until a final COMMAND_ACK arrives and waits through
        MAV_RESULT_IN_PROGRESS; the ack's ``result`` is the autopilot's answer.
        """
        body: dict[str, Any] = {
            "target_system": d.sysid,
            "target_component": 1,
            "command": command,
            "confirmation": 0,
        }
        for i in range(1, 8):
            body.setdefault(f"param{i}", 0.0)
        if kind == "COMMAND_INT":
            for k in ("param5", "param6", "param7", "confirmation"):
                body.pop(k)
            body.update({"frame": 0, "current": 0, "autocontinue": 0, "x": 0, "y": 0, "z": 0.0})
        body.update(fields)
        # JSON has no NaN; MAVSDK's parser takes null for "not set"
        payload = json.dumps(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in body.items()}
        )
        msg = MavlinkMessage(
            message_name=kind,
            system_id=0,
            component_id=0,
            target_system_id=d.sysid,
            target_component_id=1,
            fields_json=payload,
        )
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def done(result: Any, ack: Any, _ud: Any) -> None:
            _call_soon(loop, _resolve, fut, (result, ack))

        d.direct.send_command_async(msg, done)
        result, ack = await fut
        if result is not MavlinkDirectResult.SUCCESS:
            return _DIRECT_FAILURE.get(result, CommandResult.UNKNOWN)
        try:
            code = int(json.loads(ack.fields_json)["result"])
        except (ValueError, KeyError, TypeError):
            return CommandResult.UNKNOWN
        return _MAV_RESULT.get(code, CommandResult.UNKNOWN)

    # ------------------------------------------------------------ background tasks
    async def _discovery(self) -> None:
        """Attach every autopilot MAVSDK sees; woken by MAVSDK's new-system callback."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        handle = self._mavsdk.subscribe_on_new_system(lambda _ud: _call_soon(loop, wake.set))
        try:
            while True:
                if self._mavsdk.system_count() != len(self._drones) + self._ignored_systems:
                    await self._scan()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await wake.wait()
                wake.clear()
        finally:
            self._mavsdk.unsubscribe_on_new_system(handle)

    async def _scan(self) -> None:
        loop = asyncio.get_running_loop()
        systems = await loop.run_in_executor(None, self._mavsdk.get_systems)
        ignored = 0
        for system in systems:
            sysid = system.get_system_id()
            if sysid in self._drones:
                continue
            if not system.has_autopilot():
                ignored += 1
                continue
            d = _Drone(sysid, system, loop)
            d.listeners = self._listeners
            await loop.run_in_executor(None, d.attach)
            self._drones[sysid] = d
            self._tasks.append(
                self._tg.create_task(self._telemetry(d), name=f"fleet[drone-{sysid}].telemetry")
            )
            log.info("drone.discovered", extra={"drone_id": sysid})
            d.emit(Discovered(sysid))
        self._ignored_systems = ignored

    async def _telemetry(self, d: _Drone) -> None:
        """Emit a snapshot per fresh position sample, at most telemetry_hz per second."""
        period = 1.0 / self.config.telemetry_hz
        while True:
            await d.fresh.wait()
            d.fresh.clear()
            d.snapshots += 1
            d.emit(d.snapshot())
            await asyncio.sleep(period * 0.9)  # 10% slack so jitter does not halve the rate

    async def _watchdog(self) -> None:
        """Report link loss and re-attachment from the age of the last message."""
        timeout = self.config.link_timeout_s
        while True:
            await asyncio.sleep(self.config.watchdog_period_s)
            now = time.monotonic()
            for d in list(self._drones.values()):
                silent = now - d.last_rx
                if d.connected and silent > timeout:
                    d.connected = False
                    d.lost_at = now
                    log.warning("drone.link.lost", extra={"drone_id": d.sysid})
                    d.emit(LinkLostEvent(d.sysid, min(silent, timeout + 3600.0)))
                elif not d.connected and silent <= timeout:
                    d.connected = True
                    down = now - (d.lost_at or now)
                    log.info("drone.link.reattached", extra={"drone_id": d.sysid})
                    d.emit(Reattached(d.sysid, down))


def _route_mavsdk_logs() -> None:
    """Send MAVSDK's C++ log lines to Python logging instead of stdout."""
    levels = {
        LogLevel.DEBUG: logging.DEBUG,
        LogLevel.INFO: logging.DEBUG,  # "New system on ..." per drone is noise at INFO
        LogLevel.WARN: logging.WARNING,
        LogLevel.ERROR: logging.ERROR,
    }

    def handler(level: LogLevel, message: str, _file: str | None, _line: int) -> bool:
        mavsdk_log.log(levels.get(level, logging.INFO), message)
        return True

    log_subscribe(handler)


@asynccontextmanager
async def open_drone_links(config: LinksConfig | None = None) -> AsyncIterator[DroneLinks]:
    """Start one MAVSDK ground station and yield ready :class:`DroneLinks`.

    Raises
    ------
    ConnectionError
        If a connection URL cannot be opened (e.g. the port is taken).
    """
    config = config or LinksConfig()
    loop = asyncio.get_running_loop()
    _route_mavsdk_logs()
    async with AsyncExitStack() as stack:
        if config.gil_switch_interval_s is not None:
            previous = sys.getswitchinterval()
            sys.setswitchinterval(min(previous, config.gil_switch_interval_s))
            stack.callback(sys.setswitchinterval, previous)
        mav_config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        mavsdk = Mavsdk(mav_config)
        stack.callback(mavsdk.destroy)
        for url in config.connections:
            try:
                await loop.run_in_executor(None, mavsdk.add_any_connection_with_handle, url)
            except (MavsdkError, ConnectionError) as exc:
                raise ConnectionError(f"cannot open MAVLink connection {url}: {exc}") from exc
        tg = await stack.enter_async_context(asyncio.TaskGroup())
        links = DroneLinks(config, mavsdk, tg)
        links._tasks += [
            tg.create_task(links._discovery(), name="fleet[links].discovery"),
            tg.create_task(links._watchdog(), name="fleet[links].watchdog"),
        ]
        links._state = _State.OPEN
        log.info("drone.links.open", extra={"connections": list(config.connections)})
        try:
            yield links
        finally:
            links._state = _State.CLOSED
            for task in links._tasks:
                task.cancel()
