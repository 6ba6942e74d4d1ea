"""Drones in the live fleet: identity, telemetry, commands, missions, fences and warnings.

`DroneService` sits between the MAVSDK links (`fleet.control`) and the rest of the service.
It keeps a drone's identity (MAVLink system id <-> unit id, stored, so a drone is the same
unit after a restart), feeds telemetry into the live state, records every command before it
is sent and its outcome after, and enforces the two flight-safety invariants before anything
flies: no path across an active no-fly zone, no leg the battery cannot finish with its reserve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fleet.control import (
    CommandOutcome,
    Discovered,
    DroneEvent,
    DroneLinks,
    FencePolygon,
    Geofence,
    GeoPoint,
    LinkLostEvent,
    MissionProgress,
    Reattached,
    StatusText,
    Telemetry,
    Waypoint,
)
from fleet.control import errors as control_errors
from fleet.control.mission import mission_items
from fleet.domain import MISSION_ACTIVE, SYSTEM, Command, Fence, Mission, MissionWaypoint, Principal
from fleet.errors import (
    CommandRejected,
    CommandTimeout,
    Conflict,
    DroneUnavailable,
    FleetError,
    LinkLost,
    NotFound,
)
from fleet.events import EventHub
from fleet.outbox import Outbox
from fleet.settings import Settings
from fleet.state import LiveState
from fleet.store.repo import Store
from fleet.types import CommandStatus, FenceKind, UnitKind, UnitStatus
from planners.geo import NoFlyZone
from planners.safety import (
    energy_check,
    orbit_violations,
    path_length_lonlat_m,
    path_violations,
)

log = logging.getLogger(__name__)

CHANNEL = "mavlink"


class NoFlyViolation(Conflict):
    """A path would cross an active no-fly zone; `fences` names them."""

    status = 422
    type = "no-fly-violation"
    title = "Path crosses a no-fly zone"


class BatteryInsufficient(Conflict):
    status = 409
    type = "battery-insufficient"
    title = "Battery cannot finish the leg with its reserve"


class FenceUploadFailed(FleetError):
    status = 502
    type = "fence-upload-failed"
    title = "Geofence could not be uploaded; launch refused"


@dataclass(slots=True)
class DroneLive:
    """What the service knows of a drone beyond the common live record."""

    unit_id: str
    sysid: int
    link_up: bool = False
    telemetry: Telemetry | None = None
    mission_id: str | None = None
    last_status_text: str | None = None
    # Where it returns to: the last position seen on the ground (its launch point).
    home: tuple[float, float] | None = None
    in_air: bool = False

    def to_dict(self) -> dict[str, Any]:
        t = self.telemetry
        return {
            "sysid": self.sysid,
            "link_up": self.link_up,
            "mission_id": self.mission_id,
            "flight_mode": t.flight_mode if t else None,
            "armed": t.armed if t else None,
            "in_air": t.in_air if t else None,
            "alt_rel_m": t.alt_rel_m if t else None,
            "alt_amsl_m": t.alt_amsl_m if t else None,
            "gps_fix": t.gps_fix if t else None,
            "health_ok": t.health_ok if t else None,
            "last_status_text": self.last_status_text,
            "home": list(self.home) if self.home else None,
        }


@dataclass(frozen=True, slots=True)
class _Landed:
    sysid: int


def _status_of(t: Telemetry) -> UnitStatus:
    if t.flight_mode in {"RETURN_TO_LAUNCH", "LAND"} and t.in_air:
        return UnitStatus.RETURNING
    return UnitStatus.BUSY if t.in_air else UnitStatus.AVAILABLE


def _translate(exc: control_errors.FleetError, unit_id: str) -> FleetError:
    """Map a link error to the service's error tree (the most specific class)."""
    detail = str(exc)
    if isinstance(exc, control_errors.DroneUnavailable):
        return DroneUnavailable(detail, drone_id=unit_id)
    if isinstance(exc, control_errors.LinkLost):
        return LinkLost(detail, drone_id=unit_id)
    if isinstance(exc, control_errors.CommandRejected):
        return CommandRejected(detail, drone_id=unit_id, result=exc.result.value)
    if isinstance(exc, control_errors.CommandTimeout):
        return CommandTimeout(detail, drone_id=unit_id)
    return FleetError(detail, drone_id=unit_id)


class DroneService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        state: LiveState,
        events: EventHub,
        links: DroneLinks,
        payload_outbox: Outbox,
    ) -> None:
        self.settings = settings
        self.store = store
        self.state = state
        self.events = events
        self.links = links
        self.payload = payload_outbox
        self.drones: dict[str, DroneLive] = {}
        self._by_sysid: dict[int, DroneLive] = {}
        self._work: asyncio.Queue[DroneEvent | _Landed] = asyncio.Queue()

    # --- start-up and identity --------------------------------------------------------

    async def load(self) -> None:
        """Known drones and their active missions, so a restart re-attaches to what flies."""
        for unit in await self.store.list_units(kind=UnitKind.DRONE):
            if unit.mavlink_sysid is not None:
                self._remember(unit.id, unit.mavlink_sysid)
        for mission in await self.store.list_missions(statuses=MISSION_ACTIVE, limit=10_000):
            drone = self.drones.get(mission.unit_id)
            if drone is not None:
                drone.mission_id = mission.id
        for sysid in self.links.drones():  # already discovered before we listened
            self._work.put_nowait(Discovered(sysid))

    def _remember(self, unit_id: str, sysid: int) -> DroneLive:
        drone = self.drones.get(unit_id)
        if drone is None:
            drone = DroneLive(unit_id=unit_id, sysid=sysid)
            self.drones[unit_id] = drone
            self._by_sysid[sysid] = drone
        return drone

    def drone(self, unit_id: str) -> DroneLive:
        """Raises NotFound for a unit that is not a known drone."""
        drone = self.drones.get(unit_id)
        if drone is None:
            raise NotFound(f"drone {unit_id!r} is not known", drone_id=unit_id)
        return drone

    # --- events from the links (on the loop; must not block) --------------------------

    def on_event(self, event: DroneEvent) -> None:
        if isinstance(event, Telemetry):
            drone = self._by_sysid.get(event.sysid)
            if drone is None or not event.position_known:
                return
            drone.telemetry = event
            if not event.in_air:
                drone.home = (event.lon_deg, event.lat_deg)
                if drone.in_air and drone.mission_id is not None:
                    self._work.put_nowait(_Landed(event.sysid))
            drone.in_air = event.in_air
            self.state.apply_position(
                drone.unit_id,
                event.lon_deg,
                event.lat_deg,
                alt_m=event.alt_rel_m,
                speed_mps=event.ground_speed_mps,
                heading_deg=event.heading_deg % 360,
                battery_pct=event.battery_pct if math.isfinite(event.battery_pct) else None,
                status=_status_of(event),
            )
            return
        self._work.put_nowait(event)

    async def run(self) -> None:
        """Serve link events that need the database, in order."""
        while True:
            event = await self._work.get()
            try:
                await self._handle(event)
            except Exception:
                log.exception("drone.event.failed", extra={"event": type(event).__name__})

    async def _handle(self, event: DroneEvent | _Landed) -> None:
        if isinstance(event, _Landed):
            drone = self._by_sysid.get(event.sysid)
            if drone is not None:
                await self._landed(drone)
            return
        if isinstance(event, Discovered):
            await self._discovered(event.sysid)
            return
        drone = self._by_sysid.get(event.sysid)
        if drone is None:
            return
        if isinstance(event, LinkLostEvent):
            drone.link_up = False
            self.state.set_online(drone.unit_id, False)
            self.events.publish(
                "drone.link_lost",
                {
                    "unit_id": drone.unit_id,
                    "sysid": drone.sysid,
                    "silent_s": round(event.silent_s, 2),
                },
            )
        elif isinstance(event, Reattached):
            drone.link_up = True
            self.events.publish(
                "drone.reattached",
                {"unit_id": drone.unit_id, "sysid": drone.sysid, "down_s": round(event.down_s, 2)},
            )
        elif isinstance(event, MissionProgress):
            await self._progress(drone, event)
        elif isinstance(event, StatusText):
            drone.last_status_text = event.text
            kind = "drone.fence_breach" if "fence" in event.text.lower() else "drone.status_text"
            self.events.publish(
                kind, {"unit_id": drone.unit_id, "severity": event.severity, "text": event.text}
            )

    async def _discovered(self, sysid: int) -> None:
        drone = self._by_sysid.get(sysid)
        if drone is None:
            unit = await self.store.unit_by_sysid(sysid)
            if unit is None:
                unit = await self.store.create_unit(
                    SYSTEM,
                    kind=UnitKind.DRONE,
                    unit_id=f"drone-{sysid}",
                    name=f"Drone {sysid}",
                    mavlink_sysid=sysid,
                )
            self.state.register(unit)
            drone = self._remember(unit.id, sysid)
        drone.link_up = True
        self.events.publish("drone.discovered", {"unit_id": drone.unit_id, "sysid": sysid})

    async def _progress(self, drone: DroneLive, p: MissionProgress) -> None:
        if drone.mission_id is None:
            return
        mission = await self.store.update_mission(
            drone.mission_id, current_item=p.current, reached=p.reached
        )
        status = None
        if mission.status in {"uploaded", "paused"} and p.current > 0:
            status = "running"
        if p.finished or (mission.total_items and len(mission.reached) >= mission.total_items):
            status = "completed"
        if status:
            mission = await self.store.update_mission(drone.mission_id, status=status, actor=SYSTEM)
        self.events.publish("mission.progress", _mission_event(mission))
        if mission.status == "completed":
            drone.mission_id = None

    async def _landed(self, drone: DroneLive) -> None:
        """A drone with a mission touched down: the mission is over, one way or the other."""
        if drone.mission_id is None:
            return
        mission = await self.store.get_mission(drone.mission_id)
        if mission.status != "running":
            return
        # Complete when the last waypoint was reached (the RTL item after it, if any, is
        # the way home) or the autopilot had moved on to the last item.
        last_waypoint = mission.total_items - 1 - (1 if mission.return_home else 0)
        done = mission.current_item >= mission.total_items - 1 or (
            bool(mission.reached) and max(mission.reached) >= last_waypoint
        )
        if done:
            mission = await self.store.update_mission(mission.id, status="completed", actor=SYSTEM)
        else:
            mission = await self.store.update_mission(
                mission.id,
                status="failed",
                actor=SYSTEM,
                error=f"landed at item {mission.current_item} of {mission.total_items} "
                f"({drone.last_status_text or 'no reason given by the autopilot'})",
            )
        drone.mission_id = None
        self.events.publish(f"mission.{mission.status}", _mission_event(mission))

    # --- commands: recorded before, outcome after -------------------------------------

    async def command(
        self,
        actor: Principal,
        unit_id: str,
        kind: str,
        payload: dict[str, Any],
        call: Callable[[int], Awaitable[CommandOutcome]],
        *,
        correlation_id: str | None = None,
    ) -> Command:
        """Record `kind`, run `call(sysid)`, record its outcome; raise the service's error
        (after recording it) when the autopilot refuses or the link fails."""
        drone = self.drone(unit_id)
        cmd = await self.store.record_command(
            actor,
            unit_id=unit_id,
            channel=CHANNEL,
            kind=kind,
            payload=payload,
            timeout_s=self.links.config.timeouts.mission_upload_s,
            correlation_id=correlation_id,
        )
        await self.store.update_command(cmd.id, CommandStatus.SENT, attempt=True)
        try:
            outcome = await call(drone.sysid)
        except control_errors.FleetError as exc:
            status = (
                CommandStatus.TIMED_OUT
                if isinstance(exc, control_errors.CommandTimeout)
                else CommandStatus.FAILED
            )
            await self.store.update_command(cmd.id, status, error=str(exc))
            self.events.publish(
                "command.failed",
                {"id": cmd.id, "unit_id": unit_id, "kind": kind, "error": str(exc)},
            )
            raise _translate(exc, unit_id) from exc
        except BaseException as exc:
            # Cancelled or crashed mid-command: the record must not stay "sent" forever.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self.store.update_command(
                        cmd.id, CommandStatus.FAILED, error=f"interrupted: {type(exc).__name__}"
                    )
            raise
        done = await self.store.update_command(
            cmd.id,
            CommandStatus.ACKED,
            result={
                "result": outcome.result.value,
                "attempts": outcome.attempts,
                "elapsed_s": round(outcome.elapsed_s, 3),
            },
        )
        self.events.publish("command.acked", {"id": cmd.id, "unit_id": unit_id, "kind": kind})
        return done

    # --- safety -----------------------------------------------------------------------

    async def _no_fly_zones(self) -> list[tuple[Fence, NoFlyZone]]:
        out = []
        for fence in await self.store.list_fences(kind=FenceKind.NO_FLY, active=True):
            for i, ring in enumerate(_outer_rings(fence.geometry)):
                zid = fence.id if i == 0 else f"{fence.id}#{i}"
                out.append((fence, NoFlyZone(id=zid, polygon=tuple(ring[:-1]))))
        return out

    async def check_path(self, path: Sequence[tuple[float, float]]) -> None:
        """Raise NoFlyViolation naming every active no-fly fence the path crosses."""
        zones = await self._no_fly_zones()
        hits = path_violations(path, [z for _, z in zones], margin_m=self.settings.nofly_margin_m)
        _refuse(zones, hits, "path")

    async def check_orbit(self, lon: float, lat: float, radius_m: float) -> None:
        """Raise NoFlyViolation when the orbit circle touches an active no-fly fence."""
        zones = await self._no_fly_zones()
        hits = orbit_violations(
            (lon, lat), radius_m, [z for _, z in zones], margin_m=self.settings.nofly_margin_m
        )
        _refuse(zones, hits, "orbit")

    def check_energy(
        self,
        unit_id: str,
        path: Sequence[tuple[float, float]],
        *,
        speed_mps: float,
        hover_s: float = 0.0,
    ) -> None:
        """Raise BatteryInsufficient unless the drone can fly `path` (which must end where it
        lands) and keep its reserve."""
        live = self.state.get(unit_id)
        battery = live.battery_pct if live and live.battery_pct is not None else None
        if battery is None:
            raise BatteryInsufficient(
                f"battery of {unit_id} unknown: no telemetry yet", drone_id=unit_id
            )
        check = energy_check(
            distance_m=path_length_lonlat_m(path),
            speed_mps=speed_mps,
            battery_pct=battery,
            endurance_s=self.settings.drone_endurance_s,
            reserve_pct=self.settings.drone_reserve_pct,
            hover_s=hover_s,
        )
        if not check.ok:
            raise BatteryInsufficient(
                f"{unit_id} {check.reason}",
                drone_id=unit_id,
                needed_pct=round(check.needed_pct, 1),
                battery_pct=round(battery, 1),
            )

    def position(self, unit_id: str) -> tuple[float, float]:
        live = self.state.get(unit_id)
        if live is None or live.lon is None or live.lat is None:
            raise DroneUnavailable(f"{unit_id} has not reported a position yet", drone_id=unit_id)
        return live.lon, live.lat

    def home(self, unit_id: str) -> tuple[float, float]:
        """Where the drone returns to: its launch point (last position on the ground)."""
        home = self.drone(unit_id).home
        return home if home is not None else self.position(unit_id)

    async def upload_fences(self, actor: Principal, unit_id: str) -> Command | None:
        """Upload the active keep-in and no-fly fences to the drone (before it flies).

        Raises
        ------
        FenceUploadFailed
            When fences exist but the drone did not take them: the launch must be refused.
        """
        keep_in = await self.store.list_fences(kind=FenceKind.KEEP_IN, active=True)
        no_fly = await self._no_fly_zones()
        if not keep_in and not no_fly:
            return None
        fence = Geofence(
            keep_in=_fence_polygon(_outer_rings(keep_in[0].geometry)[0]) if keep_in else None,
            keep_out=tuple(_fence_polygon([*z.polygon, z.polygon[0]]) for _, z in no_fly),
        )
        try:
            return await self.command(
                actor,
                unit_id,
                "upload_geofence",
                {
                    "keep_in": [f.id for f in keep_in[:1]],
                    "no_fly": sorted({f.id for f, _ in no_fly}),
                },
                lambda sysid: self.links.upload_geofence(sysid, fence),
            )
        except FleetError as exc:
            raise FenceUploadFailed(
                f"geofence upload to {unit_id} failed ({exc.detail}); launch refused",
                drone_id=unit_id,
            ) from exc

    # --- direct flight: go to, orbit ---------------------------------------------------

    async def _airborne(
        self, actor: Principal, unit_id: str, alt_m: float, correlation_id: str | None
    ) -> None:
        """Take off first when the drone is on the ground (an autopilot refuses a reposition
        while landed); the take-off is its own recorded command."""
        if self.drone(unit_id).in_air:
            return
        await self.command(
            actor,
            unit_id,
            "takeoff",
            {"alt_m": alt_m},
            lambda sysid: self.links.arm_and_takeoff(sysid, alt_m),
            correlation_id=correlation_id,
        )

    async def fly_to(
        self,
        actor: Principal,
        unit_id: str,
        *,
        lon: float,
        lat: float,
        alt_m: float,
        speed_mps: float | None = None,
        hover_s: float = 0.0,
        correlation_id: str | None = None,
    ) -> Command:
        """Go to a point, fence-safe and battery-checked (there and back home, plus
        `hover_s` on station), taking off first if needed; any mission is ended.

        Raises
        ------
        NoFlyViolation, BatteryInsufficient, FenceUploadFailed, DroneUnavailable, LinkLost,
        CommandRejected
        """
        here = self.position(unit_id)
        await self.check_path([here, (lon, lat)])
        speed = speed_mps or self.settings.drone_cruise_speed_mps
        self.check_energy(
            unit_id, [here, (lon, lat), self.home(unit_id)], speed_mps=speed, hover_s=hover_s
        )
        await self.upload_fences(actor, unit_id)
        await self.end_mission(actor, unit_id, "aborted")
        await self._airborne(actor, unit_id, alt_m, correlation_id)
        return await self.command(
            actor,
            unit_id,
            "goto",
            {"lon": lon, "lat": lat, "alt_m": alt_m, "speed_mps": speed_mps},
            lambda sysid: self.links.goto(
                sysid, lon_deg=lon, lat_deg=lat, alt_m=alt_m, speed_mps=speed_mps
            ),
            correlation_id=correlation_id,
        )

    async def orbit(
        self,
        actor: Principal,
        unit_id: str,
        *,
        lon: float,
        lat: float,
        radius_m: float,
        velocity_mps: float,
        alt_m: float,
        correlation_id: str | None = None,
    ) -> Command:
        """Circle a point; the way there and the circle itself must be clear of no-fly zones.

        Raises
        ------
        NoFlyViolation, FenceUploadFailed, DroneUnavailable, LinkLost, CommandRejected
        """
        here = self.position(unit_id)
        await self.check_path([here, (lon, lat)])
        await self.check_orbit(lon, lat, radius_m)
        await self.upload_fences(actor, unit_id)
        await self.end_mission(actor, unit_id, "aborted")
        await self._airborne(actor, unit_id, alt_m, correlation_id)
        return await self.command(
            actor,
            unit_id,
            "orbit",
            {
                "lon": lon,
                "lat": lat,
                "radius_m": radius_m,
                "velocity_mps": velocity_mps,
                "alt_m": alt_m,
            },
            lambda sysid: self.links.orbit(
                sysid,
                centre=GeoPoint(lat_deg=lat, lon_deg=lon),
                radius_m=radius_m,
                velocity_mps=velocity_mps,
                alt_m=alt_m,
            ),
            correlation_id=correlation_id,
        )

    # --- missions ---------------------------------------------------------------------

    async def create_mission(
        self,
        actor: Principal,
        unit_id: str,
        waypoints: Sequence[MissionWaypoint],
        *,
        speed_mps: float | None,
        return_home: bool,
        source: str = "api",
        correlation_id: str | None = None,
    ) -> Mission:
        """Check, record and upload a mission (fences first). Returns it `uploaded`.

        Raises
        ------
        NoFlyViolation, BatteryInsufficient, FenceUploadFailed, DroneUnavailable, LinkLost,
        CommandRejected, Conflict (another mission is running)
        """
        drone = self.drone(unit_id)
        if not waypoints:
            raise Conflict("a mission needs at least one waypoint")
        if drone.mission_id is not None:
            current = await self.store.get_mission(drone.mission_id)
            if current.status == "running":
                raise Conflict(
                    f"{unit_id} is flying mission {current.id}; abort or wait for it",
                    mission_id=current.id,
                )
        start = self.position(unit_id)
        path = [start, *((w.lon, w.lat) for w in waypoints)]
        if return_home:
            path.append(self.home(unit_id))
        await self.check_path(path)
        speed = speed_mps or self.settings.drone_cruise_speed_mps
        self.check_energy(
            unit_id,
            path if return_home else [*path, start],
            speed_mps=speed,
            hover_s=sum(w.loiter_s for w in waypoints),
        )
        link_waypoints = [
            Waypoint(
                lat_deg=w.lat,
                lon_deg=w.lon,
                alt_m=w.alt_m,
                speed_mps=w.speed_mps or speed_mps,
                loiter_s=w.loiter_s,
            )
            for w in waypoints
        ]
        total = len(mission_items(link_waypoints, return_home=return_home))
        mission = await self.store.create_mission(
            actor,
            unit_id=unit_id,
            waypoints=waypoints,
            return_home=return_home,
            speed_mps=speed_mps,
            total_items=total,
            source=source,
            correlation_id=correlation_id,
        )
        try:
            await self.upload_fences(actor, unit_id)
            await self.command(
                actor,
                unit_id,
                "upload_mission",
                {"mission_id": mission.id, "items": total, "return_home": return_home},
                lambda sysid: self.links.upload_mission(
                    sysid, link_waypoints, return_home=return_home
                ),
                correlation_id=mission.id,
            )
        except FleetError as exc:
            await self.store.update_mission(
                mission.id, status="failed", error=exc.detail, actor=actor
            )
            raise
        drone.mission_id = mission.id
        mission = await self.store.update_mission(mission.id, status="uploaded", actor=actor)
        self.events.publish("mission.uploaded", _mission_event(mission))
        return mission

    async def _own_mission(self, unit_id: str, mission_id: str) -> Mission:
        mission = await self.store.get_mission(mission_id)
        if mission.unit_id != unit_id:
            raise NotFound(f"mission {mission_id!r} is not {unit_id}'s", mission_id=mission_id)
        return mission

    async def start_mission(self, actor: Principal, unit_id: str, mission_id: str) -> Mission:
        mission = await self._own_mission(unit_id, mission_id)
        drone = self.drone(unit_id)
        if mission.status != "uploaded" or drone.mission_id != mission_id:
            raise Conflict(
                f"mission {mission_id} is {mission.status}; only the drone's uploaded mission "
                "can start",
                mission_id=mission_id,
            )
        self.check_energy(
            unit_id,
            [
                self.position(unit_id),
                *((w.lon, w.lat) for w in mission.waypoints),
                self.home(unit_id),
            ],
            speed_mps=mission.speed_mps or self.settings.drone_cruise_speed_mps,
            hover_s=sum(w.loiter_s for w in mission.waypoints),
        )
        await self.command(
            actor,
            unit_id,
            "start_mission",
            {"mission_id": mission_id},
            self.links.start_mission,
            correlation_id=mission_id,
        )
        mission = await self.store.update_mission(mission_id, status="running", actor=actor)
        self.events.publish("mission.started", _mission_event(mission))
        return mission

    async def end_mission(self, actor: Principal, unit_id: str, status: str) -> None:
        drone = self.drone(unit_id)
        if drone.mission_id is None:
            return
        mission = await self.store.update_mission(drone.mission_id, status=status, actor=actor)
        drone.mission_id = None
        self.events.publish(f"mission.{status}", _mission_event(mission))

    # --- payload warnings -------------------------------------------------------------

    async def send_warning(
        self,
        actor: Principal,
        unit_id: str,
        *,
        kind: str,
        payload: dict[str, Any],
        timeout_s: float,
        correlation_id: str | None = None,
    ) -> Command:
        """Queue a loudspeaker/spotlight order for the drone's payload companion; the record
        keeps who, which drone, where and what was said."""
        self.drone(unit_id)
        live = self.state.get(unit_id)
        where = (
            {"lon": live.lon, "lat": live.lat, "alt_m": live.alt_m}
            if live is not None and live.lon is not None
            else None
        )
        return await self.payload.submit(
            actor,
            unit_id,
            kind,
            {**payload, "position": where},
            timeout_s=timeout_s,
            correlation_id=correlation_id,
        )

    def snapshot(self, unit_id: str) -> dict[str, Any]:
        return self.drone(unit_id).to_dict()


def _refuse(zones: Sequence[tuple[Fence, NoFlyZone]], hits: Sequence[str], what: str) -> None:
    if not hits:
        return
    names = {f.id: f.name for f, _ in zones}
    fence_ids = sorted({h.split("#")[0] for h in hits})
    raise NoFlyViolation(
        f"{what} crosses no-fly zone " + ", ".join(f"{names[f]!r} ({f})" for f in fence_ids),
        fences=[{"id": f, "name": names[f]} for f in fence_ids],
    )


def _outer_rings(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    polygon = geometry["type"] == "Polygon"
    polys = [geometry["coordinates"]] if polygon else geometry["coordinates"]
    return [[(float(p[0]), float(p[1])) for p in poly[0]] for poly in polys]


def _fence_polygon(ring: Sequence[tuple[float, float]]) -> FencePolygon:
    pts = list(ring)
    if pts and pts[0] == pts[-1]:
        pts = pts[:-1]
    return FencePolygon(tuple(GeoPoint(lat_deg=lat, lon_deg=lon) for lon, lat in pts))


def _mission_event(m: Mission) -> dict[str, Any]:
    return {
        "id": m.id,
        "unit_id": m.unit_id,
        "status": m.status,
        "current_item": m.current_item,
        "total_items": m.total_items,
        "reached": list(m.reached),
    }


__all__ = [
    "BatteryInsufficient",
    "DroneLive",
    "DroneService",
    "FenceUploadFailed",
    "NoFlyViolation",
]
