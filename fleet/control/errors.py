"""Errors raised by the drone links (to be folded into ``fleet/errors.py``).

::

    FleetError
     ├── DroneUnavailable   no autopilot with this system id has been discovered
     ├── LinkLost           the drone is known but its link is down (or dropped mid-command)
     ├── CommandRejected    the autopilot answered and said no (``.result``, ``.drone_id``)
     └── CommandTimeout     no final answer within the caller's typed timeout

MAVSDK's own exceptions and result enums never leave ``fleet/``: the links translate them
into these classes and :class:`~fleet.control.types.CommandResult`.
"""

from __future__ import annotations

from fleet.control.types import CommandResult


class FleetError(Exception):
    """A drone or ground unit could not do what was asked."""

    status = 409
    type = "fleet-error"


class DroneUnavailable(FleetError):
    """No autopilot with this system id is known to the links."""

    status = 404
    type = "drone-unavailable"

    def __init__(self, drone_id: int) -> None:
        super().__init__(f"drone {drone_id} is not connected")
        self.drone_id = drone_id


class LinkLost(FleetError):
    """The drone's link is down: no MAVLink traffic within the heartbeat timeout."""

    status = 503
    type = "link-lost"

    def __init__(self, drone_id: int, command: str | None = None) -> None:
        what = f" during {command}" if command else ""
        super().__init__(f"link to drone {drone_id} lost{what}")
        self.drone_id = drone_id
        self.command = command


class CommandRejected(FleetError):
    """The autopilot answered the command with a refusal.

    Attributes
    ----------
    drone_id : int
        System id of the drone.
    command : str
        The link operation (``"takeoff"``, ``"upload_mission"``, ...).
    result : CommandResult
        What the autopilot (or MAVSDK) answered.
    attempts : int
        How many times the command was sent.
    """

    status = 409
    type = "command-rejected"

    def __init__(self, drone_id: int, command: str, result: CommandResult, attempts: int) -> None:
        super().__init__(f"drone {drone_id} rejected {command}: {result.name}")
        self.drone_id = drone_id
        self.command = command
        self.result = result
        self.attempts = attempts


class CommandTimeout(FleetError):
    """No final answer to a command within its timeout (after the bounded retries)."""

    status = 504
    type = "command-timeout"

    def __init__(self, drone_id: int, command: str, timeout_s: float, attempts: int) -> None:
        super().__init__(f"drone {drone_id}: {command} got no answer in {timeout_s:g} s")
        self.drone_id = drone_id
        self.command = command
        self.timeout_s = timeout_s
        self.attempts = attempts
