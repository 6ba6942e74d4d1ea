"""Drone control adapter: MAVSDK links to every autopilot (MAVSDK never leaks out of here)."""

from fleet.control.errors import (
    CommandRejected,
    CommandTimeout,
    DroneUnavailable,
    FleetError,
    LinkLost,
)
from fleet.control.links import DroneLinks, LinksConfig, open_drone_links
from fleet.control.types import (
    CommandOutcome,
    CommandResult,
    Discovered,
    DroneEvent,
    FenceCircle,
    FencePolygon,
    Geofence,
    GeoPoint,
    LinkLostEvent,
    MissionProgress,
    Reattached,
    StatusText,
    Telemetry,
    Timeouts,
    Waypoint,
)

__all__ = [
    "CommandOutcome",
    "CommandRejected",
    "CommandResult",
    "CommandTimeout",
    "Discovered",
    "DroneEvent",
    "DroneLinks",
    "DroneUnavailable",
    "FenceCircle",
    "FencePolygon",
    "FleetError",
    "GeoPoint",
    "Geofence",
    "LinkLost",
    "LinkLostEvent",
    "LinksConfig",
    "MissionProgress",
    "Reattached",
    "StatusText",
    "Telemetry",
    "Timeouts",
    "Waypoint",
    "open_drone_links",
]
