"""Runs one patrol plan live: launches each drone's sorties on time through `DroneService`,
sends ground routes as acknowledged MQTT commands, and tracks hot-spot visits.

Every sortie's status is written *before* the step it guards (``launching`` before the
upload, ``flying`` with the mission id once the drone started), so a restarted service knows
exactly where each sortie was: a ``launching`` sortie is matched to its mission through the
mission's ``correlation_id`` (the sortie id), a ``flying`` one is followed to its end, and a
``pending`` one is launched when due. Nothing is flown twice and nothing is lost.

Plan time: seconds from the patrol's start; ``clock_scale`` plan seconds pass per wall second
(1.0 in service; faster for drills and simulation, matching the simulator's time scale).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fleet.domain import MissionWaypoint, Principal
from fleet.drones import BatteryInsufficient, DroneService
from fleet.errors import PatrolfleetError
from fleet.events import EventHub, FleetEvent
from fleet.outbox import Outbox
from fleet.patrols.domain import SORTIE_DONE, HotSpot, Patrol, PatrolRoute, PatrolSortie
from fleet.patrols.plans import distance_m
from fleet.state import LiveState
from fleet.store.patrols import PatrolStore
from fleet.store.repo import Store
from fleet.types import CommandStatus, Role

log = logging.getLogger(__name__)

DRONE_VISIT_RADIUS_M = 40.0  # a drone over a hot spot (its loiter point) within this
GROUND_VISIT_RADIUS_M = 60.0  # a ground unit at a hot spot: the road may pass a bit aside
OFF_ROUTE_M = 150.0  # a ground unit further than this from its route is off route
_PROGRESS_INTERVAL_S = 5.0  # wall seconds between "patrol.progress" stream events
_TICK_S = 0.2  # wall seconds between tracking passes (telemetry arrives at ~5 Hz)
_MISSION_END = frozenset({"completed", "failed", "aborted"})


def actor_of(patrol_id: str) -> Principal:
    """The principal a patrol acts as (its commands and audit entries name it)."""
    return Principal(name=f"patrol:{patrol_id}", role=Role.OPERATOR)


def merge_visits(times_s: Sequence[float], window_s: float) -> list[float]:
    """Visit start times, with sightings closer than `window_s` to the previous one merged
    (one pass over a hot spot gives many position samples, and several units may be there)."""
    out: list[float] = []
    for t in sorted(times_s):
        if not out or t - out[-1] > window_s:
            out.append(t)
    return out


def achieved(
    plan: dict[str, Any], visits: dict[str, list[float]], now_s: float
) -> list[dict[str, Any]]:
    """Per hot spot: visit times, achieved revisit gaps and the target (plan seconds)."""
    out = []
    horizon = float(plan["horizon_s"])
    for h in plan["hot_spots"]:
        ts = merge_visits(visits.get(h["id"], []), max(60.0, h["dwell_s"] + 60.0))
        gaps = [round(b - a, 1) for a, b in itertools.pairwise(ts)]
        # The gap still open at the end counts too: a hot spot left alone is not covered.
        tail = min(now_s, horizon) - ts[-1] if ts else min(now_s, horizon)
        out.append(
            {
                "hot_spot_id": h["id"],
                "name": h["name"],
                "target_revisit_s": h["revisit_s"],
                "visits": len(ts),
                "visits_s": [round(t, 1) for t in ts],
                "first_visit_s": round(ts[0], 1) if ts else None,
                "revisit_gaps_s": gaps,
                "max_gap_s": max(gaps) if gaps else None,
                "open_gap_s": round(max(tail, 0.0), 1),
                "meets_target": bool(ts) and all(g <= 1.5 * h["revisit_s"] for g in gaps),
            }
        )
    return out


def _to_line_distance_m(p: tuple[float, float], line: Sequence[Sequence[float]]) -> float:
    """Distance from `p` to a lon/lat polyline (planar per segment; city scale)."""
    best = float("inf")
    for a, b in itertools.pairwise(line):
        ax, ay, bx, by = a[0], a[1], b[0], b[1]
        dx, dy = bx - ax, by - ay
        den = dx * dx + dy * dy
        t = 0.0 if den == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / den))
        best = min(best, distance_m(p, (ax + t * dx, ay + t * dy)))
    if len(line) == 1:
        best = distance_m(p, (line[0][0], line[0][1]))
    return best


@dataclass
class PatrolRun:
    """The live execution of one patrol (one per running patrol, inside the patrol service)."""

    patrol: Patrol
    store: Store
    patrols: PatrolStore
    state: LiveState
    events: EventHub
    outbox: Outbox
    drones: DroneService | None
    roads: Callable[[], Awaitable[Any]] | None = None  # the road network, for re-planning
    _inside: set[tuple[str, str]] = field(default_factory=set)
    _off_route: set[str] = field(default_factory=set)
    _lines: dict[str, Any] = field(default_factory=dict)
    _pulled: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    @property
    def id(self) -> str:
        return self.patrol.id

    @property
    def started(self) -> datetime:
        assert self.patrol.started_at is not None
        return self.patrol.started_at

    def plan_now(self) -> float:
        """Plan seconds since the patrol started."""
        wall = (datetime.now(UTC) - self.started).total_seconds()
        return wall * self.patrol.clock_scale

    def wall_at(self, plan_s: float) -> datetime:
        return self.started + timedelta(seconds=plan_s / self.patrol.clock_scale)

    async def _sleep_until(self, plan_s: float) -> None:
        delay = (self.wall_at(plan_s) - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        self.events.publish(f"patrol.{kind}", {"patrol_id": self.id, **data})

    # --- the whole run ------------------------------------------------------------------

    async def run(self) -> None:
        """Run (or resume) the patrol until its horizon has passed and its sorties ended."""
        p = self.patrol
        sorties = await self.patrols.list_sorties(p.id, p.version)
        routes = await self.patrols.list_routes(p.id, p.version)
        by_drone: dict[str, list[PatrolSortie]] = {}
        for s in sorties:
            by_drone.setdefault(s.drone_id, []).append(s)
        self._lines = {r.unit_id: r.route["geometry"]["coordinates"] for r in routes}
        unsubscribe = self.events.add_listener(self._on_event)
        try:
            await self._run(routes, by_drone)
        finally:
            unsubscribe()
        progress = await self.progress()
        await self.patrols.update_patrol(
            p.id,
            actor=actor_of(p.id),
            action="patrol.complete",
            status="completed",
            ended_at=datetime.now(UTC),
            progress=progress,
        )
        self._publish("completed", {"progress": progress})

    async def _run(
        self, routes: Sequence[PatrolRoute], by_drone: dict[str, list[PatrolSortie]]
    ) -> None:
        p = self.patrol
        async with asyncio.TaskGroup() as tg:
            tracker = tg.create_task(self._track(routes), name=f"patrol[{p.id}].track")
            holes = tg.create_task(self._close_holes(tg), name=f"patrol[{p.id}].holes")
            work = [
                tg.create_task(self._route(r), name=f"patrol[{p.id}].route[{r.unit_id}]")
                for r in routes
            ]
            work += [
                tg.create_task(self._fly(d, ss), name=f"patrol[{p.id}].drone[{d}]")
                for d, ss in by_drone.items()
            ]
            await asyncio.gather(*work)
            await self._sleep_until(float(p.plan["horizon_s"]))
            tracker.cancel()
            holes.cancel()

    # --- drones -------------------------------------------------------------------------

    async def _fly(self, drone_id: str, sorties: Sequence[PatrolSortie]) -> None:
        """One drone's sorties in order: a recharged or swapped drone continues the rotation,
        since each sortie is checked against the battery it has when it is due."""
        for s in sorted(sorties, key=lambda x: x.launch_s):
            if s.status in SORTIE_DONE:
                continue
            try:
                await self._sortie(s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one sortie's failure must not end the patrol
                log.exception("patrol.sortie.error", extra={"patrol_id": self.id, "sortie": s.id})
                await self._set(s, "failed", reason=f"internal error: {exc!r}"[:300])

    async def _set(self, s: PatrolSortie, status: str, **changes: Any) -> PatrolSortie:
        s = await self.patrols.update_sortie(
            s.id, actor=actor_of(self.id), status=status, **changes
        )
        self._publish(
            f"sortie.{status}",
            {
                "sortie_id": s.id,
                "drone_id": s.drone_id,
                "index": s.index,
                "reason": s.reason,
                "mission_id": s.mission_id,
            },
        )
        return s

    async def _sortie(self, s: PatrolSortie) -> None:
        if s.status == "launching":
            s = await self._resolve_launching(s)
        if s.status == "pending":
            s = await self._launch(s)
        if s.status == "flying":
            await self._follow(s)

    async def _resolve_launching(self, s: PatrolSortie) -> PatrolSortie:
        """After a restart: did the upload (and start) happen before the service stopped?"""
        missions = await self.store.list_missions(unit_id=s.drone_id, limit=50)
        mine = [m for m in missions if m.correlation_id == s.id]
        if not mine or mine[0].status in {"failed", "aborted"}:
            # Nothing flew: launching it again flies it once.
            return await self.patrols.update_sortie(s.id, status="pending")
        m = mine[0]
        if m.status == "uploaded":
            assert self.drones is not None
            try:
                await self.drones.start_mission(actor_of(self.id), s.drone_id, m.id)
            except PatrolfleetError as exc:
                # Uploaded but refused now (battery, link): not flown, and never will be.
                await self.drones.end_mission(actor_of(self.id), s.drone_id, "aborted")
                return await self._set(
                    s, "skipped", mission_id=m.id, reason=f"{exc.type}: {exc.detail}"
                )
        return await self._set(s, "flying", mission_id=m.id, launched_at=datetime.now(UTC))

    async def _launch(self, s: PatrolSortie) -> PatrolSortie:
        # A sortie may start late (the drone still busy, the service restarted) but only
        # while most of its slot remains; after that it is missed, never flown out of turn.
        grace_s = max(60.0, 0.5 * (s.land_s - s.launch_s))
        await self._sleep_until(s.launch_s)
        drones = self.drones
        if drones is None:
            return await self._set(s, "missed", reason="drone links are off")
        while self.plan_now() <= s.launch_s + grace_s:
            d = drones.drones.get(s.drone_id)
            if d is not None and d.link_up and not d.in_air and d.mission_id is None:
                break
            await asyncio.sleep(_TICK_S)
        else:
            return await self._set(
                s,
                "missed",
                reason=f"{s.drone_id} not ready (flying, busy or link down) within "
                f"{grace_s:.0f}s of the launch time",
            )
        s = await self.patrols.update_sortie(s.id, status="launching")
        waypoints = [
            MissionWaypoint(
                lon=w["lon"],
                lat=w["lat"],
                alt_m=w["alt_m"],
                speed_mps=w["speed_mps"],
                loiter_s=w["loiter_s"],
            )
            for w in s.waypoints
            if w["kind"] in {"transit", "hotspot"}
        ]
        actor = actor_of(self.id)
        mission = None
        try:
            mission = await drones.create_mission(
                actor,
                s.drone_id,
                waypoints,
                speed_mps=waypoints[0].speed_mps if waypoints else None,
                return_home=True,
                source="patrol",
                correlation_id=s.id,
            )
            await drones.start_mission(actor, s.drone_id, mission.id)
        except PatrolfleetError as exc:
            if mission is not None:
                # Uploaded but not started: drop it, or the drone would look busy forever
                # and its next sortie would be missed.
                await drones.end_mission(actor, s.drone_id, "aborted")
            if isinstance(exc, BatteryInsufficient):
                reason = f"battery: {exc.detail}; not launched"
            else:
                reason = f"{exc.type}: {exc.detail}"
            return await self._set(
                s, "skipped", reason=reason, mission_id=mission.id if mission else None
            )
        return await self._set(s, "flying", mission_id=mission.id, launched_at=datetime.now(UTC))

    async def _follow(self, s: PatrolSortie) -> None:
        """Wait for the sortie's mission to end (the drone service tracks its progress)."""
        assert s.mission_id is not None
        while True:
            m = await self.store.get_mission(s.mission_id)
            if m.status in _MISSION_END:
                status = "completed" if m.status == "completed" else "failed"
                await self._set(
                    s, status, ended_at=datetime.now(UTC), reason=m.error if m.error else None
                )
                return
            await asyncio.sleep(0.5)

    # --- ground units -------------------------------------------------------------------

    async def _route(self, r: PatrolRoute) -> None:
        """Send the route (once) and record the unit's answer."""
        if r.status in {"acked", "failed", "timed_out", "pulled"}:
            return
        if r.command_id is None:
            # A crash between recording the command and noting it here must not send the
            # route twice: the command carries the route id, so look for it first.
            sent = await self.store.list_commands(unit_id=r.unit_id, correlation_id=r.id)
            if sent:
                r = await self.patrols.update_route(r.id, status="sent", command_id=sent[-1].id)
        if r.command_id is None:
            r = await self._send(r)
        assert r.command_id is not None
        outcome = await self.outbox.wait_outcome(r.command_id)
        status = {
            CommandStatus.ACKED: "acked",
            CommandStatus.TIMED_OUT: "timed_out",
        }.get(outcome.status, "failed")
        current = next(
            (x for x in await self.patrols.list_routes(self.id, r.version) if x.id == r.id), r
        )
        if current.command_id != r.command_id:  # re-planned meanwhile: the new order counts
            return
        await self.patrols.update_route(r.id, status=status, reason=outcome.error)
        self._publish(f"route.{status}", {"unit_id": r.unit_id, "command_id": r.command_id})

    async def _send(self, r: PatrolRoute) -> PatrolRoute:
        """Record the route command (the outbox sends it) and note its id on the route."""
        stops = [
            {
                **{k: v for k, v in st.items() if k in ("hot_spot_id", "lon", "lat")},
                "arrive_at": self.wall_at(st["arrival_s"]).isoformat(),
                "start_at": self.wall_at(st["start_s"]).isoformat(),
                "depart_at": self.wall_at(st["departure_s"]).isoformat(),
                "dwell_s": st["departure_s"] - st["start_s"],
            }
            for st in r.stops
        ]
        cmd = await self.outbox.submit(
            actor_of(self.id),
            r.unit_id,
            "patrol_route",
            {"patrol_id": self.id, "route_id": r.id, "route": r.route, "stops": stops},
            correlation_id=r.id,
        )
        return await self.patrols.update_route(r.id, status="sent", command_id=cmd.id)

    # --- a unit pulled away to an incident -------------------------------------------

    def _on_event(self, event: FleetEvent) -> None:
        """A patrol unit that accepted a dispatch has left its route (runs on the loop)."""
        data = event.data
        if (
            event.type == "command.acked"
            and data.get("kind") == "dispatch"
            and data.get("unit_id") in self._lines
        ):
            self._pulled.put_nowait(str(data["unit_id"]))

    async def _close_holes(self, tg: asyncio.TaskGroup) -> None:
        """Re-plan the pulled unit's remaining stops onto the patrol's other ground units
        (the ground planner on the roads, from where they are now), and send the new routes
        with acknowledgements; what nobody can take is reported as a hole."""
        while True:
            uid = await self._pulled.get()
            try:
                await self._close_hole(uid, tg)
            except Exception:  # the patrol goes on; the hole is logged
                log.exception("patrol.replan.failed", extra={"patrol_id": self.id, "unit_id": uid})

    async def _close_hole(self, pulled: str, tg: asyncio.TaskGroup) -> None:
        from fleet.patrols.plans import PlanInputs, _plan_ground, run_planner

        p = self.patrol
        routes = {r.unit_id: r for r in await self.patrols.list_routes(p.id, p.version)}
        gone = routes.get(pulled)
        if gone is None or gone.status == "pulled":
            return
        now = self.plan_now()
        left = [st for st in gone.stops if st["start_s"] > now]
        await self.patrols.update_route(gone.id, status="pulled", reason="dispatched")
        self._lines.pop(pulled, None)
        others = {u: r for u, r in routes.items() if u != pulled and r.status in {"acked", "sent"}}
        spot_ids = {st["hot_spot_id"] for st in left}
        for r in others.values():
            spot_ids |= {st["hot_spot_id"] for st in r.stops if st["start_s"] > now}
        self._publish(
            "unit.pulled",
            {"unit_id": pulled, "hot_spots_left": sorted({st["hot_spot_id"] for st in left})},
        )
        horizon = float(p.plan["horizon_s"]) - now
        if not left or horizon < 60:
            return
        ground: dict[str, tuple[str, tuple[float, float]]] = {}
        for u in others:
            live = self.state.get(u)
            if live is not None and live.lon is not None and live.lat is not None:
                ground[u] = (live.kind.value, (live.lon, live.lat))
        if not ground or self.roads is None:
            self._publish("hole", {"unit_id": pulled, "hot_spots": sorted(spot_ids)})
            return
        now_dt = datetime.now(UTC)
        spots = tuple(
            HotSpot(
                id=h["id"],
                name=h["name"],
                geometry={"type": "Point", "coordinates": [h["lon"], h["lat"]]},
                weight=h["weight"],
                revisit_s=min(h["revisit_s"], horizon),
                dwell_s=h["dwell_s"],
                created_at=now_dt,
                updated_at=now_dt,
            )
            for h in p.plan["hot_spots"]
            if h["id"] in spot_ids
        )
        inputs = PlanInputs(
            hot_spots=spots, horizon_s=horizon, drones={}, ground=ground, time_limit_s=2.0
        )
        roads = await self.roads()
        _, planned = await run_planner(lambda: _plan_ground(inputs, roads), inputs.time_limit_s)
        covered: set[str] = set()
        for new in planned:
            r = others[new["unit_id"]]
            stops = [
                {
                    **st,
                    "arrival_s": st["arrival_s"] + now,
                    "start_s": st["start_s"] + now,
                    "departure_s": st["departure_s"] + now,
                }
                for st in new["stops"]
            ]
            covered |= {st["hot_spot_id"] for st in stops}
            r = await self.patrols.update_route(
                r.id, route=new["route"], stops=stops, status="pending", command_id=None
            )
            self._lines[r.unit_id] = r.route["geometry"]["coordinates"]
            r = await self._send(r)
            tg.create_task(self._route(r), name=f"patrol[{p.id}].route[{r.unit_id}].replan")
        self._publish(
            "replanned",
            {
                "pulled": pulled,
                "units": [x["unit_id"] for x in planned],
                "hot_spots_uncovered": sorted({st["hot_spot_id"] for st in left} - covered),
            },
        )

    # --- tracking -----------------------------------------------------------------------

    async def _track(self, routes: Sequence[PatrolRoute]) -> None:
        """Visits from positions (drones in the air over a hot spot, ground units at it) and
        ground units off their route."""
        plan = self.patrol.plan
        spots = [(h["id"], (h["lon"], h["lat"])) for h in plan["hot_spots"]]
        drone_ids = {s["drone_id"] for s in self._sorties_doc()}
        line_of = self._lines  # updated in place when a hole is closed
        units = drone_ids | set(line_of)
        last_progress = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_TICK_S)
            try:
                await self._track_once(spots, drone_ids, units, line_of)
                # The stream gets the whole picture now and then (clients joining late, a
                # map that shows gaps growing), besides the per-visit events.
                if loop.time() - last_progress >= _PROGRESS_INTERVAL_S:
                    last_progress = loop.time()
                    self._publish("progress", await self.progress())
            except Exception:  # tracking is best effort; the next pass tries again
                log.exception("patrol.track.failed", extra={"patrol_id": self.id})

    def _sorties_doc(self) -> list[dict[str, Any]]:
        aerial = self.patrol.plan.get("aerial") or {}
        feats = aerial.get("geojson", {}).get("features", [])
        return [f["properties"] for f in feats if f["properties"].get("kind") == "sortie"]

    async def _track_once(
        self,
        spots: Sequence[tuple[str, tuple[float, float]]],
        drone_ids: set[str],
        units: set[str],
        line_of: dict[str, Any],
    ) -> None:
        now = datetime.now(UTC)
        for uid in units:
            live = self.state.get(uid)
            if live is None or live.lon is None or live.lat is None:
                continue
            here = (live.lon, live.lat)
            is_drone = uid in drone_ids
            if is_drone and (live.alt_m is None or live.alt_m < 5.0):
                for hid, _ in spots:
                    self._inside.discard((uid, hid))
                continue
            radius = DRONE_VISIT_RADIUS_M if is_drone else GROUND_VISIT_RADIUS_M
            for hid, where in spots:
                key = (uid, hid)
                if distance_m(here, where) <= radius:
                    if key not in self._inside:
                        self._inside.add(key)
                        plan_s = self.plan_now()
                        await self.patrols.add_visit(self.id, hid, uid, now, plan_s)
                        self._publish(
                            "visit",
                            {"hot_spot_id": hid, "unit_id": uid, "plan_s": round(plan_s, 1)},
                        )
                else:
                    self._inside.discard(key)
            line = line_of.get(uid)
            if line and not is_drone:
                off = _to_line_distance_m(here, line) > OFF_ROUTE_M
                if off and uid not in self._off_route:
                    self._off_route.add(uid)
                    self._publish("unit.off_route", {"unit_id": uid})
                elif not off and uid in self._off_route:
                    self._off_route.discard(uid)
                    self._publish("unit.on_route", {"unit_id": uid})

    async def progress(self) -> dict[str, Any]:
        """Measured progress: visits and gaps per hot spot, sorties and routes by outcome."""
        return await patrol_progress(self.patrols, self.patrol, self.plan_now(), self._off_route)


async def patrol_progress(
    patrols: PatrolStore, patrol: Patrol, now_s: float | None, off_route: set[str] | None = None
) -> dict[str, Any]:
    """Progress of `patrol` from its stored records (usable for running and ended patrols)."""
    visits: dict[str, list[float]] = {}
    units: dict[str, set[str]] = {}
    for v in await patrols.list_visits(patrol.id):
        visits.setdefault(v.hot_spot_id, []).append(v.plan_s)
        units.setdefault(v.hot_spot_id, set()).add(v.unit_id)
    sorties = await patrols.list_sorties(patrol.id, patrol.version)
    routes = await patrols.list_routes(patrol.id, patrol.version)
    horizon = float(patrol.plan.get("horizon_s", 0.0))
    now = horizon if now_s is None else now_s
    counts: dict[str, int] = {}
    for s in sorties:
        counts[s.status] = counts.get(s.status, 0) + 1
    spots = achieved(patrol.plan, visits, now)
    for h in spots:
        h["units"] = sorted(units.get(h["hot_spot_id"], ()))
    return {
        "plan_s": round(now, 1),
        "hot_spots": spots,
        "all_visited": all(h["visits"] > 0 for h in spots),
        "sorties": counts,
        "sorties_missed": [
            {"sortie_id": s.id, "drone_id": s.drone_id, "reason": s.reason}
            for s in sorties
            if s.status in {"missed", "skipped"}
        ],
        "routes": {r.unit_id: r.status for r in routes},
        "units_off_route": sorted(off_route or ()),
    }
