"""Repository of patrol operations: hot spots, patrols and their plan versions, sorties,
ground routes, visits, schedules and overwatch operations. Every write is audited in the
same transaction, like `fleet.store.repo.Store`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fleet.domain import Principal
from fleet.errors import NotFound
from fleet.patrols.domain import (
    HotSpot,
    Overwatch,
    Patrol,
    PatrolRoute,
    PatrolSchedule,
    PatrolSortie,
    PatrolVisit,
)
from fleet.store.models import utcnow
from fleet.store.patrol_rows import (
    HotSpotRow,
    OverwatchRow,
    PatrolPlanRow,
    PatrolRouteRow,
    PatrolRow,
    PatrolScheduleRow,
    PatrolSortieRow,
    PatrolVisitRow,
)
from fleet.store.repo import Store, new_id


def _hotspot(r: HotSpotRow) -> HotSpot:
    return HotSpot(
        id=r.id,
        name=r.name,
        geometry=dict(r.geometry),
        weight=r.weight,
        revisit_s=r.revisit_s,
        dwell_s=r.dwell_s,
        created_at=r.created_at,
        updated_at=r.updated_at,
        active_hours=tuple((int(a), int(b)) for a, b in r.active_hours or ()),
        source=r.source,
        active=r.active,
        properties=dict(r.properties or {}),
    )


def _patrol(r: PatrolRow, plan: dict[str, Any]) -> Patrol:
    return Patrol(
        id=r.id,
        name=r.name,
        status=r.status,
        version=r.version,
        request=dict(r.request),
        plan=plan,
        clock_scale=r.clock_scale,
        actor=r.actor,
        created_at=r.created_at,
        updated_at=r.updated_at,
        progress=dict(r.progress or {}),
        schedule_id=r.schedule_id,
        error=r.error,
        started_at=r.started_at,
        ended_at=r.ended_at,
    )


def _sortie(r: PatrolSortieRow) -> PatrolSortie:
    return PatrolSortie(
        id=r.id,
        patrol_id=r.patrol_id,
        version=r.version,
        drone_id=r.drone_id,
        index=r.index,
        launch_s=r.launch_s,
        land_s=r.land_s,
        waypoints=tuple(r.waypoints),
        hot_spots=tuple(r.hot_spots or ()),
        status=r.status,
        reason=r.reason,
        mission_id=r.mission_id,
        launched_at=r.launched_at,
        ended_at=r.ended_at,
    )


def _route(r: PatrolRouteRow) -> PatrolRoute:
    return PatrolRoute(
        id=r.id,
        patrol_id=r.patrol_id,
        version=r.version,
        unit_id=r.unit_id,
        route=dict(r.route),
        stops=tuple(r.stops or ()),
        status=r.status,
        command_id=r.command_id,
        reason=r.reason,
    )


def _schedule(r: PatrolScheduleRow) -> PatrolSchedule:
    return PatrolSchedule(
        id=r.id,
        name=r.name,
        template=dict(r.template),
        days=tuple(int(d) for d in r.days),
        start_time=r.start_time,
        end_time=r.end_time,
        timezone=r.timezone,
        active=r.active,
        created_at=r.created_at,
        updated_at=r.updated_at,
        last_run_on=r.last_run_on,
        last_patrol_id=r.last_patrol_id,
    )


def _overwatch(r: OverwatchRow) -> Overwatch:
    return Overwatch(
        id=r.id,
        status=r.status,
        geometry=dict(r.geometry),
        alt_m=r.alt_m,
        radius_m=r.radius_m,
        duration_s=r.duration_s,
        clock_scale=r.clock_scale,
        drones=tuple(r.drones),
        plan=dict(r.plan),
        report=dict(r.report or {}),
        actor=r.actor,
        created_at=r.created_at,
        updated_at=r.updated_at,
        error=r.error,
        started_at=r.started_at,
        ended_at=r.ended_at,
    )


class PatrolStore:
    """Patrol records over the service's engine; one AsyncSession per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    _audit = staticmethod(Store._audit_row)

    # --- hot spots ----------------------------------------------------------------------

    async def create_hotspot(
        self,
        actor: Principal,
        *,
        name: str,
        geometry: dict[str, Any],
        weight: float,
        revisit_s: float,
        dwell_s: float,
        active_hours: Sequence[tuple[int, int]] = (),
        source: str = "manual",
        properties: dict[str, Any] | None = None,
    ) -> HotSpot:
        now = utcnow()
        row = HotSpotRow(
            id=new_id("hs"),
            name=name,
            geometry=geometry,
            weight=weight,
            revisit_s=revisit_s,
            dwell_s=dwell_s,
            active_hours=[list(h) for h in active_hours],
            source=source,
            active=True,
            properties=properties or {},
            created_at=now,
            updated_at=now,
        )
        async with self._tx() as s:
            s.add(row)
            self._audit(s, actor, "hotspot.create", "hotspot", row.id, {"name": name})
        return _hotspot(row)

    async def get_hotspot(self, hotspot_id: str) -> HotSpot:
        """Raises NotFound."""
        async with self._sessions() as s:
            row = await s.get(HotSpotRow, hotspot_id)
        if row is None:
            raise NotFound(f"hot spot {hotspot_id!r} does not exist", hotspot_id=hotspot_id)
        return _hotspot(row)

    async def list_hotspots(
        self, *, active: bool | None = None, ids: Iterable[str] | None = None
    ) -> list[HotSpot]:
        stmt = select(HotSpotRow).order_by(HotSpotRow.created_at, HotSpotRow.id)
        if active is not None:
            stmt = stmt.where(HotSpotRow.active == active)
        if ids is not None:
            stmt = stmt.where(HotSpotRow.id.in_(list(ids)))
        async with self._sessions() as s:
            return [_hotspot(r) for r in (await s.scalars(stmt)).all()]

    async def update_hotspot(
        self, actor: Principal, hotspot_id: str, changes: dict[str, Any]
    ) -> HotSpot:
        """Raises NotFound."""
        async with self._tx() as s:
            row = await s.get(HotSpotRow, hotspot_id)
            if row is None:
                raise NotFound(f"hot spot {hotspot_id!r} does not exist", hotspot_id=hotspot_id)
            for key, value in changes.items():
                if key == "active_hours" and value is not None:
                    value = [list(h) for h in value]
                setattr(row, key, value)
            row.updated_at = utcnow()
            self._audit(
                s, actor, "hotspot.update", "hotspot", hotspot_id, {"fields": sorted(changes)}
            )
        return _hotspot(row)

    async def delete_hotspot(self, actor: Principal, hotspot_id: str) -> None:
        """Raises NotFound."""
        async with self._tx() as s:
            row = await s.get(HotSpotRow, hotspot_id)
            if row is None:
                raise NotFound(f"hot spot {hotspot_id!r} does not exist", hotspot_id=hotspot_id)
            await s.delete(row)
            self._audit(s, actor, "hotspot.delete", "hotspot", hotspot_id, {"name": row.name})

    async def delete_derived_hotspots(self, actor: Principal) -> int:
        """Remove every derived hot spot (before a fresh derivation replaces them)."""
        async with self._tx() as s:
            result = await s.execute(delete(HotSpotRow).where(HotSpotRow.source == "derived"))
            n = int(getattr(result, "rowcount", 0) or 0)
            self._audit(s, actor, "hotspot.delete_derived", "hotspot", None, {"count": n})
        return n

    # --- patrols and plan versions ------------------------------------------------------

    async def create_patrol(
        self,
        actor: Principal,
        *,
        name: str,
        request: dict[str, Any],
        plan: dict[str, Any],
        clock_scale: float,
        sorties: Sequence[dict[str, Any]],
        routes: Sequence[dict[str, Any]],
        schedule_id: str | None = None,
    ) -> Patrol:
        now = utcnow()
        pid = new_id("pat")
        row = PatrolRow(
            id=pid,
            name=name,
            status="planned",
            version=1,
            request=request,
            clock_scale=clock_scale,
            schedule_id=schedule_id,
            progress={},
            actor=actor.name,
            created_at=now,
            updated_at=now,
        )
        async with self._tx() as s:
            s.add(row)
            await s.flush()
            self._add_version(s, pid, 1, plan, sorties, routes)
            self._audit(
                s,
                actor,
                "patrol.create",
                "patrol",
                pid,
                {"name": name, "sorties": len(sorties), "routes": len(routes)},
            )
        return _patrol(row, plan)

    @staticmethod
    def _add_version(
        s: AsyncSession,
        patrol_id: str,
        version: int,
        plan: dict[str, Any],
        sorties: Sequence[dict[str, Any]],
        routes: Sequence[dict[str, Any]],
    ) -> None:
        s.add(PatrolPlanRow(patrol_id=patrol_id, version=version, plan=plan, created_at=utcnow()))
        for x in sorties:
            s.add(
                PatrolSortieRow(
                    id=new_id("srt"),
                    patrol_id=patrol_id,
                    version=version,
                    status="pending",
                    **x,
                )
            )
        for x in routes:
            s.add(
                PatrolRouteRow(
                    id=new_id("rte"), patrol_id=patrol_id, version=version, status="pending", **x
                )
            )

    async def replan_patrol(
        self,
        actor: Principal,
        patrol_id: str,
        *,
        request: dict[str, Any],
        plan: dict[str, Any],
        sorties: Sequence[dict[str, Any]],
        routes: Sequence[dict[str, Any]],
    ) -> Patrol:
        """Store the next plan version and make it current. Raises NotFound."""
        async with self._tx() as s:
            row = await s.get(PatrolRow, patrol_id)
            if row is None:
                raise NotFound(f"patrol {patrol_id!r} does not exist", patrol_id=patrol_id)
            row.version += 1
            row.request = request
            row.updated_at = utcnow()
            self._add_version(s, patrol_id, row.version, plan, sorties, routes)
            self._audit(s, actor, "patrol.replan", "patrol", patrol_id, {"version": row.version})
        return _patrol(row, plan)

    async def get_patrol(self, patrol_id: str, *, version: int | None = None) -> Patrol:
        """The patrol with the plan of `version` (default: the current one). Raises NotFound."""
        async with self._sessions() as s:
            row = await s.get(PatrolRow, patrol_id)
            if row is None:
                raise NotFound(f"patrol {patrol_id!r} does not exist", patrol_id=patrol_id)
            plan = await s.get(PatrolPlanRow, (patrol_id, version or row.version))
        if plan is None:
            raise NotFound(f"patrol {patrol_id} has no plan version {version}", patrol_id=patrol_id)
        return _patrol(row, dict(plan.plan))

    async def list_patrols(
        self, *, statuses: Iterable[str] | None = None, limit: int = 100
    ) -> list[Patrol]:
        """Patrols newest first (with their current plan)."""
        stmt = select(PatrolRow, PatrolPlanRow).join(
            PatrolPlanRow,
            (PatrolPlanRow.patrol_id == PatrolRow.id)
            & (PatrolPlanRow.version == PatrolRow.version),
        )
        if statuses:
            stmt = stmt.where(PatrolRow.status.in_(list(statuses)))
        stmt = stmt.order_by(PatrolRow.created_at.desc()).limit(limit)
        async with self._sessions() as s:
            return [_patrol(p, dict(v.plan)) for p, v in (await s.execute(stmt)).all()]

    async def update_patrol(
        self,
        patrol_id: str,
        *,
        actor: Principal | None = None,
        action: str | None = None,
        **changes: Any,
    ) -> Patrol:
        """Change status/progress/timestamps; audited when `actor` and `action` are given."""
        async with self._tx() as s:
            row = await s.get(PatrolRow, patrol_id)
            if row is None:
                raise NotFound(f"patrol {patrol_id!r} does not exist", patrol_id=patrol_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            if actor is not None and action is not None:
                detail = {k: v for k, v in changes.items() if k in ("status", "error")}
                self._audit(s, actor, action, "patrol", patrol_id, detail)
            plan = await s.get(PatrolPlanRow, (patrol_id, row.version))
        return _patrol(row, dict(plan.plan) if plan else {})

    # --- sorties, routes, visits --------------------------------------------------------

    async def list_sorties(self, patrol_id: str, version: int) -> list[PatrolSortie]:
        stmt = (
            select(PatrolSortieRow)
            .where(PatrolSortieRow.patrol_id == patrol_id, PatrolSortieRow.version == version)
            .order_by(PatrolSortieRow.launch_s, PatrolSortieRow.drone_id)
        )
        async with self._sessions() as s:
            return [_sortie(r) for r in (await s.scalars(stmt)).all()]

    async def update_sortie(
        self, sortie_id: str, *, actor: Principal | None = None, **changes: Any
    ) -> PatrolSortie:
        """Persist a sortie's status (before acting on it, so a restart knows where it was);
        status changes made by `actor` are audited."""
        async with self._tx() as s:
            row = await s.get(PatrolSortieRow, sortie_id)
            if row is None:
                raise NotFound(f"sortie {sortie_id!r} does not exist")
            for key, value in changes.items():
                setattr(row, key, value)
            if actor is not None and "status" in changes:
                self._audit(
                    s,
                    actor,
                    f"patrol.sortie.{changes['status']}",
                    "patrol_sortie",
                    sortie_id,
                    {
                        "patrol_id": row.patrol_id,
                        "drone_id": row.drone_id,
                        "reason": changes.get("reason"),
                    },
                )
        return _sortie(row)

    async def list_routes(self, patrol_id: str, version: int) -> list[PatrolRoute]:
        stmt = (
            select(PatrolRouteRow)
            .where(PatrolRouteRow.patrol_id == patrol_id, PatrolRouteRow.version == version)
            .order_by(PatrolRouteRow.unit_id)
        )
        async with self._sessions() as s:
            return [_route(r) for r in (await s.scalars(stmt)).all()]

    async def update_route(self, route_id: str, **changes: Any) -> PatrolRoute:
        async with self._tx() as s:
            row = await s.get(PatrolRouteRow, route_id)
            if row is None:
                raise NotFound(f"route {route_id!r} does not exist")
            for key, value in changes.items():
                setattr(row, key, value)
        return _route(row)

    async def add_visit(
        self, patrol_id: str, hot_spot_id: str, unit_id: str, at: datetime, plan_s: float
    ) -> PatrolVisit:
        async with self._tx() as s:
            s.add(
                PatrolVisitRow(
                    patrol_id=patrol_id,
                    hot_spot_id=hot_spot_id,
                    unit_id=unit_id,
                    at=at,
                    plan_s=plan_s,
                )
            )
        return PatrolVisit(patrol_id, hot_spot_id, unit_id, at, plan_s)

    async def list_visits(self, patrol_id: str) -> list[PatrolVisit]:
        stmt = (
            select(PatrolVisitRow)
            .where(PatrolVisitRow.patrol_id == patrol_id)
            .order_by(PatrolVisitRow.plan_s, PatrolVisitRow.id)
        )
        async with self._sessions() as s:
            return [
                PatrolVisit(r.patrol_id, r.hot_spot_id, r.unit_id, r.at, r.plan_s)
                for r in (await s.scalars(stmt)).all()
            ]

    # --- schedules ----------------------------------------------------------------------

    async def create_schedule(
        self,
        actor: Principal,
        *,
        name: str,
        template: dict[str, Any],
        days: Sequence[int],
        start_time: str,
        end_time: str,
        timezone: str,
    ) -> PatrolSchedule:
        now = utcnow()
        row = PatrolScheduleRow(
            id=new_id("sch"),
            name=name,
            template=template,
            days=list(days),
            start_time=start_time,
            end_time=end_time,
            timezone=timezone,
            active=True,
            created_at=now,
            updated_at=now,
        )
        async with self._tx() as s:
            s.add(row)
            self._audit(s, actor, "schedule.create", "patrol_schedule", row.id, {"name": name})
        return _schedule(row)

    async def list_schedules(self, *, active: bool | None = None) -> list[PatrolSchedule]:
        stmt = select(PatrolScheduleRow).order_by(PatrolScheduleRow.created_at)
        if active is not None:
            stmt = stmt.where(PatrolScheduleRow.active == active)
        async with self._sessions() as s:
            return [_schedule(r) for r in (await s.scalars(stmt)).all()]

    async def get_schedule(self, schedule_id: str) -> PatrolSchedule:
        """Raises NotFound."""
        async with self._sessions() as s:
            row = await s.get(PatrolScheduleRow, schedule_id)
        if row is None:
            raise NotFound(f"schedule {schedule_id!r} does not exist", schedule_id=schedule_id)
        return _schedule(row)

    async def update_schedule(
        self, schedule_id: str, *, actor: Principal, action: str, **changes: Any
    ) -> PatrolSchedule:
        """Raises NotFound."""
        async with self._tx() as s:
            row = await s.get(PatrolScheduleRow, schedule_id)
            if row is None:
                raise NotFound(f"schedule {schedule_id!r} does not exist", schedule_id=schedule_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            self._audit(s, actor, action, "patrol_schedule", schedule_id, dict(changes))
        return _schedule(row)

    async def delete_schedule(self, actor: Principal, schedule_id: str) -> None:
        """Raises NotFound."""
        async with self._tx() as s:
            row = await s.get(PatrolScheduleRow, schedule_id)
            if row is None:
                raise NotFound(f"schedule {schedule_id!r} does not exist", schedule_id=schedule_id)
            await s.delete(row)
            self._audit(s, actor, "schedule.delete", "patrol_schedule", schedule_id, {})

    # --- overwatch ----------------------------------------------------------------------

    async def create_overwatch(
        self,
        actor: Principal,
        *,
        geometry: dict[str, Any],
        alt_m: float,
        radius_m: float,
        duration_s: float,
        clock_scale: float,
        drones: Sequence[str],
        plan: dict[str, Any],
    ) -> Overwatch:
        now = utcnow()
        row = OverwatchRow(
            id=new_id("ow"),
            status="running",
            geometry=geometry,
            alt_m=alt_m,
            radius_m=radius_m,
            duration_s=duration_s,
            clock_scale=clock_scale,
            drones=list(drones),
            plan=plan,
            report={},
            actor=actor.name,
            created_at=now,
            updated_at=now,
            started_at=now,
        )
        async with self._tx() as s:
            s.add(row)
            self._audit(
                s,
                actor,
                "overwatch.start",
                "overwatch",
                row.id,
                {"drones": list(drones), "duration_s": duration_s, "relief": plan.get("drones")},
            )
        return _overwatch(row)

    async def get_overwatch(self, op_id: str) -> Overwatch:
        """Raises NotFound."""
        async with self._sessions() as s:
            row = await s.get(OverwatchRow, op_id)
        if row is None:
            raise NotFound(f"overwatch {op_id!r} does not exist", overwatch_id=op_id)
        return _overwatch(row)

    async def list_overwatch(self, *, statuses: Iterable[str] | None = None) -> list[Overwatch]:
        stmt = select(OverwatchRow).order_by(OverwatchRow.created_at.desc())
        if statuses:
            stmt = stmt.where(OverwatchRow.status.in_(list(statuses)))
        async with self._sessions() as s:
            return [_overwatch(r) for r in (await s.scalars(stmt)).all()]

    async def update_overwatch(
        self,
        op_id: str,
        *,
        actor: Principal | None = None,
        action: str | None = None,
        audit: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Overwatch:
        """Update an operation; with `actor` and `action`, audit it (handovers, the end)."""
        async with self._tx() as s:
            row = await s.get(OverwatchRow, op_id)
            if row is None:
                raise NotFound(f"overwatch {op_id!r} does not exist", overwatch_id=op_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            if actor is not None and action is not None:
                self._audit(s, actor, action, "overwatch", op_id, audit or {})
        return _overwatch(row)


__all__ = ["PatrolStore"]
