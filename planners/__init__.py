"""patrolfleet: planners package (pure planning: problem in, plan out)."""

from planners.errors import Infeasible, MalformedProblem, PlanningError
from planners.problem import RoutingProblem, TimeWindow, Vehicle, Visit, scale_matrix
from planners.routing import RoutingParams, solve
from planners.solution import Plan, PlanResult, Route, ScheduledVisit, check_plan
from planners.stop import FirstOf, MaxIterations, MaxRuntime, NoImprovement, StopCriterion

__all__ = [
    "FirstOf",
    "Infeasible",
    "MalformedProblem",
    "MaxIterations",
    "MaxRuntime",
    "NoImprovement",
    "Plan",
    "PlanResult",
    "PlanningError",
    "Route",
    "RoutingParams",
    "RoutingProblem",
    "ScheduledVisit",
    "StopCriterion",
    "TimeWindow",
    "Vehicle",
    "Visit",
    "check_plan",
    "scale_matrix",
    "solve",
]
