"""QGroundControl ``.plan`` files as plain dicts: build and parse missions, geofence, rally points.

Format (QGC developer guide, "Plan File Format"): a JSON object with ``fileType: "Plan"``,
``version: 1``, ``groundStation``, a ``mission`` (``version: 2``, ``items`` of
``SimpleItem``s with ``command``, ``frame``, ``params[7]``, ``autoContinue``, ``doJumpId``;
``plannedHomePosition`` ``[lat, lon, alt]``, ``cruiseSpeed``, ``hoverSpeed``,
``firmwareType``, ``vehicleType``), a ``geoFence`` (``version: 2``, ``polygons`` of
``{inclusion, polygon: [[lat, lon], ...], version: 1}`` and ``circles`` of
``{inclusion, circle: {center: [lat, lon], radius}, version: 1}``) and ``rallyPoints``
(``version: 2``, ``points: [[lat, lon, alt], ...]``). Note QGC's lat, lon order; this module's
API is lon, lat like the rest of the project.

Commands used (MAV_CMD): NAV_WAYPOINT 16, NAV_LOITER_TIME 19, NAV_RETURN_TO_LAUNCH 20,
NAV_TAKEOFF 22, DO_CHANGE_SPEED 178. Params 5-7 of NAV commands are latitude, longitude,
altitude; frame 3 is MAV_FRAME_GLOBAL_RELATIVE_ALT (altitude above home).

Pure: dicts in and out; reading and writing the file is the caller's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from planners.errors import MalformedProblem

__all__ = [
    "MAV_CMD_DO_CHANGE_SPEED",
    "MAV_CMD_NAV_LOITER_TIME",
    "MAV_CMD_NAV_RETURN_TO_LAUNCH",
    "MAV_CMD_NAV_TAKEOFF",
    "MAV_CMD_NAV_WAYPOINT",
    "FenceCircle",
    "FencePolygon",
    "MissionItem",
    "QgcPlan",
    "build_plan",
    "mission_from_waypoints",
    "parse_plan",
]

MAV_CMD_NAV_WAYPOINT = 16  # fly to lat/lon/alt; param1 hold time
MAV_CMD_NAV_LOITER_TIME = 19  # fly to lat/lon/alt and loiter param1 seconds
MAV_CMD_NAV_RETURN_TO_LAUNCH = 20  # return to home and land
MAV_CMD_NAV_TAKEOFF = 22  # take off to param7 altitude
MAV_CMD_DO_CHANGE_SPEED = 178  # param1 speed type (1 = ground), param2 m/s
MAV_FRAME_MISSION = 2  # non-positional commands
MAV_FRAME_GLOBAL_RELATIVE_ALT = 3  # altitude relative to home

LonLat = tuple[float, float]
Param = float | None


@dataclass(frozen=True, slots=True)
class MissionItem:
    """A QGC ``SimpleItem``: a MAV_CMD with its seven params (5-7: lat, lon, alt)."""

    command: int
    params: tuple[Param, Param, Param, Param, Param, Param, Param]
    frame: int = MAV_FRAME_GLOBAL_RELATIVE_ALT
    auto_continue: bool = True

    def __post_init__(self) -> None:
        if len(self.params) != 7:
            raise MalformedProblem("a mission item has exactly 7 params", where="params")
        object.__setattr__(
            self, "params", tuple(None if p is None else float(p) for p in self.params)
        )


@dataclass(frozen=True, slots=True)
class FencePolygon:
    """A geofence polygon (lon, lat ring); ``inclusion`` False means keep out."""

    ring: tuple[LonLat, ...]
    inclusion: bool

    def __post_init__(self) -> None:
        if len(self.ring) < 3:
            raise MalformedProblem("a fence polygon needs >= 3 vertices", where="polygon")
        object.__setattr__(self, "ring", tuple((float(a), float(b)) for a, b in self.ring))


@dataclass(frozen=True, slots=True)
class FenceCircle:
    """A geofence circle: centre (lon, lat) and radius in metres."""

    center: LonLat
    radius_m: float
    inclusion: bool

    def __post_init__(self) -> None:
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise MalformedProblem("fence circle radius must be > 0", where="circle")
        object.__setattr__(self, "center", (float(self.center[0]), float(self.center[1])))


@dataclass(frozen=True, slots=True)
class QgcPlan:
    """Everything a ``.plan`` holds that patrolfleet uses.

    ``home`` and ``rally`` points are (lon, lat, alt_m).
    """

    items: tuple[MissionItem, ...]
    home: tuple[float, float, float]
    polygons: tuple[FencePolygon, ...] = ()
    circles: tuple[FenceCircle, ...] = ()
    rally: tuple[tuple[float, float, float], ...] = ()
    cruise_speed_mps: float = 12.0
    hover_speed_mps: float = 5.0
    firmware_type: int = 12  # MAV_AUTOPILOT_PX4
    vehicle_type: int = 2  # MAV_TYPE_QUADROTOR

    def __post_init__(self) -> None:
        if not self.items:
            raise MalformedProblem("a plan needs at least one mission item", where="mission")


def build_plan(plan: QgcPlan) -> dict[str, Any]:
    """The ``.plan`` JSON object for ``plan`` (``json.dumps`` it to write a file)."""
    items = [
        {
            "autoContinue": it.auto_continue,
            "command": it.command,
            "doJumpId": k + 1,
            "frame": it.frame,
            "params": list(it.params),
            "type": "SimpleItem",
        }
        for k, it in enumerate(plan.items)
    ]
    lon, lat, alt = plan.home
    return {
        "fileType": "Plan",
        "geoFence": {
            "circles": [
                {
                    "circle": {"center": [c.center[1], c.center[0]], "radius": c.radius_m},
                    "inclusion": c.inclusion,
                    "version": 1,
                }
                for c in plan.circles
            ],
            "polygons": [
                {
                    "inclusion": p.inclusion,
                    "polygon": [[b, a] for a, b in p.ring],
                    "version": 1,
                }
                for p in plan.polygons
            ],
            "version": 2,
        },
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": plan.cruise_speed_mps,
            "firmwareType": plan.firmware_type,
            "globalPlanAltitudeMode": 1,
            "hoverSpeed": plan.hover_speed_mps,
            "items": items,
            "plannedHomePosition": [lat, lon, alt],
            "vehicleType": plan.vehicle_type,
            "version": 2,
        },
        "rallyPoints": {
            "points": [[b, a, h] for a, b, h in plan.rally],
            "version": 2,
        },
        "version": 1,
    }


def _get(d: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, Mapping) or key not in d:
        raise MalformedProblem(f"missing {key!r}", where=f"{where}/{key}")
    return d[key]


def _lonlat(pair: Any, where: str) -> LonLat:
    try:
        lat, lon = (float(v) for v in pair[:2])
    except (TypeError, ValueError, IndexError) as exc:
        raise MalformedProblem("expected [lat, lon]", where=where) from exc
    return (lon, lat)


def parse_plan(d: Mapping[str, Any]) -> QgcPlan:
    """Parse a ``.plan`` JSON object (SimpleItems only; ComplexItems are refused).

    Raises
    ------
    MalformedProblem
        If the object is not a QGC plan, with ``where`` pointing at the bad part.
    """
    if _get(d, "fileType", "") != "Plan":
        raise MalformedProblem("fileType must be 'Plan'", where="/fileType")
    mission = _get(d, "mission", "")
    items: list[MissionItem] = []
    for k, it in enumerate(_get(mission, "items", "/mission")):
        w = f"/mission/items/{k}"
        if _get(it, "type", w) != "SimpleItem":
            raise MalformedProblem("only SimpleItem mission items are supported", where=w)
        params = _get(it, "params", w)
        if not isinstance(params, list) or len(params) != 7:
            raise MalformedProblem("params must be a list of 7", where=f"{w}/params")
        items.append(
            MissionItem(
                int(_get(it, "command", w)),
                tuple(params),
                frame=int(it.get("frame", MAV_FRAME_GLOBAL_RELATIVE_ALT)),
                auto_continue=bool(it.get("autoContinue", True)),
            )
        )
    home_raw = _get(mission, "plannedHomePosition", "/mission")
    hlon, hlat = _lonlat(home_raw, "/mission/plannedHomePosition")
    halt = float(home_raw[2]) if len(home_raw) > 2 else 0.0
    fence = d.get("geoFence", {}) or {}
    polygons = tuple(
        FencePolygon(
            tuple(
                _lonlat(p, f"/geoFence/polygons/{k}/polygon/{i}")
                for i, p in enumerate(_get(poly, "polygon", f"/geoFence/polygons/{k}"))
            ),
            bool(poly.get("inclusion", True)),
        )
        for k, poly in enumerate(fence.get("polygons", []))
    )
    circles = []
    for k, c in enumerate(fence.get("circles", [])):
        w = f"/geoFence/circles/{k}"
        circ = _get(c, "circle", w)
        circles.append(
            FenceCircle(
                _lonlat(_get(circ, "center", f"{w}/circle"), f"{w}/circle/center"),
                float(_get(circ, "radius", f"{w}/circle")),
                bool(c.get("inclusion", True)),
            )
        )
    rally = []
    for k, p in enumerate((d.get("rallyPoints", {}) or {}).get("points", [])):
        lon, lat = _lonlat(p, f"/rallyPoints/points/{k}")
        rally.append((lon, lat, float(p[2]) if len(p) > 2 else 0.0))
    return QgcPlan(
        items=tuple(items),
        home=(hlon, hlat, halt),
        polygons=polygons,
        circles=tuple(circles),
        rally=tuple(rally),
        cruise_speed_mps=float(mission.get("cruiseSpeed", 12.0)),
        hover_speed_mps=float(mission.get("hoverSpeed", 5.0)),
        firmware_type=int(mission.get("firmwareType", 12)),
        vehicle_type=int(mission.get("vehicleType", 2)),
    )


class _Waypoint(Protocol):
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def alt_m(self) -> float: ...
    @property
    def speed_mps(self) -> float: ...
    @property
    def loiter_s(self) -> float: ...
    @property
    def kind(self) -> str: ...


def mission_from_waypoints(waypoints: Sequence[_Waypoint]) -> tuple[MissionItem, ...]:
    """Mission items for a sortie: take-off, speed, waypoints / timed loiters, RTL.

    A ``takeoff`` waypoint becomes NAV_TAKEOFF, a waypoint with ``loiter_s > 0`` becomes
    NAV_LOITER_TIME, others NAV_WAYPOINT; a DO_CHANGE_SPEED item precedes any speed change,
    and a ``land`` waypoint (above the dock) is followed by RTL.
    """
    items: list[MissionItem] = []
    speed: float | None = None
    for w in waypoints:
        if w.kind == "takeoff":
            items.append(
                MissionItem(MAV_CMD_NAV_TAKEOFF, (0.0, 0.0, 0.0, None, w.lat, w.lon, w.alt_m))
            )
            continue
        if speed is None or not math.isclose(speed, w.speed_mps):
            speed = w.speed_mps
            items.append(
                MissionItem(
                    MAV_CMD_DO_CHANGE_SPEED,
                    (1.0, speed, -1.0, 0.0, 0.0, 0.0, 0.0),
                    frame=MAV_FRAME_MISSION,
                )
            )
        if w.loiter_s > 0:
            items.append(
                MissionItem(
                    MAV_CMD_NAV_LOITER_TIME,
                    (float(w.loiter_s), 0.0, 0.0, 1.0, w.lat, w.lon, w.alt_m),
                )
            )
        else:
            items.append(
                MissionItem(MAV_CMD_NAV_WAYPOINT, (0.0, 0.0, 0.0, None, w.lat, w.lon, w.alt_m))
            )
        if w.kind == "land":
            items.append(
                MissionItem(
                    MAV_CMD_NAV_RETURN_TO_LAUNCH,
                    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
                    frame=MAV_FRAME_MISSION,
                )
            )
    return tuple(items)
