"""The error tree of patrolfleet; adapters translate foreign errors into it, the API renders it.

::

    PatrolfleetError
    ├── ConfigError
    ├── NotFound
    ├── Conflict
    │   └── InvalidTransition
    ├── AuthError
    │   ├── Unauthenticated
    │   └── Forbidden
    ├── FleetError
    │   ├── DroneUnavailable
    │   ├── CommandRejected
    │   ├── CommandTimeout
    │   └── LinkLost
    ├── MessagingError
    │   ├── PayloadInvalid
    │   └── UnsupportedSchemaVersion
    └── planners.errors.PlanningError (re-exported; planners/ cannot import fleet/)
        ├── MalformedProblem
        └── Infeasible

Each class declares the HTTP `status` and a problem `type` slug; extra context travels as
attributes listed in `extensions` so the API edge can add them to problem+json.
"""

from __future__ import annotations

from typing import Any, ClassVar

from planners.errors import Infeasible, MalformedProblem, PlanningError

__all__ = [
    "AuthError",
    "CommandRejected",
    "CommandTimeout",
    "ConfigError",
    "Conflict",
    "DroneUnavailable",
    "FleetError",
    "Forbidden",
    "Infeasible",
    "InvalidTransition",
    "LinkLost",
    "MalformedProblem",
    "MessagingError",
    "NotFound",
    "PatrolfleetError",
    "PayloadInvalid",
    "PlanningError",
    "Unauthenticated",
    "UnsupportedSchemaVersion",
]


class PatrolfleetError(Exception):
    """Root of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class ConfigError(PatrolfleetError):
    status = 500
    type = "config-error"
    title = "Configuration error"


class NotFound(PatrolfleetError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(PatrolfleetError):
    status = 409
    type = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    type = "invalid-transition"
    title = "Invalid state transition"


class AuthError(PatrolfleetError):
    status = 401
    type = "unauthenticated"
    title = "Authentication required"


class Unauthenticated(AuthError):
    pass


class Forbidden(AuthError):
    status = 403
    type = "forbidden"
    title = "Forbidden"


class FleetError(PatrolfleetError):
    status = 409
    type = "fleet-error"
    title = "Fleet error"


class DroneUnavailable(FleetError):
    type = "drone-unavailable"
    title = "Drone unavailable"


class CommandRejected(FleetError):
    status = 502
    type = "command-rejected"
    title = "Command rejected by the vehicle"


class CommandTimeout(FleetError):
    status = 504
    type = "command-timeout"
    title = "No answer from the vehicle in time"


class LinkLost(FleetError):
    status = 503
    type = "link-lost"
    title = "Link to the vehicle lost"


class MessagingError(PatrolfleetError):
    status = 503
    type = "messaging-error"
    title = "Messaging error"


class PayloadInvalid(MessagingError):
    status = 422
    type = "payload-invalid"
    title = "Invalid payload"


class UnsupportedSchemaVersion(PayloadInvalid):
    type = "unsupported-schema-version"
    title = "Unsupported schema version"
