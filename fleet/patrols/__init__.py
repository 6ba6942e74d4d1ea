"""Patrol operations: hot spots, patrol plans and their live runs, schedules, overwatch."""

from fleet.patrols.domain import (
    HotSpot,
    Overwatch,
    Patrol,
    PatrolRoute,
    PatrolSchedule,
    PatrolSortie,
    PatrolVisit,
)
from fleet.patrols.hotspots import DerivedHotSpot, Estimator, derive_hotspots

__all__ = [
    "DerivedHotSpot",
    "Estimator",
    "HotSpot",
    "Overwatch",
    "Patrol",
    "PatrolRoute",
    "PatrolSchedule",
    "PatrolSortie",
    "PatrolVisit",
    "derive_hotspots",
]
