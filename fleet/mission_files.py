"""Missions to and from QGroundControl `.plan` documents (the format itself: planners.qgc)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleet.domain import Fence, Mission, MissionWaypoint
from fleet.errors import MalformedProblem
from fleet.types import FenceKind
from planners.qgc import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    FencePolygon,
    MissionItem,
    QgcPlan,
    build_plan,
    parse_plan,
)

_FRAME_MISSION = 2


def plan_from_mission(
    mission: Mission,
    fences: Sequence[Fence],
    *,
    home: tuple[float, float] | None,
    cruise_speed_mps: float,
) -> dict[str, Any]:
    """The `.plan` of a stored mission, with the active no-fly (keep-out) and keep-in fences."""
    items: list[MissionItem] = []
    speed: float | None = None
    for w in mission.waypoints:
        wanted = w.speed_mps or mission.speed_mps
        if wanted is not None and wanted != speed:
            speed = wanted
            items.append(
                MissionItem(
                    MAV_CMD_DO_CHANGE_SPEED,
                    (1.0, speed, -1.0, 0.0, 0.0, 0.0, 0.0),
                    frame=_FRAME_MISSION,
                )
            )
        if w.loiter_s > 0:
            items.append(
                MissionItem(
                    MAV_CMD_NAV_LOITER_TIME, (w.loiter_s, 0.0, 0.0, 1.0, w.lat, w.lon, w.alt_m)
                )
            )
        else:
            items.append(
                MissionItem(MAV_CMD_NAV_WAYPOINT, (0.0, 0.0, 0.0, None, w.lat, w.lon, w.alt_m))
            )
    if mission.return_home:
        items.append(MissionItem(MAV_CMD_NAV_RETURN_TO_LAUNCH, (0.0,) * 7, frame=_FRAME_MISSION))
    first = mission.waypoints[0]
    start = home or (first.lon, first.lat)
    polygons = []
    for f in fences:
        if f.kind not in (FenceKind.NO_FLY, FenceKind.KEEP_IN):
            continue
        polys = (
            [f.geometry["coordinates"]]
            if f.geometry["type"] == "Polygon"
            else (f.geometry["coordinates"])
        )
        for poly in polys:
            ring = [(float(p[0]), float(p[1])) for p in poly[0][:-1]]
            polygons.append(FencePolygon(tuple(ring), inclusion=f.kind is FenceKind.KEEP_IN))
    plan = QgcPlan(
        items=tuple(items),
        home=(start[0], start[1], 0.0),
        polygons=tuple(polygons),
        cruise_speed_mps=mission.speed_mps or cruise_speed_mps,
    )
    return build_plan(plan)


def mission_from_plan(
    document: Mapping[str, Any],
) -> tuple[list[MissionWaypoint], float | None, bool]:
    """Waypoints, cruise speed and return-home of a `.plan` document.

    Raises
    ------
    MalformedProblem
        For a document that is not a plan, or holds no positional mission item.
    """
    plan = parse_plan(document)
    waypoints: list[MissionWaypoint] = []
    speed: float | None = None
    first_speed: float | None = None
    return_home = False
    for i, item in enumerate(plan.items):
        p = item.params
        if item.command == MAV_CMD_DO_CHANGE_SPEED and p[1] is not None and p[1] > 0:
            speed = float(p[1])
            first_speed = first_speed or speed
        elif item.command in (MAV_CMD_NAV_WAYPOINT, MAV_CMD_NAV_LOITER_TIME, MAV_CMD_NAV_TAKEOFF):
            lat, lon, alt = p[4], p[5], p[6]
            if lat is None or lon is None or alt is None:
                raise MalformedProblem(
                    "a positional item has no position", where=f"mission/items/{i}"
                )
            try:
                waypoints.append(
                    MissionWaypoint(
                        lon=float(lon),
                        lat=float(lat),
                        alt_m=float(alt),
                        speed_mps=speed,
                        loiter_s=float(p[0] or 0)
                        if item.command == MAV_CMD_NAV_LOITER_TIME
                        else 0.0,
                    )
                )
            except ValueError as exc:
                raise MalformedProblem(str(exc), where=f"mission/items/{i}") from None
        elif item.command == MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return_home = True
    if not waypoints:
        raise MalformedProblem("the plan has no waypoint", where="mission/items")
    return waypoints, first_speed or plan.cruise_speed_mps, return_home
