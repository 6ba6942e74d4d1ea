"""The live dispatcher: turns incidents into calls, assignments and drone launches.

Every decision comes from `fleet.dispatch.policy` (the same functions the city simulation
runs); this module only gathers the snapshot, sends the commands through the outbox and the
drone service, records assignments, and follows each response until the incident is closed:
acknowledgements, replacements, escalation, arrival on scene.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from shapely.geometry import shape

from fleet.dispatch.policy import (
    DispatchPolicy,
    FleetSnapshot,
    Recommendation,
    ResponsePlan,
    next_best,
    plan_response,
    recommend,
)
from fleet.dispatch.redeploy import Move, Post, redeploy
from fleet.domain import Incident, Principal
from fleet.drones import DroneService
from fleet.errors import Conflict, NotFound, PatrolfleetError
from fleet.events import EventHub
from fleet.outbox import Outbox
from fleet.settings import Settings
from fleet.state import LiveState, haversine_m
from fleet.store.repo import Store
from fleet.types import (
    INCIDENT_TRANSITIONS,
    TERMINAL_INCIDENT_STATES,
    CommandStatus,
    FenceKind,
    IncidentState,
    Role,
    UnitKind,
    UnitStatus,
)
from planners.geo import Airspace, NoFlyZone, Projection

log = logging.getLogger(__name__)

DISPATCH = Principal(name="dispatch", role=Role.OPERATOR)
_SNAPSHOT_TTL_S = 1.0  # positions older than this are fine for ranking; rebuilds cost ms
ON_SCENE_RADIUS_M = 50.0
DRONE_ON_SCENE_RADIUS_M = 40.0


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    incident_id: str
    plan: ResponsePlan
    recommendations: tuple[Recommendation, ...]


class Dispatcher:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        state: LiveState,
        events: EventHub,
        outbox: Outbox,
        drones: DroneService | None,
        policy: DispatchPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.state = state
        self.events = events
        self.outbox = outbox
        self.drones = drones
        self.policy = policy or DispatchPolicy(
            drone_cruise_speed_mps=settings.drone_cruise_speed_mps,
            drone_reserve_pct=settings.drone_reserve_pct,
            drone_endurance_s=settings.drone_endurance_s,
        )
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._snapshot: FleetSnapshot | None = None
        self._snapshot_at = -math.inf
        self._airspace: tuple[Projection, Airspace | None] | None = None
        self._airspace_at = -math.inf
        self.responses: dict[str, ResponseRecord] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._replan = asyncio.Event()
        self.post_of: dict[str, str] = {}  # unit -> standby post it was last sent to
        self.last_replan_ms: float | None = None

    # --- snapshot -----------------------------------------------------------------------

    def _projection(self) -> Projection:
        if self._airspace is not None:
            return self._airspace[0]
        located = [(u.lon, u.lat) for u in self.state.units.values() if u.lon is not None]
        return Projection.centred_on(located or [(24.9384, 60.1699)])  # type: ignore[arg-type]

    async def airspace(self) -> tuple[Projection, Airspace | None]:
        """The active no-fly zones in the dispatch projection (refreshed every few seconds)."""
        now = time.monotonic()
        if self._airspace is None or now - self._airspace_at > 5.0:
            proj = self._projection()
            zones = []
            for fence in await self.store.list_fences(kind=FenceKind.NO_FLY, active=True):
                geom = fence.geometry
                polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
                for i, poly in enumerate(polys):
                    ring = tuple((float(p[0]), float(p[1])) for p in poly[0][:-1])
                    zones.append(NoFlyZone(id=f"{fence.id}#{i}", polygon=ring))
            airspace = (
                Airspace.from_lonlat(proj, zones, margin_m=self.settings.nofly_margin_m)
                if zones
                else None
            )
            self._airspace, self._airspace_at = (proj, airspace), now
        return self._airspace

    def snapshot(self) -> FleetSnapshot:
        """Every located unit, cached for a second."""
        now = time.monotonic()
        if self._snapshot is not None and now - self._snapshot_at < _SNAPSHOT_TTL_S:
            return self._snapshot
        proj = self._projection()
        rows = []
        busy = {UnitStatus.BUSY, UnitStatus.RETURNING, UnitStatus.CHARGING, UnitStatus.OFFLINE}
        for u in self.state.units.values():
            if u.lon is None or u.lat is None:
                continue
            drone = u.kind is UnitKind.DRONE
            available = u.online and (drone or u.on_duty) and u.status not in busy
            if drone and self.drones is not None:
                d = self.drones.drones.get(u.unit_id)
                available = available and d is not None and d.link_up and d.mission_id is None
            rows.append(
                (
                    u.unit_id,
                    u.kind,
                    u.lon,
                    u.lat,
                    available,
                    u.battery_pct if u.battery_pct is not None else math.nan,
                    u.alt_m or 0.0,
                )
            )
        docks = []
        if self.drones is not None:
            docks = [d.home for d in self.drones.drones.values() if d.home is not None]
        self._snapshot = FleetSnapshot.build(proj, rows, docks)
        self._snapshot_at = now
        return self._snapshot

    def invalidate(self) -> None:
        self._snapshot_at = -math.inf

    async def recommendations(
        self, incident: Incident, *, limit: int = 50, within_s: float | None = None
    ) -> list[Recommendation]:
        _, airspace = await self.airspace()
        return recommend(
            self.snapshot(),
            (incident.lon, incident.lat),
            self.policy,
            airspace=airspace,
            limit=limit,
            within_s=within_s,
        )

    # --- intake ---------------------------------------------------------------------------

    async def find_duplicate(self, category: str, lon: float, lat: float) -> Incident | None:
        """An open incident of the same category within the merge radius and window."""
        since = datetime.now(UTC) - timedelta(seconds=self.settings.dedup_window_s)
        open_states = [s for s in IncidentState if s not in TERMINAL_INCIDENT_STATES]
        incidents, _ = await self.store.list_incidents(
            states=open_states, category=category, since=since, limit=200
        )
        best: tuple[float, Incident] | None = None
        for inc in incidents:
            d = float(haversine_m(lon, lat, np.array([inc.lon]), np.array([inc.lat]))[0])
            if d <= self.settings.dedup_radius_m and (best is None or d < best[0]):
                best = (d, inc)
        return best[1] if best else None

    def submit(self, incident_id: str) -> None:
        """Queue a new incident for dispatch (called by the API and the alert intake)."""
        self._queue.put_nowait(incident_id)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            tg.create_task(self._replanner(), name="dispatch.replanner")
            while True:
                incident_id = await self._queue.get()
                tg.create_task(self._respond_safely(incident_id), name=f"dispatch[{incident_id}]")

    async def _respond_safely(self, incident_id: str) -> None:
        try:
            await self.respond(incident_id)
        except PatrolfleetError as exc:
            log.warning("dispatch.failed", extra={"incident_id": incident_id, "detail": exc.detail})
            self.events.publish(
                "incident.dispatch_failed", {"id": incident_id, "detail": exc.detail}
            )
        except Exception:
            log.exception("dispatch.crashed", extra={"incident_id": incident_id})

    # --- dynamic re-deployment ---------------------------------------------------------

    def request_replan(self) -> None:
        """Units were pulled away or came back: re-plan the standby posts soon."""
        self._replan.set()

    async def _replanner(self) -> None:
        while True:
            await self._replan.wait()
            await asyncio.sleep(0.5)  # one re-plan for a burst of changes
            self._replan.clear()
            try:
                await self.replan_posts()
            except Exception:
                log.exception("dispatch.replan.failed")

    async def _posts(self) -> list[Post]:
        """Standby posts are the active checkpoint zones; each weighs 1 plus the incidents
        of the last 30 days within 500 m at this hour of the day (so posts follow the
        incident history by hour)."""
        checkpoints = await self.store.list_fences(kind=FenceKind.CHECKPOINT, active=True)
        if not checkpoints:
            return []
        now = datetime.now(UTC)
        history, _ = await self.store.list_incidents(since=now - timedelta(days=30), limit=100_000)
        same_hour = [i for i in history if i.created_at.hour == now.hour]
        lons = np.array([i.lon for i in same_hour])
        lats = np.array([i.lat for i in same_hour])
        posts = []
        for fence in checkpoints:
            centre = shape(fence.geometry).centroid
            near = (
                int(np.count_nonzero(haversine_m(centre.x, centre.y, lons, lats) <= 500))
                if len(lons)
                else 0
            )
            weight = float(fence.properties.get("weight", 1.0)) + near
            posts.append(Post(fence.id, centre.x, centre.y, weight))
        return posts

    async def replan_posts(self) -> list[Move]:
        """Send idle ground units to the standby posts that matter most (warm start)."""
        posts = await self._posts()
        if not posts:
            return []
        started = time.perf_counter()
        self.invalidate()
        moves = redeploy(self.snapshot(), posts, self.policy, previous=self.post_of)
        self.last_replan_ms = 1000 * (time.perf_counter() - started)
        lonlat = {p.id: (p.lon, p.lat) for p in posts}
        for m in moves:
            await self.outbox.submit(
                DISPATCH,
                m.unit_id,
                "reposition",
                {
                    "post_id": m.post_id,
                    "lon": lonlat[m.post_id][0],
                    "lat": lonlat[m.post_id][1],
                    "eta_s": round(m.eta_s),
                },
                timeout_s=self.settings.command_timeout_s,
            )
            self.post_of[m.unit_id] = m.post_id
        self.events.publish(
            "dispatch.redeployed",
            {
                "moves": [{"unit_id": m.unit_id, "post_id": m.post_id} for m in moves],
                "computed_ms": round(self.last_replan_ms, 1),
            },
        )
        return moves

    # --- the response -------------------------------------------------------------------

    async def respond(self, incident_id: str) -> ResponseRecord:
        """Decide and launch the multi-point response to one incident, then follow it."""
        incident = await self.store.get_incident(incident_id)
        if incident.state is not IncidentState.NEW:
            raise Conflict(f"incident {incident_id} is {incident.state.value}, not new")
        # Everyone who can make the slowest tier, for the multi-point call and replacements.
        recs = await self.recommendations(incident, limit=50, within_s=self.policy.tiers_s[-1])
        plan = plan_response(
            recs, category=incident.category, priority=incident.priority, policy=self.policy
        )
        record = ResponseRecord(incident_id, plan, tuple(recs))
        self.responses[incident_id] = record
        if plan.referred:
            await self.store.transition_incident(
                DISPATCH,
                incident_id,
                IncidentState.REFERRED,
                note=f"category {incident.category!r} goes to the non-emergency desk",
            )
            self.events.publish(
                "incident.referred", {"id": incident_id, "category": incident.category}
            )
            return record
        info = {
            "incident_id": incident_id,
            "category": incident.category,
            "priority": incident.priority,
            "lon": incident.lon,
            "lat": incident.lat,
            "description": incident.description,
        }
        assigned = {a.unit_id: a for a in plan.assigned}
        commands: dict[str, str] = {}
        for unit_id in plan.called:
            a = assigned.get(unit_id)
            if a is None:
                await self.outbox.submit(
                    DISPATCH,
                    unit_id,
                    "alert",
                    info,
                    timeout_s=self.settings.command_timeout_s,
                    correlation_id=incident_id,
                )
                continue
            cmd = await self.outbox.submit(
                DISPATCH,
                unit_id,
                "dispatch",
                {**info, "role": a.role, "tier": a.tier, "eta_s": round(a.eta_s)},
                timeout_s=self.settings.dispatch_ack_timeout_s,
                correlation_id=incident_id,
            )
            commands[unit_id] = cmd.id
            await self.store.create_assignment(
                DISPATCH,
                incident_id=incident_id,
                unit_id=unit_id,
                status="notified",
                tier=a.tier,
                eta_s=a.eta_s,
                command_id=cmd.id,
            )
        if plan.assigned or plan.drone:
            await self.store.transition_incident(DISPATCH, incident_id, IncidentState.DISPATCHED)
            self.events.publish(
                "incident.dispatched",
                {
                    "id": incident_id,
                    "called": list(plan.called),
                    "assigned": [a.unit_id for a in plan.assigned],
                    "drone": plan.drone.unit_id if plan.drone else None,
                },
            )
        if plan.unmet_tiers:
            await self.store.audit(
                DISPATCH,
                "incident.escalate",
                "incident",
                incident_id,
                {"unmet_tiers": list(plan.unmet_tiers)},
            )
            self.events.publish(
                "incident.escalated", {"id": incident_id, "unmet_tiers": list(plan.unmet_tiers)}
            )
        async with asyncio.TaskGroup() as tg:
            if plan.drone is not None and self.drones is not None:
                tg.create_task(
                    self._drone_first(incident, plan.drone.unit_id),
                    name=f"dispatch[{incident_id}].drone",
                )
            for unit_id, command_id in commands.items():
                tg.create_task(
                    self._follow(
                        incident,
                        recs,
                        assigned[unit_id].tier,
                        unit_id,
                        command_id,
                        set(assigned),
                    ),
                    name=f"dispatch[{incident_id}].{unit_id}",
                )
        return record

    async def _follow(
        self,
        incident: Incident,
        recs: list[Recommendation],
        tier: int,
        unit_id: str,
        command_id: str,
        tried: set[str],
    ) -> None:
        """Wait for a responder's answer; replace it with the next best when it does not
        accept in time (bounded), then watch for its arrival."""
        bound = dict(zip((1, 3, 5), self.policy.tiers_s, strict=True))[tier]
        for _ in range(self.settings.dispatch_max_replacements + 1):
            cmd = await self.outbox.wait_outcome(command_id)
            assignment = next(
                a
                for a in await self.store.list_assignments(incident_id=incident.id, unit_id=unit_id)
                if a.command_id == command_id
            )
            if cmd.status is CommandStatus.ACKED:
                await self.store.set_assignment_status(DISPATCH, assignment.id, "accepted")
                self.post_of.pop(unit_id, None)
                self.request_replan()  # a unit left its post: close the hole
                await self._advance(incident.id, IncidentState.EN_ROUTE)
                self.events.publish(
                    "assignment.accepted",
                    {"incident_id": incident.id, "unit_id": unit_id, "tier": tier},
                )
                await self._watch_arrival(incident, unit_id, ON_SCENE_RADIUS_M)
                return
            await self.store.set_assignment_status(DISPATCH, assignment.id, "replaced")
            self.events.publish(
                "assignment.replaced",
                {"incident_id": incident.id, "unit_id": unit_id, "reason": cmd.status.value},
            )
            tried.add(unit_id)
            replacement = next_best(recs, tried)
            if replacement is None or replacement.eta_s > bound:
                # Nobody left who makes this tier in time: say so (the next best still goes).
                await self.store.audit(
                    DISPATCH,
                    "incident.escalate",
                    "incident",
                    incident.id,
                    {"unmet_tiers": [tier], "after": unit_id},
                )
                self.events.publish(
                    "incident.escalated", {"id": incident.id, "unmet_tiers": [tier]}
                )
            if replacement is None:
                return
            unit_id = replacement.unit_id
            tried.add(unit_id)
            new = await self.outbox.submit(
                DISPATCH,
                unit_id,
                "dispatch",
                {
                    "incident_id": incident.id,
                    "category": incident.category,
                    "priority": incident.priority,
                    "lon": incident.lon,
                    "lat": incident.lat,
                    "role": "replacement",
                    "tier": tier,
                    "eta_s": round(replacement.eta_s),
                },
                timeout_s=self.settings.dispatch_ack_timeout_s,
                correlation_id=incident.id,
            )
            command_id = new.id
            await self.store.create_assignment(
                DISPATCH,
                incident_id=incident.id,
                unit_id=unit_id,
                status="notified",
                tier=tier,
                eta_s=replacement.eta_s,
                command_id=new.id,
            )

    async def _advance(self, incident_id: str, to: IncidentState) -> None:
        """Move the incident forward if that move is still allowed (races are normal)."""
        incident = await self.store.get_incident(incident_id)
        if to in INCIDENT_TRANSITIONS[incident.state]:
            with contextlib.suppress(Conflict):
                updated = await self.store.transition_incident(DISPATCH, incident_id, to)
                self.events.publish(
                    f"incident.{to.value}", {"id": incident_id, "state": updated.state.value}
                )

    async def _watch_arrival(self, incident: Incident, unit_id: str, radius_m: float) -> bool:
        """Until the unit is within `radius_m` of the incident (or it is closed)."""
        deadline = time.monotonic() + self.settings.arrival_timeout_s
        while time.monotonic() < deadline:
            live = self.state.get(unit_id)
            if live is not None and live.lon is not None and live.lat is not None:
                d = float(
                    haversine_m(
                        incident.lon, incident.lat, np.array([live.lon]), np.array([live.lat])
                    )[0]
                )
                if d <= radius_m:
                    await self._advance(incident.id, IncidentState.ON_SCENE)
                    self.events.publish(
                        "unit.on_scene", {"incident_id": incident.id, "unit_id": unit_id}
                    )
                    return True
            current = await self.store.get_incident(incident.id)
            if current.state in TERMINAL_INCIDENT_STATES:
                return False
            await asyncio.sleep(0.5)
        return False

    async def _drone_first(self, incident: Incident, drone_id: str) -> None:
        """Launch the drone on a fence-safe path, orbit on arrival, warn if the policy says."""
        assert self.drones is not None
        drones = self.drones
        assignment = await self.store.create_assignment(
            DISPATCH,
            incident_id=incident.id,
            unit_id=drone_id,
            status="launching",
            tier=1,
        )
        try:
            await drones.fly_to(
                DISPATCH,
                drone_id,
                lon=incident.lon,
                lat=incident.lat,
                alt_m=self.policy.drone_cruise_alt_m,
                hover_s=self.settings.drone_on_station_s,
                correlation_id=incident.id,
            )
        except PatrolfleetError as exc:
            await self.store.set_assignment_status(DISPATCH, assignment.id, "failed")
            self.events.publish(
                "drone.dispatch_failed",
                {"incident_id": incident.id, "unit_id": drone_id, "detail": exc.detail},
            )
            return
        self.invalidate()
        await self.store.set_assignment_status(DISPATCH, assignment.id, "en_route")
        await self._advance(incident.id, IncidentState.EN_ROUTE)
        self.events.publish("drone.launched", {"incident_id": incident.id, "unit_id": drone_id})
        if not await self._watch_arrival(incident, drone_id, DRONE_ON_SCENE_RADIUS_M):
            return
        await self.store.set_assignment_status(DISPATCH, assignment.id, "on_scene")
        with contextlib.suppress(PatrolfleetError):
            await drones.orbit(
                DISPATCH,
                drone_id,
                lon=incident.lon,
                lat=incident.lat,
                radius_m=self.settings.drone_orbit_radius_m,
                velocity_mps=4.0,
                alt_m=self.policy.drone_cruise_alt_m,
                correlation_id=incident.id,
            )
        preset_id = self.policy.warning_preset_by_category.get(incident.category)
        if preset_id is not None:
            with contextlib.suppress(PatrolfleetError):
                preset = await self.store.get_preset(preset_id)
                text = preset.texts.get("en") or next(iter(preset.texts.values()))
                await drones.send_warning(
                    DISPATCH,
                    drone_id,
                    kind="speak",
                    payload={
                        "text": text,
                        "language": "en",
                        "volume": preset.volume,
                        "repeat": preset.repeat,
                        "spotlight": preset.spotlight,
                        "preset_id": preset_id,
                    },
                    timeout_s=self.settings.warning_timeout_s,
                    correlation_id=incident.id,
                )

    # --- by hand ------------------------------------------------------------------------

    async def assign(self, actor: Principal, incident_id: str, unit_id: str) -> str:
        """A dispatcher assigns a unit by hand: recorded, and the unit gets the call."""
        incident = await self.store.get_incident(incident_id)
        if incident.state in TERMINAL_INCIDENT_STATES:
            raise Conflict(f"incident {incident_id} is {incident.state.value}")
        unit = await self.store.get_unit(unit_id)
        if unit.kind is UnitKind.DRONE:
            if self.drones is None:
                raise NotFound("drone links are off")
            await self.store.create_assignment(
                actor, incident_id=incident_id, unit_id=unit_id, status="launching"
            )
            await self.drones.fly_to(
                actor,
                unit_id,
                lon=incident.lon,
                lat=incident.lat,
                alt_m=self.policy.drone_cruise_alt_m,
                hover_s=self.settings.drone_on_station_s,
                correlation_id=incident_id,
            )
            await self._advance(incident_id, IncidentState.DISPATCHED)
            return unit_id
        cmd = await self.outbox.submit(
            actor,
            unit_id,
            "dispatch",
            {
                "incident_id": incident_id,
                "category": incident.category,
                "lon": incident.lon,
                "lat": incident.lat,
                "role": "assigned_by_dispatcher",
            },
            timeout_s=self.settings.dispatch_ack_timeout_s,
            correlation_id=incident_id,
        )
        await self.store.create_assignment(
            actor, incident_id=incident_id, unit_id=unit_id, status="notified", command_id=cmd.id
        )
        await self._advance(incident_id, IncidentState.DISPATCHED)
        return cmd.id

    async def release(self, actor: Principal, incident_id: str, unit_id: str) -> None:
        active = [
            a
            for a in await self.store.list_assignments(incident_id=incident_id, unit_id=unit_id)
            if a.status not in {"released", "replaced", "failed"}
        ]
        if not active:
            raise NotFound(f"{unit_id} is not assigned to {incident_id}")
        self.request_replan()
        for a in active:
            await self.store.set_assignment_status(actor, a.id, "released")
        await self.outbox.submit(
            actor,
            unit_id,
            "release",
            {"incident_id": incident_id},
            timeout_s=self.settings.command_timeout_s,
            correlation_id=incident_id,
        )

    def describe(self, incident_id: str) -> dict[str, Any] | None:
        rec = self.responses.get(incident_id)
        if rec is None:
            return None
        return {
            "called": list(rec.plan.called),
            "assigned": [a.unit_id for a in rec.plan.assigned],
            "drone": rec.plan.drone.unit_id if rec.plan.drone else None,
            "unmet_tiers": list(rec.plan.unmet_tiers),
            "referred": rec.plan.referred,
        }
