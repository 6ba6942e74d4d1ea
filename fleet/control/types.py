"""Vocabulary of the drone links: telemetry snapshots, events, mission and fence shapes."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field


class CommandResult(enum.Enum):
    """Outcome of one command, whatever MAVSDK plugin carried it."""

    ACCEPTED = "accepted"  # MAV_RESULT_ACCEPTED / MAVSDK Success
    DENIED = "denied"  # the autopilot refused (MAV_RESULT_DENIED)
    TEMPORARILY_REJECTED = "temporarily_rejected"  # refused for now; a retry may work
    UNSUPPORTED = "unsupported"  # the autopilot does not know the command
    FAILED = "failed"  # accepted but failed to execute
    BUSY = "busy"  # another transfer/command is in progress
    TIMEOUT = "timeout"  # MAVSDK's own retransmissions ran out
    NO_SYSTEM = "no_system"  # MAVSDK has no such system (never seen or gone)
    CONNECTION_ERROR = "connection_error"  # could not send
    INVALID_ARGUMENT = "invalid_argument"  # MAVSDK or the autopilot refused the arguments
    PROTOCOL_ERROR = "protocol_error"  # mission transfer went wrong
    UNKNOWN = "unknown"  # anything else

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {
        CommandResult.TEMPORARILY_REJECTED,
        CommandResult.BUSY,
        CommandResult.TIMEOUT,
        CommandResult.CONNECTION_ERROR,
        CommandResult.PROTOCOL_ERROR,
    }
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Deadlines for each kind of command, retries included (httpx ``Timeout`` style)."""

    command_s: float = 5.0  # arm, RTL, land, hold, goto, orbit, spotlight
    takeoff_s: float = 8.0  # arm + takeoff
    mission_upload_s: float = 30.0
    fence_upload_s: float = 20.0
    retries: int = 2  # extra attempts after a retryable failure
    retry_backoff_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("command_s", "takeoff_s", "mission_upload_s", "fence_upload_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.retries < 0:
            raise ValueError("retries must be >= 0")


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 point; named fields so lon/lat order never gets mixed up."""

    lat_deg: float
    lon_deg: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat_deg <= 90.0 and -180.0 <= self.lon_deg <= 180.0):
            raise ValueError("lat/lon out of range")


@dataclass(frozen=True, slots=True)
class Waypoint:
    """One mission waypoint; ``alt_m`` is above the launch point."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    speed_mps: float | None = None  # change cruise speed from here on
    loiter_s: float = 0.0  # hold time at the waypoint
    acceptance_m: float = 0.0  # 0: the autopilot's default (NAV_ACC_RAD)

    def __post_init__(self) -> None:
        GeoPoint(self.lat_deg, self.lon_deg)
        if not 0.0 < self.alt_m <= 500.0:
            raise ValueError("alt_m must be in (0, 500]")
        if self.speed_mps is not None and not 0.0 < self.speed_mps <= 30.0:
            raise ValueError("speed_mps must be in (0, 30]")
        if self.loiter_s < 0 or self.acceptance_m < 0:
            raise ValueError("loiter_s and acceptance_m must be >= 0")


@dataclass(frozen=True, slots=True)
class FencePolygon:
    """A polygon of at least three vertices (not closed: the last joins the first)."""

    vertices: tuple[GeoPoint, ...]

    def __post_init__(self) -> None:
        if len(self.vertices) < 3:
            raise ValueError("a fence polygon needs at least 3 vertices")


@dataclass(frozen=True, slots=True)
class FenceCircle:
    centre: GeoPoint
    radius_m: float

    def __post_init__(self) -> None:
        if not self.radius_m > 0:
            raise ValueError("radius_m must be > 0")


@dataclass(frozen=True, slots=True)
class Geofence:
    """What a drone must stay in and keep out of."""

    keep_in: FencePolygon | None = None
    keep_out: tuple[FencePolygon | FenceCircle, ...] = ()

    def __post_init__(self) -> None:
        if self.keep_in is None and not self.keep_out:
            raise ValueError("a geofence needs a keep-in polygon or keep-out areas")


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What a successful command returns, for the caller's audit record."""

    drone_id: int
    command: str
    result: CommandResult
    attempts: int
    elapsed_s: float


# ------------------------------------------------------------------ events
@dataclass(frozen=True, slots=True)
class Telemetry:
    """A throttled snapshot of one drone's state."""

    sysid: int
    lat_deg: float
    lon_deg: float
    alt_rel_m: float
    alt_amsl_m: float
    velocity_n_mps: float
    velocity_e_mps: float
    velocity_d_mps: float
    heading_deg: float
    battery_pct: float
    flight_mode: str  # MAVSDK FlightMode name: HOLD, MISSION, RETURN_TO_LAUNCH, LAND, ...
    armed: bool
    in_air: bool
    gps_fix: str  # NO_GPS, NO_FIX, FIX_2D, FIX_3D, ...
    gps_satellites: int
    health_ok: bool  # global position, home position and armable all OK
    monotonic_s: float = field(compare=False)

    @property
    def ground_speed_mps(self) -> float:
        return math.hypot(self.velocity_n_mps, self.velocity_e_mps)

    @property
    def position_known(self) -> bool:
        return not (math.isnan(self.lat_deg) or math.isnan(self.lon_deg))


@dataclass(frozen=True, slots=True)
class Discovered:
    """An autopilot appeared for the first time."""

    sysid: int


@dataclass(frozen=True, slots=True)
class LinkLostEvent:
    """No MAVLink traffic from the drone for longer than the heartbeat timeout."""

    sysid: int
    silent_s: float


@dataclass(frozen=True, slots=True)
class Reattached:
    """Traffic from a drone whose link was lost resumed (same system id)."""

    sysid: int
    down_s: float


@dataclass(frozen=True, slots=True)
class MissionProgress:
    """Mission progress: ``reached`` is set when the event is a MISSION_ITEM_REACHED.

    ``total`` comes from the upload, or from the autopilot's MISSION_CURRENT after a
    restart of the links; it is 0 while still unknown (under a second after attaching).
    """

    sysid: int
    current: int
    total: int
    reached: int | None = None

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.reached == self.total - 1


@dataclass(frozen=True, slots=True)
class StatusText:
    """A STATUSTEXT from the autopilot (failsafes, fence breaches, ...)."""

    sysid: int
    severity: str
    text: str


DroneEvent = Discovered | LinkLostEvent | Reattached | Telemetry | MissionProgress | StatusText
