"""Vocabulary types of the live fleet: ids, kinds, states and their allowed transitions."""

from __future__ import annotations

import enum
from typing import NewType

UnitId = NewType("UnitId", str)
IncidentId = NewType("IncidentId", str)
CommandId = NewType("CommandId", str)


class UnitKind(enum.StrEnum):
    """What a unit is; decides its speed profile and which commands it takes."""

    DRONE = "drone"  # a MAVLink autopilot, flown through MAVSDK
    CAR = "car"  # patrol car on the road network
    MOTORBIKE = "motorbike"  # motorbike patrol, faster through traffic
    BICYCLE = "bicycle"  # bicycle patrol, may use cycleways
    FOOT = "foot"  # foot patrol, may use footways
    BOAT = "boat"  # harbour / river patrol
    TEAM = "team"  # a minimal emergency unit: guards or volunteers checking in as a group


class UnitStatus(enum.StrEnum):
    """Operational status as reported by the unit or derived by the service."""

    UNKNOWN = "unknown"  # never heard from
    AVAILABLE = "available"  # on duty and free
    BUSY = "busy"  # assigned to an incident or a patrol leg
    RETURNING = "returning"  # heading back to dock or post
    CHARGING = "charging"  # drone on its dock, battery below launch threshold
    OFFLINE = "offline"  # silent for longer than `offline_after_s`


class IncidentState(enum.StrEnum):
    """Life cycle of an incident; the allowed moves are in `INCIDENT_TRANSITIONS`."""

    NEW = "new"  # received, nobody assigned yet
    DISPATCHED = "dispatched"  # at least one unit assigned
    EN_ROUTE = "en_route"  # a unit is on its way
    ON_SCENE = "on_scene"  # a unit has arrived
    RESOLVED = "resolved"  # closed by a dispatcher or responder
    CANCELLED = "cancelled"  # withdrawn (false alarm, duplicate)
    REFERRED = "referred"  # not a police matter: handed to a non-emergency desk


TERMINAL_INCIDENT_STATES = frozenset(
    {IncidentState.RESOLVED, IncidentState.CANCELLED, IncidentState.REFERRED}
)

# Forward moves may skip steps (a drone on scene before anyone reports "en route"), but no
# state is re-entered and terminal states are final.
INCIDENT_TRANSITIONS: dict[IncidentState, frozenset[IncidentState]] = {
    IncidentState.NEW: frozenset(
        {
            IncidentState.DISPATCHED,
            IncidentState.EN_ROUTE,
            IncidentState.ON_SCENE,
            IncidentState.RESOLVED,
            IncidentState.CANCELLED,
            IncidentState.REFERRED,
        }
    ),
    IncidentState.DISPATCHED: frozenset(
        {
            IncidentState.EN_ROUTE,
            IncidentState.ON_SCENE,
            IncidentState.RESOLVED,
            IncidentState.CANCELLED,
        }
    ),
    IncidentState.EN_ROUTE: frozenset(
        {IncidentState.ON_SCENE, IncidentState.RESOLVED, IncidentState.CANCELLED}
    ),
    IncidentState.ON_SCENE: frozenset({IncidentState.RESOLVED, IncidentState.CANCELLED}),
    IncidentState.RESOLVED: frozenset(),
    IncidentState.CANCELLED: frozenset(),
    IncidentState.REFERRED: frozenset(),
}


class CommandStatus(enum.StrEnum):
    """Outbox state of a command to a vehicle (recorded before sending, outcome after)."""

    PENDING = "pending"  # recorded, not yet handed to the broker / autopilot
    SENT = "sent"  # published (QoS 1 acknowledged by the broker) or sent over MAVLink
    ACKED = "acked"  # the unit acknowledged it
    FAILED = "failed"  # the unit or autopilot rejected it, or sending failed for good
    TIMED_OUT = "timed_out"  # no acknowledgement within the command's timeout


TERMINAL_COMMAND_STATES = frozenset(
    {CommandStatus.ACKED, CommandStatus.FAILED, CommandStatus.TIMED_OUT}
)


class FenceKind(enum.StrEnum):
    """Kinds of electronic fence and zone."""

    NO_FLY = "no_fly"  # no planned or commanded flight path may cross it
    KEEP_IN = "keep_in"  # a drone must stay inside
    PATROL_ZONE = "patrol_zone"  # a ground unit's or team's area; leaving it raises an event
    CHECKPOINT = "checkpoint"  # a site to visit or guard (station, mall entrance)


class Role(enum.IntEnum):
    """API roles, ordered: each role may do everything the ones below it may."""

    VIEWER = 10  # read the live picture
    DISPATCHER = 20  # create incidents, assign units, send group commands
    OPERATOR = 30  # fly drones, send warnings
    ADMIN = 40  # manage tokens, read the audit log

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(
                f"unknown role {name!r}; choose one of {', '.join(r.name.lower() for r in cls)}"
            ) from None
