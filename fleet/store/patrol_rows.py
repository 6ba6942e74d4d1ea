"""ORM rows of patrol operations: hot spots, versioned patrol plans, sorties, ground routes,
visits, recurring schedules and overwatch operations (migration 0003)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fleet.store.models import Base


class HotSpotRow(Base):
    """A place to patrol: a GeoJSON Point or Polygon with its revisit target."""

    __tablename__ = "hotspots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    weight: Mapped[float] = mapped_column(Float)
    revisit_s: Mapped[float] = mapped_column(Float)
    dwell_s: Mapped[float] = mapped_column(Float)
    active_hours: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[from_h, to_h]]
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | derived
    active: Mapped[bool] = mapped_column(default=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PatrolRow(Base):
    """A patrol: the request, its current plan version, its status and measured progress."""

    __tablename__ = "patrols"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    clock_scale: Mapped[float] = mapped_column(Float, default=1.0)
    schedule_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PatrolPlanRow(Base):
    """One version of a patrol's plan (kept when the patrol is re-planned)."""

    __tablename__ = "patrol_plans"

    patrol_id: Mapped[str] = mapped_column(
        ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class PatrolSortieRow(Base):
    """One drone sortie of a plan version and what became of it."""

    __tablename__ = "patrol_sorties"
    __table_args__ = (Index("ix_patrol_sorties_patrol_version", "patrol_id", "version"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patrol_id: Mapped[str] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    drone_id: Mapped[str] = mapped_column(String(64))
    index: Mapped[int] = mapped_column(Integer)
    launch_s: Mapped[float] = mapped_column(Float)
    land_s: Mapped[float] = mapped_column(Float)
    waypoints: Mapped[list[Any]] = mapped_column(JSON)
    hot_spots: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    mission_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    launched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PatrolRouteRow(Base):
    """A ground unit's road route of a plan version and its command's outcome."""

    __tablename__ = "patrol_routes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patrol_id: Mapped[str] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[str] = mapped_column(String(64))
    route: Mapped[dict[str, Any]] = mapped_column(JSON)  # GeoJSON Feature (LineString)
    stops: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    command_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class PatrolVisitRow(Base):
    """A unit seen at a hot spot during a patrol (from its telemetry)."""

    __tablename__ = "patrol_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patrol_id: Mapped[str] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"), index=True)
    hot_spot_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    plan_s: Mapped[float] = mapped_column(Float)


class PatrolScheduleRow(Base):
    """A recurring patrol: which days, from when to when, and the patrol request to run."""

    __tablename__ = "patrol_schedules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    days: Mapped[list[Any]] = mapped_column(JSON)  # ISO weekdays 1 (Mon) .. 7 (Sun)
    start_time: Mapped[str] = mapped_column(String(5))  # "17:00"
    end_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    last_run_on: Mapped[str | None] = mapped_column(String(10), nullable=True)  # local date
    last_patrol_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OverwatchRow(Base):
    """An event overwatch: the position held, the relief rotation, and what was achieved."""

    __tablename__ = "overwatch_operations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    alt_m: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    clock_scale: Mapped[float] = mapped_column(Float, default=1.0)
    drones: Mapped[list[Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


__all__ = [
    "HotSpotRow",
    "OverwatchRow",
    "PatrolPlanRow",
    "PatrolRouteRow",
    "PatrolRow",
    "PatrolScheduleRow",
    "PatrolSortieRow",
    "PatrolVisitRow",
]
