"""PyVRP engine of the routing core: the same `RoutingProblem` in, the same `Plan` out.

Why a second engine
-------------------
On plain time-window routing PyVRP's iterated local search beats OR-Tools' routing search
by a wide margin at the same budget on this 2-core machine: Solomon's 56 VRPTW instances
at 10 s each gave OR-Tools (our best-tuned portfolio) a 2.43 % mean gap to the best-known
solutions against PyVRP's 0.20 % (`docs/bench/routing-solomon-10s-ortools.json`).
`planners.routing.solve` therefore hands problems to this module by default and keeps
OR-Tools for hard-constraint mode (``mandatory_as_penalty=False``) and for the diagnosis of
a problem whose mandatory visits cannot all be served (OR-Tools' penalty model names them).

Mapping
-------
- Locations are the problem's matrix rows; every visit is a PyVRP client at its location,
  every distinct start or end location a depot. Duration matrices are the problem's
  profiles; distance matrices the arc costs (``durations`` when ``distances`` is omitted),
  so PyVRP's distance cost is exactly the routing core's arc cost.
- Vehicles with identical attributes (all but the id) form one vehicle type; routes of a
  type are handed back to its vehicles in problem order.
- Shift ``[earliest, latest]``: ``tw_early`` = earliest departure, ``start_late`` = latest
  departure, ``tw_late`` = latest return (all capped by the horizon); ``max_duration`` is the
  type's ``shift_duration`` with no overtime.
- Optional visits are clients with ``required=False`` and ``prize`` = their drop cost, so
  PyVRP's cost (distance + fixed costs - collected prizes) differs from the routing core's
  objective (distance + fixed costs + uncollected drop costs) by a constant.
- Demands are one load dimension; a vehicle without capacity gets the total demand.
- Skills: a visit that only some vehicles may serve gets a location of its own (a copy of
  its matrix row and column), and every vehicle not allowed there travels on a routing
  profile in which reaching that location takes longer than the horizon. No feasible
  PyVRP solution can then send it there (one extra profile per distinct pair of matrix
  profile and set of restricted visits a vehicle may serve).

Only the order of each route is taken from PyVRP; `planners.solution.schedule_route` times
it, as it does for OR-Tools' routes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvrp
from pyvrp import stop as pyvrp_stop
from pyvrp.exceptions import PenaltyBoundWarning

from planners.problem import RoutingProblem, Vehicle
from planners.solution import Plan, Route, schedule_route
from planners.stop import SearchLimits

__all__ = ["PyvrpOutcome", "solve_with_pyvrp"]

#: PyVRP's own "unconstrained" value for time bounds.
_NO_LIMIT = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class PyvrpOutcome:
    """What the PyVRP engine found: a feasible plan, or ``None`` when its best one is not."""

    plan: Plan | None
    objective: int
    iterations: int


def _type_key(v: Vehicle, access: frozenset[int]) -> tuple[object, ...]:
    return (v.start, v.end, v.capacity, v.shift, v.max_duration, v.fixed_cost, v.profile, access)


def _stop(limits: SearchLimits, remaining_s: float | None) -> pyvrp_stop.StoppingCriterion:
    criteria: list[pyvrp_stop.StoppingCriterion] = []
    if remaining_s is not None:
        criteria.append(pyvrp_stop.MaxRuntime(remaining_s))
    if limits.max_solutions is not None:
        criteria.append(pyvrp_stop.MaxIterations(limits.max_solutions))
    if limits.no_improvement is not None:
        criteria.append(pyvrp_stop.NoImprovement(limits.no_improvement))
    return criteria[0] if len(criteria) == 1 else pyvrp_stop.MultipleCriteria(criteria)


def solve_with_pyvrp(
    problem: RoutingProblem,
    *,
    modelled: Sequence[int],
    limits: SearchLimits,
    remaining_s: float | None,
    seed: int,
    allowed: Mapping[int, Sequence[int]] | None = None,
    initial: Plan | None = None,
) -> PyvrpOutcome:
    """Solve ``problem`` over the visits ``modelled`` (indices; the rest are dropped).

    ``allowed`` maps a visit restricted by skills to the vehicles that may serve it.
    Returns a plan only when PyVRP's best solution is feasible.
    """
    visits, vehicles = problem.visits, problem.vehicles
    horizon = int(problem.horizon or 0)
    n = problem.num_locations
    allowed = allowed or {}
    # A restricted visit gets a location of its own (a copy of its matrix row and column),
    # so that the profile of a vehicle not allowed there can make that location
    # unreachable in time without touching other visits at the same place.
    restricted = [k for k in modelled if k in allowed]
    private = {k: n + j for j, k in enumerate(restricted)}
    rows = np.concatenate([np.arange(n), [visits[k].location for k in restricted]]).astype(int)
    access = [frozenset(k for k in restricted if i in allowed[k]) for i in range(len(vehicles))]

    depot_locs = sorted({v.start for v in vehicles} | {v.end for v in vehicles})
    depot_index = {loc: i for i, loc in enumerate(depot_locs)}
    demands = [visits[k].demand for k in modelled]
    with_load = any(demands) or any(v.capacity is not None for v in vehicles)
    total_demand = sum(demands)

    clients = []
    for k in modelled:
        s = visits[k]
        lo, hi = problem.window_bounds(s)
        clients.append(
            pyvrp.Client(
                location=private.get(k, s.location),
                delivery=[s.demand] if with_load else [],
                service_duration=s.service,
                tw_early=lo,
                tw_late=hi,
                prize=s.drop_cost() or 0,
                required=not s.optional,
                name=s.id,
            )
        )

    # One vehicle type per distinct set of attributes; remember which vehicles it stands for.
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, v in enumerate(vehicles):
        groups.setdefault(_type_key(v, access[i]), []).append(i)
    type_vehicles = list(groups.values())
    # Routing profiles: one per (matrix profile, visits it may serve among the restricted).
    profile_of: dict[tuple[int, frozenset[int]], int] = {}
    for i, v in enumerate(vehicles):
        profile_of.setdefault((v.profile, access[i]), len(profile_of))
    vehicle_types = []
    for members in type_vehicles:
        v = vehicles[members[0]]
        lo, hi = problem.shift_bounds(v)
        cap = total_demand if v.capacity is None else v.capacity
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=[cap] if with_load else [],
                start_depot=depot_index[v.start],
                end_depot=depot_index[v.end],
                fixed_cost=v.fixed_cost,
                tw_early=lo,
                start_late=hi,
                tw_late=hi,
                shift_duration=_NO_LIMIT if v.max_duration is None else v.max_duration,
                profile=profile_of[(v.profile, access[members[0]])],
                name=v.id,
            )
        )

    costs = problem.distances if problem.distances is not None else problem.durations
    # (PyVRP's stubs spell a matrix as ndarray[int]; these are int64 arrays.)
    distance_matrices: list[Any] = []
    duration_matrices: list[Any] = []
    grid = np.ix_(rows, rows)
    for p, may_serve in profile_of:
        dist = costs[p if costs.shape[0] > 1 else 0][grid]
        dur = problem.durations[p][grid]
        barred = [private[k] for k in restricted if k not in may_serve]
        if barred:
            # Arriving after the horizon breaks every window: PyVRP never returns a
            # feasible plan that sends this vehicle there.
            dur = dur.copy()
            dur[:, barred] = horizon + 1
            dur[barred, barred] = 0  # PyVRP wants zero diagonals
        distance_matrices.append(dist)
        duration_matrices.append(dur)
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(0.0, 0.0) for _ in rows],  # no operator needs x, y
        clients=clients,
        depots=[pyvrp.Depot(location=loc) for loc in depot_locs],
        vehicle_types=vehicle_types,
        distance_matrices=distance_matrices,
        duration_matrices=duration_matrices,
    )

    start = _initial_solution(problem, data, modelled, type_vehicles, initial)
    with warnings.catch_warnings():
        # PyVRP warns when a penalty hits its bound, i.e. on an over-constrained problem.
        # The caller handles that case (an infeasible best plan goes to the OR-Tools
        # diagnosis that names the visits), so the warning would only be noise.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            data,
            stop=_stop(limits, remaining_s),
            seed=seed,
            collect_stats=False,
            display=False,
            initial_solution=start,
        )
    best = result.best
    if not best.is_feasible():
        return PyvrpOutcome(None, 0, result.num_iterations)

    routes: list[Route] = []
    served: set[int] = set()
    taken = [0] * len(type_vehicles)
    assigned: list[tuple[int, list[int]]] = []
    for r in best.routes():
        t = r.vehicle_type()
        vehicle = type_vehicles[t][taken[t]]
        taken[t] += 1
        order = [modelled[a.idx] for a in r.schedule() if a.is_client()]
        if any(k in allowed and vehicle not in allowed[k] for k in order):
            return PyvrpOutcome(None, 0, result.num_iterations)  # cannot happen: barred in time
        assigned.append((vehicle, order))
    for vehicle, order in sorted(assigned):
        routes.append(schedule_route(problem, vehicles[vehicle], order))
        served.update(order)
    dropped = tuple(visits[k].id for k in range(len(visits)) if k not in served)
    objective = (
        sum(r.distance for r in routes)
        + sum(vehicles[i].fixed_cost for i, _ in assigned)
        + sum(visits[k].drop_cost() or 0 for k in range(len(visits)) if k not in served)
    )
    return PyvrpOutcome(Plan(tuple(routes), dropped), objective, result.num_iterations)


def _initial_solution(
    problem: RoutingProblem,
    data: pyvrp.ProblemData,
    modelled: Sequence[int],
    type_vehicles: list[list[int]],
    initial: Plan | None,
) -> pyvrp.Solution | None:
    """The previous plan as a PyVRP solution (unknown vehicles and visits left out)."""
    if initial is None:
        return None
    client_of = {problem.visits[k].id: c for c, k in enumerate(modelled)}
    # A vehicle may have lost a skill since the previous plan: PyVRP repairs what the
    # initial routes break, as it does for time windows.
    type_of = {
        problem.vehicles[i].id: t for t, members in enumerate(type_vehicles) for i in members
    }
    routes, seen = [], set[int]()
    for r in initial.routes:
        t = type_of.get(r.vehicle_id)
        if t is None:
            continue
        # A visit listed twice (a hand-edited plan) keeps its first place only.
        order = []
        for sv in r.visits:
            c = client_of.get(sv.visit_id)
            if c is not None and c not in seen:
                seen.add(c)
                order.append(c)
        if order:
            routes.append(pyvrp.Route(data, order, t))
    return pyvrp.Solution(data, routes) if routes else None
