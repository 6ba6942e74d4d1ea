"""Planning errors: the `PlanningError` branch of the error tree (re-exported by fleet.errors).

planners/ imports nothing from fleet/, so this branch lives here and fleet.errors
places it under `PatrolfleetError` by re-export.
"""

from __future__ import annotations


class PlanningError(Exception):
    """A problem could not be planned.

    Attributes
    ----------
    status, type : HTTP status and problem type slug used by the API edge.
    where : JSON-pointer-like path to the offending part of the problem, if known.
    """

    status = 422
    type = "planning-error"

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


class MalformedProblem(PlanningError, ValueError):
    """The problem itself is invalid (missing field, wrong shape, out-of-range value)."""

    type = "malformed-problem"


class Infeasible(PlanningError):
    """No plan satisfies the hard constraints; `where` names the constraint or item."""

    type = "infeasible"
