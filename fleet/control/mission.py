"""Pure builders: waypoints and geofences into MAVLink mission items (MISSION_ITEM_INT fields).

No MAVSDK here, so the item lists can be checked without a drone; the links convert them
to ``mission_raw`` items at the last moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.control.types import FenceCircle, FencePolygon, Geofence, Waypoint

MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_RETURN_TO_LAUNCH = 20
MAV_CMD_DO_CHANGE_SPEED = 178
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION = 5001
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION = 5002
MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION = 5003
MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION = 5004

MAV_FRAME_GLOBAL = 0
MAV_FRAME_MISSION = 2
MAV_FRAME_GLOBAL_RELATIVE_ALT_INT = 6

MISSION_TYPE_MISSION = 0
MISSION_TYPE_FENCE = 1


@dataclass(frozen=True, slots=True)
class RawItem:
    """The fields of one MISSION_ITEM_INT."""

    seq: int
    frame: int
    command: int
    param1: float
    param2: float
    param3: float
    param4: float
    x: int
    y: int
    z: float
    mission_type: int = MISSION_TYPE_MISSION
    current: int = 0
    autocontinue: int = 1


def _e7(deg: float) -> int:
    return round(deg * 1e7)


def mission_items(waypoints: list[Waypoint], *, return_home: bool) -> list[RawItem]:
    """Items for a patrol: a speed change where one is asked, each waypoint, optional RTL.

    Parameters
    ----------
    waypoints : list[Waypoint]
        In flying order; altitudes above the launch point.
    return_home : bool
        Append NAV_RETURN_TO_LAUNCH, so the drone lands at its dock.

    Returns
    -------
    list[RawItem]
        Sequence numbers 0..n-1; item 0 is marked current.

    Raises
    ------
    ValueError
        If ``waypoints`` is empty.
    """
    if not waypoints:
        raise ValueError("a mission needs at least one waypoint")
    out: list[RawItem] = []
    speed: float | None = None

    def add(
        frame: int, command: int, p: tuple[float, float, float, float], x: int, y: int, z: float
    ) -> None:
        out.append(RawItem(len(out), frame, command, *p, x, y, z, current=int(not out)))

    for wp in waypoints:
        if wp.speed_mps is not None and wp.speed_mps != speed:
            speed = wp.speed_mps
            # param1 1 = ground speed, param3 -1 = leave throttle alone
            add(MAV_FRAME_MISSION, MAV_CMD_DO_CHANGE_SPEED, (1.0, speed, -1.0, 0.0), 0, 0, 0.0)
        add(
            MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            MAV_CMD_NAV_WAYPOINT,
            (wp.loiter_s, wp.acceptance_m, 0.0, float("nan")),
            _e7(wp.lat_deg),
            _e7(wp.lon_deg),
            wp.alt_m,
        )
    if return_home:
        add(MAV_FRAME_MISSION, MAV_CMD_NAV_RETURN_TO_LAUNCH, (0.0, 0.0, 0.0, 0.0), 0, 0, 0.0)
    return out


def fence_items(fence: Geofence) -> list[RawItem]:
    """Fence items (MAV_MISSION_TYPE_FENCE): polygon vertices carry the vertex count."""
    out: list[RawItem] = []

    def polygon(poly: FencePolygon, command: int, group: int) -> None:
        for v in poly.vertices:
            out.append(
                RawItem(
                    len(out),
                    MAV_FRAME_GLOBAL,
                    command,
                    float(len(poly.vertices)),
                    float(group),
                    0.0,
                    0.0,
                    _e7(v.lat_deg),
                    _e7(v.lon_deg),
                    0.0,
                    MISSION_TYPE_FENCE,
                )
            )

    if fence.keep_in is not None:
        polygon(fence.keep_in, MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, 0)
    for area in fence.keep_out:
        if isinstance(area, FenceCircle):
            out.append(
                RawItem(
                    len(out),
                    MAV_FRAME_GLOBAL,
                    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
                    area.radius_m,
                    0.0,
                    0.0,
                    0.0,
                    _e7(area.centre.lat_deg),
                    _e7(area.centre.lon_deg),
                    0.0,
                    MISSION_TYPE_FENCE,
                )
            )
        else:
            polygon(area, MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION, 0)
    return out
