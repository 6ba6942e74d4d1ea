"""Routing plans: routes with their schedule, dropped visits, and the `PlanResult` wrapper.

A `Plan` is plain data, independent of the solver that produced it, so it can be fed back
as a warm start (`planners.routing.solve(..., initial=plan)`) and checked on its own
(`check_plan`), which is what `PlanResult.is_feasible()` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from planners.problem import RoutingProblem, Vehicle

__all__ = ["Plan", "PlanResult", "Route", "ScheduledVisit", "check_plan", "schedule_route"]


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """One stop of a route with its timing (time units of the problem).

    ``arrival`` is when the vehicle gets there, ``start`` when service starts (after any
    wait for the window to open), ``departure = start + service``.
    """

    visit_id: str
    location: int
    arrival: int
    start: int
    departure: int
    load: int

    @property
    def wait(self) -> int:
        """Time spent waiting for the window to open."""
        return self.start - self.arrival


@dataclass(frozen=True, slots=True)
class Route:
    """A vehicle's tour: leaves ``start_location`` at ``departure``, returns by ``arrival``."""

    vehicle_id: str
    start_location: int
    end_location: int
    departure: int
    arrival: int
    visits: tuple[ScheduledVisit, ...]
    distance: int
    load: int

    @property
    def duration(self) -> int:
        """Time from leaving the start depot to reaching the end depot."""
        return self.arrival - self.departure

    def visit_ids(self) -> tuple[str, ...]:
        """Ids of the visits in route order."""
        return tuple(s.visit_id for s in self.visits)


@dataclass(frozen=True, slots=True)
class Plan:
    """Routes for used vehicles (unused vehicles have no route) and dropped visits."""

    routes: tuple[Route, ...]
    dropped: tuple[str, ...]

    def route_of(self, vehicle_id: str) -> Route | None:
        """The route of ``vehicle_id``, or ``None`` if it stays home."""
        for r in self.routes:
            if r.vehicle_id == vehicle_id:
                return r
        return None

    def distance(self) -> int:
        """Sum of arc costs over all routes."""
        return sum(r.distance for r in self.routes)


def schedule_route(problem: RoutingProblem, v: Vehicle, order: Sequence[int]) -> Route:
    """Timings of vehicle ``v`` serving the visits ``order`` (indices) in that order.

    Both engines report their routes through this function. The route is as short as its
    order allows (so ``max_duration`` holds whenever the order is feasible at all), and among
    the departures that achieve that, the earliest: every visit is served as early in its
    window as the shortest route allows, and a route without windows leaves at the start
    of its shift.
    """
    visits = problem.visits
    lo, hi = problem.shift_bounds(v)
    locs = [v.start, *(visits[k].location for k in order), v.end]
    legs = [problem.duration(v, a, b) for a, b in itertools.pairwise(locs)]
    windows = [problem.window_bounds(visits[k]) for k in order]
    opens = [w_lo for w_lo, _ in windows]

    # The latest departure that still meets every window and the shift end gives the
    # shortest route (leaving later never lengthens it) ...
    latest = hi  # latest time to reach the next stop, walking backwards from the end depot
    for j in range(len(order) - 1, -1, -1):
        latest = min(windows[j][1], latest - legs[j + 1] - visits[order[j]].service)
    departure = max(lo, min(hi, latest - legs[0]))

    def forward(dep: int) -> tuple[list[ScheduledVisit], int]:
        t, load, stops = dep, 0, []
        for j, k in enumerate(order):
            s = visits[k]
            arrival = t + legs[j]
            begin = max(arrival, opens[j])
            load += s.demand
            stops.append(ScheduledVisit(s.id, s.location, arrival, begin, begin + s.service, load))
            t = begin + s.service
        return stops, t + legs[-1]

    # ... and the whole route can then move earlier until some visit's window opening
    # (or the shift start) stops it, without any waiting added.
    stops, _ = forward(departure)
    slack = min([departure - lo, *(sv.start - w for sv, w in zip(stops, opens, strict=True))])
    if slack > 0:
        departure -= slack
    stops, arrival = forward(departure)
    load = stops[-1].load if stops else 0
    distance = sum(problem.distance(v, a, b) for a, b in itertools.pairwise(locs))
    return Route(v.id, v.start, v.end, departure, arrival, tuple(stops), distance, load)


def check_plan(problem: RoutingProblem, plan: Plan) -> list[str]:
    """Independently re-check a plan against the problem's hard constraints.

    Returns
    -------
    list of str
        One human-readable violation per line; empty means feasible.
    """
    errors: list[str] = []
    vehicles = {v.id: v for v in problem.vehicles}
    visits = problem.visit_index()
    served: set[str] = set()
    for r in plan.routes:
        v = vehicles.get(r.vehicle_id)
        if v is None:
            errors.append(f"route for unknown vehicle {r.vehicle_id!r}")
            continue
        if (r.start_location, r.end_location) != (v.start, v.end):
            errors.append(f"{v.id}: route does not start/end at its depots")
        if v.shift is not None and not (
            v.shift.contains(r.departure) and v.shift.contains(r.arrival)
        ):
            errors.append(f"{v.id}: route [{r.departure}, {r.arrival}] outside shift")
        if v.max_duration is not None and r.duration > v.max_duration:
            errors.append(f"{v.id}: duration {r.duration} > max {v.max_duration}")
        t, here, load, dist = r.departure, v.start, 0, 0
        for sv in r.visits:
            k = visits.get(sv.visit_id)
            if k is None:
                errors.append(f"{v.id}: unknown visit {sv.visit_id!r}")
                continue
            s = problem.visits[k]
            if s.id in served:
                errors.append(f"{s.id}: served twice")
            served.add(s.id)
            if not s.skills <= v.skills:
                errors.append(f"{s.id}: needs skills {sorted(s.skills - v.skills)} of {v.id}")
            arrival = t + problem.duration(v, here, s.location)
            dist += problem.distance(v, here, s.location)
            if sv.arrival != arrival or sv.start < arrival:
                errors.append(f"{s.id}: schedule inconsistent with travel times")
            if s.window is not None and not s.window.contains(sv.start):
                errors.append(f"{s.id}: service starts at {sv.start}, outside {s.window}")
            load += s.demand
            t, here = sv.start + s.service, s.location
            if sv.departure != t:
                errors.append(f"{s.id}: departure is not start + service")
        end = t + problem.duration(v, here, v.end)
        dist += problem.distance(v, here, v.end)
        if r.arrival < end:
            errors.append(f"{v.id}: arrives at end depot before travel allows")
        if v.capacity is not None and load > v.capacity:
            errors.append(f"{v.id}: load {load} > capacity {v.capacity}")
        if dist != r.distance:
            errors.append(f"{v.id}: reported distance {r.distance} != {dist}")
    dropped = set(plan.dropped)
    for s in problem.visits:
        if s.id in served and s.id in dropped:
            errors.append(f"{s.id}: both served and dropped")
        elif s.id not in served and s.id not in dropped:
            errors.append(f"{s.id}: neither served nor reported dropped")
        elif s.id in dropped and not s.optional:
            errors.append(f"{s.id}: mandatory visit dropped")
    return errors


@dataclass(frozen=True, slots=True, eq=False)
class PlanResult:
    """What `planners.routing.solve` returns.

    Attributes
    ----------
    plan : the best plan found.
    objective : solver objective in cost units (arc costs + fixed costs + drop penalties).
    runtime_s : wall-clock seconds spent in `solve`.
    num_solutions : solutions the search went through (a measure of search effort):
        OR-Tools' accepted solutions, or PyVRP's iterations.
    problem : the problem solved, used by `is_feasible`.
    engine : which engine produced the plan, ``"pyvrp"`` or ``"ortools"``.
    """

    plan: Plan
    objective: int
    runtime_s: float
    num_solutions: int
    problem: RoutingProblem
    engine: str = "ortools"

    def cost(self) -> int:
        """The objective value (cost units)."""
        return self.objective

    def is_feasible(self) -> bool:
        """Whether `check_plan` finds no hard-constraint violation."""
        return not check_plan(self.problem, self.plan)

    def summary(self) -> str:
        """One-paragraph human summary."""
        used = len(self.plan.routes)
        served = sum(len(r.visits) for r in self.plan.routes)
        return (
            f"cost {self.objective}, distance {self.plan.distance()}, "
            f"{used}/{len(self.problem.vehicles)} vehicles, {served} visits served, "
            f"{len(self.plan.dropped)} dropped, feasible={self.is_feasible()}, "
            f"{self.runtime_s:.2f}s, {self.num_solutions} solutions ({self.engine})"
        )
