"""The repository: every read and write of the fleet's records, each write audited in-transaction.

Rows stay here; callers get `fleet.domain` records. A write and its audit entry commit together,
so the audit log can never miss a change that happened (nor record one that did not).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fleet.domain import (
    Assignment,
    AuditEntry,
    Command,
    Dock,
    DutySession,
    Fence,
    Incident,
    IncidentTransition,
    Mission,
    MissionWaypoint,
    Position,
    Principal,
    Unit,
    WarningPreset,
)
from fleet.errors import Conflict, InvalidTransition, NotFound
from fleet.store.models import (
    ApiTokenRow,
    AssignmentRow,
    AuditRow,
    CommandRow,
    DockRow,
    DutySessionRow,
    FenceRow,
    IncidentRow,
    IncidentTransitionRow,
    MissionRow,
    PositionRow,
    UnitRow,
    WarningPresetRow,
    utcnow,
)
from fleet.types import (
    INCIDENT_TRANSITIONS,
    TERMINAL_COMMAND_STATES,
    CommandStatus,
    FenceKind,
    IncidentState,
    Role,
    UnitKind,
)

_T = TypeVar("_T")


def new_id(prefix: str) -> str:
    """A short, sortable-enough, collision-free id such as ``inc-3f9a1c2b7d4e``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- row -> domain -------------------------------------------------------------------------


def _copy(cls: type[_T], row: Any, **overrides: Any) -> _T:
    """A domain record from a row: every field of `cls` read from the row attribute of the
    same name, except those given (conversions such as enums, and copies of JSON values)."""
    names = [f.name for f in fields(cls) if f.name not in overrides]  # type: ignore[arg-type]
    return cls(**{n: getattr(row, n) for n in names}, **overrides)


def _unit(row: UnitRow) -> Unit:
    return Unit(
        id=row.id,
        kind=UnitKind(row.kind),
        name=row.name,
        created_at=row.created_at,
        capabilities=tuple(row.capabilities or ()),
        home_zone_id=row.home_zone_id,
        dock_id=row.dock_id,
        mavlink_sysid=row.mavlink_sysid,
        team_size=row.team_size,
        properties=dict(row.properties or {}),
    )


def _position(row: PositionRow) -> Position:
    return _copy(Position, row)


def _dock(row: DockRow) -> Dock:
    return _copy(Dock, row)


def _duty(row: DutySessionRow) -> DutySession:
    return _copy(DutySession, row)


def _incident(row: IncidentRow, transitions: Sequence[IncidentTransitionRow] = ()) -> Incident:
    return Incident(
        id=row.id,
        category=row.category,
        priority=row.priority,
        lon=row.lon,
        lat=row.lat,
        state=IncidentState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        description=row.description,
        source=row.source,
        external_ref=row.external_ref,
        properties=dict(row.properties or {}),
        transitions=tuple(
            IncidentTransition(
                from_state=IncidentState(t.from_state) if t.from_state else None,
                to_state=IncidentState(t.to_state),
                at=t.at,
                actor=t.actor,
            )
            for t in transitions
        ),
    )


def _assignment(row: AssignmentRow) -> Assignment:
    return _copy(Assignment, row)


def _command(row: CommandRow) -> Command:
    return _copy(Command, row, payload=dict(row.payload or {}), status=CommandStatus(row.status))


def _fence(row: FenceRow) -> Fence:
    return _copy(
        Fence,
        row,
        kind=FenceKind(row.kind),
        geometry=dict(row.geometry),
        properties=dict(row.properties or {}),
    )


def _audit(row: AuditRow) -> AuditEntry:
    return _copy(AuditEntry, row, detail=dict(row.detail or {}))


def _mission(row: MissionRow) -> Mission:
    return Mission(
        id=row.id,
        unit_id=row.unit_id,
        status=row.status,
        waypoints=tuple(MissionWaypoint(**w) for w in row.waypoints),
        return_home=row.return_home,
        actor=row.actor,
        created_at=row.created_at,
        speed_mps=row.speed_mps,
        current_item=row.current_item,
        total_items=row.total_items,
        reached=tuple(row.reached or ()),
        source=row.source,
        correlation_id=row.correlation_id,
        error=row.error,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _preset(row: WarningPresetRow) -> WarningPreset:
    return _copy(WarningPreset, row, texts=dict(row.texts))


class Store:
    """Repository over one async engine; one AsyncSession per call (STYLE.md §3)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    @staticmethod
    def _audit_row(
        session: AsyncSession,
        actor: Principal,
        action: str,
        target_type: str,
        target_id: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AuditRow(
                at=utcnow(),
                actor=actor.name,
                role=actor.role.name.lower(),
                action=action,
                target_type=target_type,
                target_id=target_id,
                detail=detail or {},
            )
        )

    async def audit(
        self,
        actor: Principal,
        action: str,
        target_type: str,
        target_id: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write an audit entry on its own (for actions that change no other record)."""
        async with self._tx() as s:
            self._audit_row(s, actor, action, target_type, target_id, detail)

    async def ping(self) -> None:
        """Round-trip to the database; raises whatever the driver raises when it is down."""
        async with self._sessions() as s:
            await s.execute(select(1))

    # --- units --------------------------------------------------------------------------

    async def create_unit(
        self,
        actor: Principal,
        *,
        kind: UnitKind,
        name: str | None = None,
        unit_id: str | None = None,
        capabilities: Iterable[str] = (),
        home_zone_id: str | None = None,
        dock_id: str | None = None,
        mavlink_sysid: int | None = None,
        team_size: int = 1,
        properties: dict[str, Any] | None = None,
    ) -> Unit:
        """Create a unit.

        Raises
        ------
        Conflict
            When the id or the MAVLink system id is taken, or the zone/dock does not exist.
        """
        uid = unit_id or new_id(kind.value)
        unit = Unit(
            id=uid,
            kind=kind,
            name=name or uid,
            created_at=utcnow(),
            capabilities=tuple(capabilities),
            home_zone_id=home_zone_id,
            dock_id=dock_id,
            mavlink_sysid=mavlink_sysid,
            team_size=team_size,
            properties=properties or {},
        )
        try:
            async with self._tx() as s:
                s.add(
                    UnitRow(
                        id=unit.id,
                        kind=unit.kind.value,
                        name=unit.name,
                        capabilities=list(unit.capabilities),
                        home_zone_id=unit.home_zone_id,
                        dock_id=unit.dock_id,
                        mavlink_sysid=unit.mavlink_sysid,
                        team_size=unit.team_size,
                        properties=unit.properties,
                        created_at=unit.created_at,
                    )
                )
                self._audit_row(s, actor, "unit.create", "unit", unit.id, {"kind": kind.value})
        except IntegrityError as exc:
            raise Conflict(
                f"unit {uid!r} conflicts with an existing record (id, sysid, zone or dock)",
                unit_id=uid,
            ) from exc
        return unit

    async def import_units(self, actor: Principal, units: Sequence[Unit]) -> int:
        """Insert many units in one transaction (a roster of thousands of minimal teams);
        one audit entry covers the import.

        Raises
        ------
        Conflict
            When any id or system id is taken; nothing is imported then.
        """
        if not units:
            return 0
        try:
            async with self._tx() as s:
                await s.execute(
                    UnitRow.__table__.insert(),
                    [
                        {
                            "id": u.id,
                            "kind": u.kind.value,
                            "name": u.name,
                            "capabilities": list(u.capabilities),
                            "home_zone_id": u.home_zone_id,
                            "dock_id": u.dock_id,
                            "mavlink_sysid": u.mavlink_sysid,
                            "team_size": u.team_size,
                            "properties": u.properties,
                            "created_at": u.created_at,
                        }
                        for u in units
                    ],
                )
                self._audit_row(s, actor, "unit.import", "unit", None, {"count": len(units)})
        except IntegrityError as exc:
            raise Conflict("an imported unit conflicts with an existing record") from exc
        return len(units)

    async def get_unit(self, unit_id: str) -> Unit:
        async with self._sessions() as s:
            row = await s.get(UnitRow, unit_id)
        if row is None:
            raise NotFound(f"unit {unit_id!r} does not exist", unit_id=unit_id)
        return _unit(row)

    async def list_units(self, *, kind: UnitKind | None = None) -> list[Unit]:
        stmt = select(UnitRow).order_by(UnitRow.id)
        if kind is not None:
            stmt = stmt.where(UnitRow.kind == kind.value)
        async with self._sessions() as s:
            return [_unit(r) for r in (await s.scalars(stmt)).all()]

    async def unit_by_sysid(self, sysid: int) -> Unit | None:
        async with self._sessions() as s:
            row = await s.scalar(select(UnitRow).where(UnitRow.mavlink_sysid == sysid))
        return _unit(row) if row else None

    # --- docks --------------------------------------------------------------------------

    async def create_dock(
        self,
        actor: Principal,
        *,
        name: str,
        lon: float,
        lat: float,
        dock_id: str | None = None,
        capacity: int = 1,
        charge_minutes: float = 30.0,
    ) -> Dock:
        dock = Dock(
            id=dock_id or new_id("dock"),
            name=name,
            lon=lon,
            lat=lat,
            created_at=utcnow(),
            capacity=capacity,
            charge_minutes=charge_minutes,
        )
        try:
            async with self._tx() as s:
                s.add(
                    DockRow(
                        id=dock.id,
                        name=dock.name,
                        lon=dock.lon,
                        lat=dock.lat,
                        capacity=dock.capacity,
                        charge_minutes=dock.charge_minutes,
                        created_at=dock.created_at,
                    )
                )
                self._audit_row(s, actor, "dock.create", "dock", dock.id)
        except IntegrityError as exc:
            raise Conflict(f"dock {dock.id!r} exists already") from exc
        return dock

    async def list_docks(self) -> list[Dock]:
        async with self._sessions() as s:
            return [_dock(r) for r in (await s.scalars(select(DockRow).order_by(DockRow.id))).all()]

    # --- duty ---------------------------------------------------------------------------

    async def check_in(
        self,
        actor: Principal,
        unit_id: str,
        *,
        team_size: int | None = None,
        source: str = "api",
        note: str | None = None,
        at: datetime | None = None,
    ) -> DutySession:
        """Open a duty session; checking in twice returns the open session (idempotent, since
        ground-unit apps repeat check-ins after a reconnect).

        Raises
        ------
        NotFound
            When the unit does not exist.
        """
        async with self._tx() as s:
            unit = await s.get(UnitRow, unit_id)
            if unit is None:
                raise NotFound(f"unit {unit_id!r} does not exist", unit_id=unit_id)
            open_row = await s.scalar(
                select(DutySessionRow).where(
                    DutySessionRow.unit_id == unit_id, DutySessionRow.checked_out_at.is_(None)
                )
            )
            if open_row is not None:
                return _duty(open_row)
            row = DutySessionRow(
                unit_id=unit_id,
                checked_in_at=at or utcnow(),
                team_size=team_size or unit.team_size,
                source=source,
                note=note,
            )
            s.add(row)
            await s.flush()
            self._audit_row(
                s, actor, "duty.check_in", "unit", unit_id, {"team_size": row.team_size}
            )
            return _duty(row)

    async def check_out(
        self, actor: Principal, unit_id: str, *, at: datetime | None = None
    ) -> DutySession:
        """Close the unit's open duty session.

        Raises
        ------
        NotFound
            When the unit has no open session.
        """
        async with self._tx() as s:
            row = await s.scalar(
                select(DutySessionRow).where(
                    DutySessionRow.unit_id == unit_id, DutySessionRow.checked_out_at.is_(None)
                )
            )
            if row is None:
                raise NotFound(f"unit {unit_id!r} is not on duty", unit_id=unit_id)
            row.checked_out_at = at or utcnow()
            self._audit_row(s, actor, "duty.check_out", "unit", unit_id)
            return _duty(row)

    async def open_duty_sessions(self) -> dict[str, DutySession]:
        async with self._sessions() as s:
            rows = await s.scalars(
                select(DutySessionRow).where(DutySessionRow.checked_out_at.is_(None))
            )
            return {r.unit_id: _duty(r) for r in rows.all()}

    # --- positions ----------------------------------------------------------------------

    async def add_positions(self, positions: Sequence[Position]) -> None:
        """Insert a batch of position history rows in one statement."""
        if not positions:
            return
        async with self._tx() as s:
            await s.execute(
                PositionRow.__table__.insert(),
                [
                    {
                        "unit_id": p.unit_id,
                        "at": p.at,
                        "lon": p.lon,
                        "lat": p.lat,
                        "alt_m": p.alt_m,
                        "speed_mps": p.speed_mps,
                        "heading_deg": p.heading_deg,
                        "battery_pct": p.battery_pct,
                    }
                    for p in positions
                ],
            )

    async def positions(self, unit_id: str, *, limit: int = 1000) -> list[Position]:
        async with self._sessions() as s:
            rows = await s.scalars(
                select(PositionRow)
                .where(PositionRow.unit_id == unit_id)
                .order_by(PositionRow.at.desc(), PositionRow.id.desc())
                .limit(limit)
            )
            return [_position(r) for r in rows.all()]

    async def last_positions(self) -> dict[str, Position]:
        """The newest stored position of every unit (seeds the live state after a restart)."""
        newest = (
            select(PositionRow.unit_id, func.max(PositionRow.id).label("id"))
            .group_by(PositionRow.unit_id)
            .subquery()
        )
        async with self._sessions() as s:
            rows = await s.scalars(select(PositionRow).join(newest, PositionRow.id == newest.c.id))
            return {r.unit_id: _position(r) for r in rows.all()}

    # --- incidents ----------------------------------------------------------------------

    async def create_incident(
        self,
        actor: Principal,
        *,
        category: str,
        lon: float,
        lat: float,
        priority: int = 3,
        description: str = "",
        source: str = "api",
        external_ref: str | None = None,
        properties: dict[str, Any] | None = None,
        state: IncidentState = IncidentState.NEW,
    ) -> Incident:
        now = utcnow()
        incident = Incident(
            id=new_id("inc"),
            category=category,
            priority=priority,
            lon=lon,
            lat=lat,
            state=state,
            created_at=now,
            updated_at=now,
            description=description,
            source=source,
            external_ref=external_ref,
            properties=properties or {},
        )
        async with self._tx() as s:
            s.add(
                IncidentRow(
                    id=incident.id,
                    category=category,
                    priority=priority,
                    description=description,
                    source=source,
                    external_ref=external_ref,
                    lon=lon,
                    lat=lat,
                    state=state.value,
                    properties=incident.properties,
                    created_at=now,
                    updated_at=now,
                )
            )
            transition = IncidentTransitionRow(
                incident_id=incident.id,
                from_state=None,
                to_state=state.value,
                at=now,
                actor=actor.name,
            )
            s.add(transition)
            self._audit_row(
                s,
                actor,
                "incident.create",
                "incident",
                incident.id,
                {
                    "category": category,
                    "priority": priority,
                    "lon": lon,
                    "lat": lat,
                    "source": source,
                },
            )
        return replace(
            incident,
            transitions=(IncidentTransition(None, state, now, actor.name),),
        )

    async def merge_alert(
        self, actor: Principal, incident_id: str, alert: dict[str, Any]
    ) -> Incident:
        """Attach a duplicate alert to an open incident (kept in properties.alerts), raising
        its priority if the new alert is more urgent."""
        async with self._tx() as s:
            row = await s.get(IncidentRow, incident_id, with_for_update=True)
            if row is None:
                raise NotFound(f"incident {incident_id!r} does not exist", incident_id=incident_id)
            props = dict(row.properties or {})
            props["alerts"] = [*props.get("alerts", []), alert]
            row.properties = props
            row.priority = min(row.priority, int(alert.get("priority", row.priority)))
            row.updated_at = utcnow()
            self._audit_row(s, actor, "incident.merge", "incident", incident_id, alert)
        return await self.get_incident(incident_id)

    async def get_incident(self, incident_id: str) -> Incident:
        async with self._sessions() as s:
            row = await s.get(IncidentRow, incident_id)
            if row is None:
                raise NotFound(f"incident {incident_id!r} does not exist", incident_id=incident_id)
            transitions = (
                await s.scalars(
                    select(IncidentTransitionRow)
                    .where(IncidentTransitionRow.incident_id == incident_id)
                    .order_by(IncidentTransitionRow.id)
                )
            ).all()
            return _incident(row, transitions)

    async def list_incidents(
        self,
        *,
        states: Iterable[IncidentState] | None = None,
        category: str | None = None,
        since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Incident], int]:
        """Incidents newest first, filtered; returns (page, total matching)."""
        stmt = select(IncidentRow)
        if states:
            stmt = stmt.where(IncidentRow.state.in_([st.value for st in states]))
        if category:
            stmt = stmt.where(IncidentRow.category == category)
        if since:
            stmt = stmt.where(IncidentRow.created_at >= since)
        if bbox:
            west, south, east, north = bbox
            stmt = stmt.where(
                IncidentRow.lon >= west,
                IncidentRow.lon <= east,
                IncidentRow.lat >= south,
                IncidentRow.lat <= north,
            )
        async with self._sessions() as s:
            total = await s.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = await s.scalars(
                stmt.order_by(IncidentRow.created_at.desc(), IncidentRow.id)
                .limit(limit)
                .offset(offset)
            )
            return [_incident(r) for r in rows.all()], int(total or 0)

    async def transition_incident(
        self,
        actor: Principal,
        incident_id: str,
        to_state: IncidentState,
        *,
        note: str | None = None,
    ) -> Incident:
        """Move an incident to `to_state`, recording the transition with its timestamp.

        Raises
        ------
        NotFound
            When the incident does not exist.
        InvalidTransition
            When the move is not allowed from the current state.
        """
        async with self._tx() as s:
            row = await s.get(IncidentRow, incident_id, with_for_update=True)
            if row is None:
                raise NotFound(f"incident {incident_id!r} does not exist", incident_id=incident_id)
            current = IncidentState(row.state)
            if to_state not in INCIDENT_TRANSITIONS[current]:
                allowed = sorted(st.value for st in INCIDENT_TRANSITIONS[current])
                raise InvalidTransition(
                    f"incident {incident_id} cannot go from {current.value} to {to_state.value}"
                    + (f"; allowed: {', '.join(allowed)}" if allowed else "; it is closed"),
                    incident_id=incident_id,
                    state=current.value,
                )
            now = utcnow()
            row.state = to_state.value
            row.updated_at = now
            s.add(
                IncidentTransitionRow(
                    incident_id=incident_id,
                    from_state=current.value,
                    to_state=to_state.value,
                    at=now,
                    actor=actor.name,
                )
            )
            self._audit_row(
                s,
                actor,
                "incident.transition",
                "incident",
                incident_id,
                {"from": current.value, "to": to_state.value, "note": note},
            )
        return await self.get_incident(incident_id)

    # --- assignments --------------------------------------------------------------------

    async def create_assignment(
        self,
        actor: Principal,
        *,
        incident_id: str,
        unit_id: str,
        status: str = "assigned",
        tier: int | None = None,
        eta_s: float | None = None,
        command_id: str | None = None,
    ) -> Assignment:
        now = utcnow()
        a = Assignment(
            id=new_id("asg"),
            incident_id=incident_id,
            unit_id=unit_id,
            status=status,
            actor=actor.name,
            created_at=now,
            updated_at=now,
            tier=tier,
            eta_s=eta_s,
            command_id=command_id,
        )
        try:
            async with self._tx() as s:
                s.add(
                    AssignmentRow(
                        id=a.id,
                        incident_id=incident_id,
                        unit_id=unit_id,
                        tier=tier,
                        status=status,
                        eta_s=eta_s,
                        command_id=command_id,
                        actor=actor.name,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._audit_row(
                    s,
                    actor,
                    "assignment.create",
                    "incident",
                    incident_id,
                    {"assignment_id": a.id, "unit_id": unit_id, "tier": tier, "status": status},
                )
        except IntegrityError as exc:
            raise NotFound(f"incident {incident_id!r} or unit {unit_id!r} does not exist") from exc
        return a

    async def set_assignment_status(
        self, actor: Principal, assignment_id: str, status: str, *, command_id: str | None = None
    ) -> Assignment:
        async with self._tx() as s:
            row = await s.get(AssignmentRow, assignment_id)
            if row is None:
                raise NotFound(f"assignment {assignment_id!r} does not exist")
            row.status = status
            row.updated_at = utcnow()
            if command_id is not None:
                row.command_id = command_id
            self._audit_row(
                s,
                actor,
                "assignment.status",
                "incident",
                row.incident_id,
                {"assignment_id": assignment_id, "status": status},
            )
            return _assignment(row)

    async def list_assignments(
        self, *, incident_id: str | None = None, unit_id: str | None = None
    ) -> list[Assignment]:
        stmt = select(AssignmentRow).order_by(AssignmentRow.created_at, AssignmentRow.id)
        if incident_id:
            stmt = stmt.where(AssignmentRow.incident_id == incident_id)
        if unit_id:
            stmt = stmt.where(AssignmentRow.unit_id == unit_id)
        async with self._sessions() as s:
            return [_assignment(r) for r in (await s.scalars(stmt)).all()]

    # --- commands (outbox) --------------------------------------------------------------

    async def record_command(
        self,
        actor: Principal,
        *,
        unit_id: str,
        channel: str,
        kind: str,
        payload: dict[str, Any],
        timeout_s: float,
        correlation_id: str | None = None,
        command_id: str | None = None,
    ) -> Command:
        """Write a command to the outbox (status pending) before anything is sent."""
        now = utcnow()
        cmd = Command(
            id=command_id or new_id("cmd"),
            unit_id=unit_id,
            channel=channel,
            kind=kind,
            payload=payload,
            status=CommandStatus.PENDING,
            attempts=0,
            timeout_s=timeout_s,
            actor=actor.name,
            created_at=now,
            correlation_id=correlation_id,
        )
        async with self._tx() as s:
            s.add(
                CommandRow(
                    id=cmd.id,
                    unit_id=unit_id,
                    channel=channel,
                    kind=kind,
                    payload=payload,
                    status=cmd.status.value,
                    attempts=0,
                    timeout_s=timeout_s,
                    correlation_id=correlation_id,
                    actor=actor.name,
                    created_at=now,
                )
            )
            self._audit_row(
                s,
                actor,
                f"command.{kind}",
                "unit",
                unit_id,
                {"command_id": cmd.id, "channel": channel, "payload": payload},
            )
        return cmd

    async def update_command(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
        attempt: bool = False,
    ) -> Command:
        """Record a command's progress; a terminal status is never overwritten.

        Raises
        ------
        NotFound
            When the command does not exist.
        """
        async with self._tx() as s:
            row = await s.get(CommandRow, command_id, with_for_update=True)
            if row is None:
                raise NotFound(f"command {command_id!r} does not exist")
            if CommandStatus(row.status) in TERMINAL_COMMAND_STATES:
                return _command(row)
            now = utcnow()
            row.status = status.value
            if attempt:
                row.attempts += 1
            if status is CommandStatus.SENT:
                row.sent_at = now
            if status in TERMINAL_COMMAND_STATES:
                row.completed_at = now
            if error is not None:
                row.error = error
            if result is not None:
                row.result = result
            return _command(row)

    async def note_command_result(self, command_id: str, result: dict[str, Any]) -> Command:
        """Replace the result of a command, whatever its status (progress after the ack)."""
        async with self._tx() as s:
            row = await s.get(CommandRow, command_id)
            if row is None:
                raise NotFound(f"command {command_id!r} does not exist")
            row.result = result
            return _command(row)

    async def get_command(self, command_id: str) -> Command:
        async with self._sessions() as s:
            row = await s.get(CommandRow, command_id)
        if row is None:
            raise NotFound(f"command {command_id!r} does not exist")
        return _command(row)

    async def list_commands(
        self,
        *,
        unit_id: str | None = None,
        statuses: Iterable[CommandStatus] | None = None,
        channel: str | None = None,
        correlation_id: str | None = None,
        limit: int = 1000,
    ) -> list[Command]:
        stmt = select(CommandRow).order_by(CommandRow.created_at, CommandRow.id).limit(limit)
        if unit_id:
            stmt = stmt.where(CommandRow.unit_id == unit_id)
        if statuses:
            stmt = stmt.where(CommandRow.status.in_([st.value for st in statuses]))
        if channel:
            stmt = stmt.where(CommandRow.channel == channel)
        if correlation_id:
            stmt = stmt.where(CommandRow.correlation_id == correlation_id)
        async with self._sessions() as s:
            return [_command(r) for r in (await s.scalars(stmt)).all()]

    # --- fences -------------------------------------------------------------------------

    async def create_fence(
        self,
        actor: Principal,
        *,
        name: str,
        kind: FenceKind,
        geometry: dict[str, Any],
        active: bool = True,
        min_alt_m: float | None = None,
        max_alt_m: float | None = None,
        properties: dict[str, Any] | None = None,
        fence_id: str | None = None,
    ) -> Fence:
        now = utcnow()
        fence = Fence(
            id=fence_id or new_id("fence"),
            name=name,
            kind=kind,
            geometry=geometry,
            active=active,
            created_at=now,
            updated_at=now,
            min_alt_m=min_alt_m,
            max_alt_m=max_alt_m,
            properties=properties or {},
        )
        try:
            async with self._tx() as s:
                s.add(
                    FenceRow(
                        id=fence.id,
                        name=name,
                        kind=kind.value,
                        geometry=geometry,
                        active=active,
                        min_alt_m=min_alt_m,
                        max_alt_m=max_alt_m,
                        properties=fence.properties,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._audit_row(
                    s,
                    actor,
                    "fence.create",
                    "fence",
                    fence.id,
                    {"kind": kind.value, "name": name},
                )
        except IntegrityError as exc:
            raise Conflict(f"fence {fence.id!r} exists already") from exc
        return fence

    async def get_fence(self, fence_id: str) -> Fence:
        async with self._sessions() as s:
            row = await s.get(FenceRow, fence_id)
        if row is None:
            raise NotFound(f"fence {fence_id!r} does not exist", fence_id=fence_id)
        return _fence(row)

    async def list_fences(
        self, *, kind: FenceKind | None = None, active: bool | None = None
    ) -> list[Fence]:
        stmt = select(FenceRow).order_by(FenceRow.created_at, FenceRow.id)
        if kind is not None:
            stmt = stmt.where(FenceRow.kind == kind.value)
        if active is not None:
            stmt = stmt.where(FenceRow.active == active)
        async with self._sessions() as s:
            return [_fence(r) for r in (await s.scalars(stmt)).all()]

    async def update_fence(
        self,
        actor: Principal,
        fence_id: str,
        *,
        name: str | None = None,
        active: bool | None = None,
        geometry: dict[str, Any] | None = None,
    ) -> Fence:
        async with self._tx() as s:
            row = await s.get(FenceRow, fence_id)
            if row is None:
                raise NotFound(f"fence {fence_id!r} does not exist", fence_id=fence_id)
            changes: dict[str, Any] = {}
            if name is not None:
                row.name = changes["name"] = name
            if active is not None:
                row.active = changes["active"] = active
            if geometry is not None:
                row.geometry = geometry
                changes["geometry"] = "replaced"
            row.updated_at = utcnow()
            self._audit_row(s, actor, "fence.update", "fence", fence_id, changes)
            return _fence(row)

    async def delete_fence(self, actor: Principal, fence_id: str) -> None:
        async with self._tx() as s:
            row = await s.get(FenceRow, fence_id)
            if row is None:
                raise NotFound(f"fence {fence_id!r} does not exist", fence_id=fence_id)
            await s.execute(
                update(UnitRow).where(UnitRow.home_zone_id == fence_id).values(home_zone_id=None)
            )
            await s.delete(row)
            self._audit_row(s, actor, "fence.delete", "fence", fence_id, {"name": row.name})

    # --- audit --------------------------------------------------------------------------

    async def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        stmt = select(AuditRow)
        if actor:
            stmt = stmt.where(AuditRow.actor == actor)
        if action:
            stmt = stmt.where(AuditRow.action.startswith(action))
        if target_id:
            stmt = stmt.where(AuditRow.target_id == target_id)
        async with self._sessions() as s:
            total = await s.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = await s.scalars(stmt.order_by(AuditRow.id.desc()).limit(limit).offset(offset))
            return [_audit(r) for r in rows.all()], int(total or 0)

    # --- API tokens ---------------------------------------------------------------------

    async def create_token(self, actor: Principal, *, name: str, role: Role) -> tuple[str, str]:
        """Create an API token; returns (token id, the token itself — shown once, stored hashed)."""
        token = f"pf_{secrets.token_urlsafe(32)}"
        token_id = new_id("tok")
        async with self._tx() as s:
            s.add(
                ApiTokenRow(
                    id=token_id,
                    name=name,
                    role=role.name.lower(),
                    token_hash=hash_token(token),
                    created_at=utcnow(),
                )
            )
            self._audit_row(
                s,
                actor,
                "token.create",
                "token",
                token_id,
                {"name": name, "role": role.name.lower()},
            )
        return token_id, token

    async def resolve_token(self, token: str) -> Principal | None:
        async with self._sessions() as s:
            row = await s.scalar(
                select(ApiTokenRow).where(
                    ApiTokenRow.token_hash == hash_token(token), ApiTokenRow.revoked_at.is_(None)
                )
            )
        if row is None:
            return None
        return Principal(name=row.name, role=Role.parse(row.role), token_id=row.id)

    async def count_tokens(self, *, role: Role | None = None) -> int:
        stmt = select(func.count()).select_from(ApiTokenRow).where(ApiTokenRow.revoked_at.is_(None))
        if role is not None:
            stmt = stmt.where(ApiTokenRow.role == role.name.lower())
        async with self._sessions() as s:
            return int(await s.scalar(stmt) or 0)

    # --- missions -----------------------------------------------------------------------

    async def create_mission(
        self,
        actor: Principal,
        *,
        unit_id: str,
        waypoints: Sequence[MissionWaypoint],
        return_home: bool,
        speed_mps: float | None,
        total_items: int,
        source: str = "api",
        correlation_id: str | None = None,
        status: str = "uploading",
    ) -> Mission:
        """Record a mission before it is uploaded (status ``uploading``)."""
        now = utcnow()
        mission = Mission(
            id=new_id("msn"),
            unit_id=unit_id,
            status=status,
            waypoints=tuple(waypoints),
            return_home=return_home,
            actor=actor.name,
            created_at=now,
            speed_mps=speed_mps,
            total_items=total_items,
            source=source,
            correlation_id=correlation_id,
        )
        async with self._tx() as s:
            s.add(
                MissionRow(
                    id=mission.id,
                    unit_id=unit_id,
                    status=status,
                    waypoints=[
                        {
                            "lon": w.lon,
                            "lat": w.lat,
                            "alt_m": w.alt_m,
                            "speed_mps": w.speed_mps,
                            "loiter_s": w.loiter_s,
                        }
                        for w in waypoints
                    ],
                    speed_mps=speed_mps,
                    return_home=return_home,
                    current_item=0,
                    total_items=total_items,
                    reached=[],
                    source=source,
                    correlation_id=correlation_id,
                    actor=actor.name,
                    created_at=now,
                )
            )
            self._audit_row(
                s,
                actor,
                "mission.create",
                "unit",
                unit_id,
                {"mission_id": mission.id, "waypoints": len(waypoints), "source": source},
            )
        return mission

    async def update_mission(
        self,
        mission_id: str,
        *,
        status: str | None = None,
        current_item: int | None = None,
        reached: int | None = None,
        error: str | None = None,
        actor: Principal | None = None,
    ) -> Mission:
        """Record a mission's progress; a finished mission keeps its final status.

        Raises
        ------
        NotFound
            When the mission does not exist.
        """
        async with self._tx() as s:
            row = await s.get(MissionRow, mission_id, with_for_update=True)
            if row is None:
                raise NotFound(f"mission {mission_id!r} does not exist", mission_id=mission_id)
            finished = row.status in {"completed", "failed", "aborted"}
            now = utcnow()
            if status is not None and not finished and status != row.status:
                if status == "running" and row.started_at is None:
                    row.started_at = now
                if status in {"completed", "failed", "aborted"}:
                    row.ended_at = now
                if actor is not None:
                    self._audit_row(
                        s,
                        actor,
                        f"mission.{status}",
                        "unit",
                        row.unit_id,
                        {"mission_id": mission_id, "from": row.status},
                    )
                row.status = status
            if current_item is not None:
                row.current_item = current_item
            if reached is not None and reached not in (row.reached or []):
                row.reached = [*(row.reached or []), reached]
            if error is not None:
                row.error = error
            return _mission(row)

    async def get_mission(self, mission_id: str) -> Mission:
        async with self._sessions() as s:
            row = await s.get(MissionRow, mission_id)
        if row is None:
            raise NotFound(f"mission {mission_id!r} does not exist", mission_id=mission_id)
        return _mission(row)

    async def list_missions(
        self,
        *,
        unit_id: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int = 100,
    ) -> list[Mission]:
        stmt = select(MissionRow).order_by(MissionRow.created_at.desc(), MissionRow.id).limit(limit)
        if unit_id:
            stmt = stmt.where(MissionRow.unit_id == unit_id)
        if statuses:
            stmt = stmt.where(MissionRow.status.in_(list(statuses)))
        async with self._sessions() as s:
            return [_mission(r) for r in (await s.scalars(stmt)).all()]

    # --- warning presets ----------------------------------------------------------------

    async def list_presets(self) -> list[WarningPreset]:
        async with self._sessions() as s:
            rows = await s.scalars(select(WarningPresetRow).order_by(WarningPresetRow.id))
            return [_preset(r) for r in rows.all()]

    async def get_preset(self, preset_id: str) -> WarningPreset:
        async with self._sessions() as s:
            row = await s.get(WarningPresetRow, preset_id)
        if row is None:
            raise NotFound(f"warning preset {preset_id!r} does not exist", preset_id=preset_id)
        return _preset(row)

    async def save_preset(
        self,
        actor: Principal,
        *,
        preset_id: str,
        name: str,
        texts: dict[str, str],
        volume: int,
        repeat: int,
        spotlight: bool,
    ) -> WarningPreset:
        """Create or replace a warning preset."""
        async with self._tx() as s:
            row = await s.get(WarningPresetRow, preset_id)
            if row is None:
                row = WarningPresetRow(id=preset_id, created_at=utcnow())
                s.add(row)
            row.name, row.texts, row.volume = name, texts, volume
            row.repeat, row.spotlight = repeat, spotlight
            self._audit_row(s, actor, "preset.save", "preset", preset_id, {"name": name})
            await s.flush()
            return _preset(row)

    async def delete_preset(self, actor: Principal, preset_id: str) -> None:
        async with self._tx() as s:
            row = await s.get(WarningPresetRow, preset_id)
            if row is None:
                raise NotFound(f"warning preset {preset_id!r} does not exist")
            await s.delete(row)
            self._audit_row(s, actor, "preset.delete", "preset", preset_id)
