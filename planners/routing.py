"""Routing core: problem in, plan out, on two engines (PyVRP and OR-Tools routing).

Engines
-------
``RoutingParams.engine="auto"`` (the default) gives problems to PyVRP's iterated local
search (`planners.routing_pyvrp`) and keeps OR-Tools' routing search (this module) for
what only it does here. Measured on Solomon's 56 VRPTW instances at 10 s each on this
2-core machine: OR-Tools, our best-tuned portfolio, 2.43 % mean gap to the best-known
solutions, PyVRP 0.20 % in the same run (`docs/bench/routing-solomon-10s-ortools.json`);
this core with PyVRP on two seeds 0.13 % (`docs/bench/routing-solomon-10s.json`).
OR-Tools stays the engine for hard-constraint mode (``mandatory_as_penalty=False``) and
for naming the mandatory visits of a problem that cannot serve them all (when PyVRP's
best plan still breaks a window, capacity or endurance, OR-Tools' penalty model runs on a
quarter of the budget to find which). Both engines return the same `Plan`, timed by the same
`planners.solution.schedule_route` and checked by the same `planners.solution.check_plan`.

Usage
-----
>>> import numpy as np
>>> from planners.problem import RoutingProblem, TimeWindow, Vehicle, Visit
>>> from planners.routing import solve
>>> from planners.stop import MaxRuntime
>>> durations = np.array([[0, 5, 9], [5, 0, 4], [9, 4, 0]])      # seconds, integers
>>> problem = RoutingProblem(
...     durations=durations,
...     vehicles=(Vehicle("car-1", start=0, end=0, shift=TimeWindow(0, 3600)),),
...     visits=(
...         Visit("station", location=1, service=60, window=TimeWindow(0, 600)),
...         Visit("mall", location=2, service=120, penalty=10_000),     # optional
...     ),
... )
>>> result = solve(problem, stop=MaxRuntime(0.5), seed=0)
>>> result.plan.routes[0].visit_ids()
('station', 'mall')
>>> result.is_feasible(), result.plan.dropped
(True, ())

Re-plan from the previous plan (warm start) with ``solve(new_problem, stop=...,
initial=result.plan)``; visits or vehicles that no longer exist are ignored.

OR-Tools model
--------------
- One routing node per visit plus one per depot location; the problem's location
  matrices are expanded to node matrices and registered with ``RegisterTransitMatrix``
  (one per vehicle profile). Matrix transits are evaluated in C++; Python callbacks cost
  1.3-1.7 points of Solomon gap at the same time budget, measured here.
- Arc cost: ``distances`` (or ``durations``) of the vehicle's profile, plus vehicle fixed
  costs, plus drop penalties ``penalty * priority`` of optional visits.
- A "Time" dimension with transit ``travel + service(from)``, waiting allowed, cumul =
  start of service, windows on cumuls, shifts on start/end cumuls and ``max_duration`` as
  a span upper bound. A "Load" dimension when there are demands or capacities.
- Skills: ``SetAllowedVehiclesForIndex``.
- Mandatory visits are modelled (by default) as disjunctions with a penalty larger than
  any route could cost. The search then always has a feasible start and can repair tight
  windows by itself: plain PATH_CHEAPEST_ARC + GLS found *no* solution at all in 30 s on
  Solomon R101, R105, RC101 and RC105. A mandatory visit still dropped at the end raises
  `Infeasible` naming that visit.
- ``seed`` permutes the order of the visit nodes in the model, which changes the
  tie-breaking of the first-solution heuristic and of local search; the same seed gives
  the same model and, under an iteration-bounded stop, the same plan. (PyVRP takes the
  seed for its own random stream; iteration-bounded, it is deterministic too.)

The function is pure: no asyncio, no I/O, no logging configuration.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from planners.errors import Infeasible, MalformedProblem
from planners.problem import RoutingProblem, Vehicle, Visit
from planners.routing_pyvrp import solve_with_pyvrp
from planners.solution import Plan, PlanResult, Route, schedule_route
from planners.stop import SearchLimits, StopCriterion

__all__ = ["RoutingParams", "solve"]

_FIRST = routing_enums_pb2.FirstSolutionStrategy.Value
_META = routing_enums_pb2.LocalSearchMetaheuristic.Value
_INT64_SAFE = 2**62
_FALLBACK_TIME_LIMIT_S = 3600
#: Substrings of local-search operator names that `RoutingParams.lean_operators` turns off.
_HEAVY_OPERATORS = ("lns", "shortest_path", "subtrip", "chain", "pair", "lin_kernighan")


@dataclass(frozen=True, slots=True)
class RoutingParams:
    """Search settings for `solve` (sensible defaults; the benchmark tunes them).

    Parameters
    ----------
    engine : ``"auto"`` (default) solves with PyVRP, and with OR-Tools when
        ``mandatory_as_penalty=False``, when a matrix has a non-zero diagonal (PyVRP
        refuses those), or to name the visits of an over-constrained problem;
        ``"ortools"`` forces OR-Tools, ``"pyvrp"`` is the same as ``"auto"`` (the fields
        below tune OR-Tools only).
    first_solution : an OR-Tools ``FirstSolutionStrategy`` name. PARALLEL_CHEAPEST_INSERTION
        copes best with tight time windows in our Solomon measurements.
    metaheuristic : an OR-Tools ``LocalSearchMetaheuristic`` name.
    gls_lambda : guided local search penalty coefficient.
    mandatory_as_penalty : model mandatory visits as heavily penalised optional ones (see
        the module docstring); ``False`` makes them hard constraints.
    lns_time_limit_s : time limit of each LNS sub-search.
    use_full_propagation : OR-Tools' full propagation during local search.
    lean_operators : switch off OR-Tools' LNS, chain, pair/subtrip (pickup-delivery) and
        Lin-Kernighan operators. Measured on Solomon at 5 s: about 2x more GLS iterations
        and 0.8 points less mean gap on R101/RC105/C104/R208 (3.12 % -> 2.34 %). At 10 s
        the default operator set with PATH_CHEAPEST_ARC did better on several R2/RC2
        instances (see bench/routing.py), so the benchmark runs both.
    """

    engine: Literal["auto", "ortools", "pyvrp"] = "auto"
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    mandatory_as_penalty: bool = True
    lns_time_limit_s: float = 0.1
    use_full_propagation: bool = False
    lean_operators: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ("auto", "ortools", "pyvrp"):
            raise ValueError(f"unknown engine {self.engine!r}")
        if self.first_solution not in _FIRST.keys():  # noqa: SIM118 (protobuf enum wrapper)
            raise ValueError(f"unknown first_solution {self.first_solution!r}")
        if self.metaheuristic not in _META.keys():  # noqa: SIM118
            raise ValueError(f"unknown metaheuristic {self.metaheuristic!r}")
        if not self.gls_lambda > 0:
            raise ValueError("gls_lambda must be > 0")
        if not self.lns_time_limit_s > 0:
            raise ValueError("lns_time_limit_s must be > 0")


@dataclass(slots=True)
class _Model:
    """The OR-Tools objects for one solve, plus the node <-> visit bookkeeping."""

    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension
    node_visit: list[int]  # node -> visit index, -1 for depots
    visit_node: dict[int, int]  # visit index -> node (only modelled visits)
    allowed: dict[int, list[int]]  # visit index -> vehicles allowed (absent: all)
    excluded: list[int]  # visit indices left out (optional, no vehicle has the skills)
    big_penalty: int | None


def _screen(problem: RoutingProblem) -> tuple[list[int], dict[int, list[int]]]:
    """Checks every engine shares: skills and vehicles that cannot even go home.

    Returns the optional visits no vehicle has the skills for (dropped up front) and, per
    visit restricted to some vehicles, the vehicles allowed to serve it.
    """
    vehicles, visits = problem.vehicles, problem.visits
    excluded: list[int] = []
    allowed: dict[int, list[int]] = {}
    for k, s in enumerate(visits):
        if not s.skills:
            continue
        ok = [i for i, v in enumerate(vehicles) if s.skills <= v.skills]
        if not ok:
            if not s.optional:
                raise Infeasible(
                    f"no vehicle has all skills {sorted(s.skills)} needed by visit {s.id!r}",
                    where=f"visits[{k}].skills",
                )
            excluded.append(k)
        elif len(ok) < len(vehicles):
            allowed[k] = ok

    for i, v in enumerate(vehicles):
        # OR-Tools drives every vehicle from start to end, used or not: a vehicle that
        # cannot even make that trip makes the whole model infeasible, so name it.
        direct = problem.duration(v, v.start, v.end)
        if v.max_duration is not None and direct > v.max_duration:
            raise Infeasible(
                f"vehicle {v.id!r} needs {direct} to go from its start to its end depot, "
                f"more than its max_duration {v.max_duration}",
                where=f"vehicles[{i}].max_duration",
            )
        if v.shift is not None and v.shift.earliest + direct > v.shift.latest:
            raise Infeasible(
                f"vehicle {v.id!r} needs {direct} to go from its start to its end depot, "
                f"longer than its shift {v.shift.earliest}-{v.shift.latest}",
                where=f"vehicles[{i}].shift",
            )
    horizon = problem.horizon or 0
    for k, s in enumerate(visits):
        if s.window is not None and s.window.earliest > horizon:
            raise MalformedProblem(
                f"window opens after the horizon {horizon}", where=f"visits[{k}].window"
            )
    for i, v in enumerate(vehicles):
        if v.shift is not None and v.shift.earliest > horizon:
            raise MalformedProblem(
                f"shift starts after the horizon {horizon}", where=f"vehicles[{i}].shift"
            )
    return excluded, allowed


def _build(
    problem: RoutingProblem,
    seed: int,
    params: RoutingParams,
    excluded: list[int],
    allowed: dict[int, list[int]],
) -> _Model:
    vehicles, visits = problem.vehicles, problem.visits
    modelled = [k for k in range(len(visits)) if k not in set(excluded)]
    if seed:
        rng = np.random.default_rng(seed)
        modelled = [modelled[i] for i in rng.permutation(len(modelled))]

    depot_locs = sorted({v.start for v in vehicles} | {v.end for v in vehicles})
    node_visit = [*modelled, *([-1] * len(depot_locs))]
    depot_node = {loc: len(modelled) + i for i, loc in enumerate(depot_locs)}
    node_loc = np.array([visits[k].location for k in modelled] + depot_locs, dtype=np.intp)
    service = np.array([visits[k].service for k in modelled] + [0] * len(depot_locs), np.int64)

    manager = pywrapcp.RoutingIndexManager(
        len(node_visit),
        len(vehicles),
        [depot_node[v.start] for v in vehicles],
        [depot_node[v.end] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)

    # Transit matrices, one per profile; time transit includes the service at the origin.
    n_prof = problem.durations.shape[0]
    cost_src = problem.distances if problem.distances is not None else problem.durations
    time_cb: list[int] = []
    cost_cb: list[int] = []
    max_arc = 0
    for p in range(n_prof):
        t = problem.durations[p][np.ix_(node_loc, node_loc)] + service[:, None]
        time_cb.append(routing.RegisterTransitMatrix(t.tolist()))
        c = cost_src[p if cost_src.shape[0] > 1 else 0]
        cm = c[np.ix_(node_loc, node_loc)]
        max_arc = max(max_arc, int(cm.max()))
        cost_cb.append(routing.RegisterTransitMatrix(cm.tolist()))
    for i, v in enumerate(vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[v.profile], i)
        if v.fixed_cost:
            routing.SetFixedCostOfVehicle(v.fixed_cost, i)

    horizon = int(problem.horizon or 0)
    routing.AddDimensionWithVehicleTransits(
        [time_cb[v.profile] for v in vehicles], horizon, horizon, False, "Time"
    )
    time_dim = routing.GetDimensionOrDie("Time")
    for node, k in enumerate(node_visit):
        if k < 0:
            continue
        if visits[k].window is not None:
            time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(*problem.window_bounds(visits[k]))
    for i, v in enumerate(vehicles):
        lo, hi = problem.shift_bounds(v)
        time_dim.CumulVar(routing.Start(i)).SetRange(lo, hi)
        time_dim.CumulVar(routing.End(i)).SetRange(lo, hi)
        if v.max_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(v.max_duration, i)
        # Tight schedules: leave as late as possible, come back as early as possible.
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(i)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(i)))

    demands = [visits[k].demand if k >= 0 else 0 for k in node_visit]
    if any(demands) or any(v.capacity is not None for v in vehicles):
        total = sum(demands)
        cb = routing.RegisterUnaryTransitVector(demands)
        caps = [total if v.capacity is None else min(v.capacity, max(total, 0)) for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "Load")

    # SetAllowedVehiclesForIndex's SWIG binding rejects every Python sequence in OR-Tools
    # 9.15 (absl::Span typemap), so restrict the vehicle variable's domain instead.
    node_of = {k: node for node, k in enumerate(node_visit) if k >= 0}
    for k, vs in allowed.items():
        banned = [i for i in range(len(vehicles)) if i not in set(vs)]
        routing.VehicleVar(manager.NodeToIndex(node_of[k])).RemoveValues(banned)

    # Penalty for dropping a mandatory visit: more than any complete solution can cost,
    # so the search drops one only if it cannot be served at all.
    mandatory = [k for k in modelled if not visits[k].optional]
    big: int | None = None
    if params.mandatory_as_penalty and mandatory:
        n = len(node_visit) + 2 * len(vehicles)
        optional_total = sum(visits[k].drop_cost() or 0 for k in modelled)
        big = max_arc * n + sum(v.fixed_cost for v in vehicles) + optional_total + 1
        if big * len(mandatory) > _INT64_SAFE:
            big = None  # would overflow int64 sums: fall back to hard constraints
    for node, k in enumerate(node_visit):
        if k < 0:
            continue
        s = visits[k]
        index = manager.NodeToIndex(node)
        if s.optional:
            routing.AddDisjunction([index], int(s.drop_cost() or 0))
        elif big is not None:
            routing.AddDisjunction([index], big)

    return _Model(
        manager=manager,
        routing=routing,
        time_dim=time_dim,
        node_visit=node_visit,
        visit_node=node_of,
        allowed=allowed,
        excluded=excluded,
        big_penalty=big,
    )


def _search_parameters(
    params: RoutingParams, time_limit_s: float | None, max_solutions: int | None
) -> pywrapcp.DefaultRoutingSearchParameters:
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = _FIRST.Value(params.first_solution)
    sp.local_search_metaheuristic = _META.Value(params.metaheuristic)
    sp.guided_local_search_lambda_coefficient = params.gls_lambda
    sp.lns_time_limit.FromMilliseconds(max(1, int(params.lns_time_limit_s * 1000)))
    sp.use_full_propagation = params.use_full_propagation
    if params.lean_operators:
        ops = sp.local_search_operators
        for name in ops.DESCRIPTOR.fields_by_name:
            if any(key in name for key in _HEAVY_OPERATORS):
                setattr(ops, name, optional_boolean_pb2.BOOL_FALSE)
    if time_limit_s is not None:
        sp.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    else:
        # Iteration-bounded stops still get a (generous) wall-clock cap: GLS without one
        # makes OR-Tools warn that the search "may run forever".
        sp.time_limit.FromSeconds(_FALLBACK_TIME_LIMIT_S)
    if max_solutions is not None:
        sp.solution_limit = max_solutions
    return sp


def _initial_routes(problem: RoutingProblem, model: _Model, initial: Plan) -> list[list[int]]:
    ids = problem.visit_index()
    by_vehicle = {r.vehicle_id: r for r in initial.routes}
    routes: list[list[int]] = []
    for i, v in enumerate(problem.vehicles):
        route: list[int] = []
        r = by_vehicle.get(v.id)
        if r is not None:
            for sv in r.visits:
                k = ids.get(sv.visit_id)
                node = model.visit_node.get(k) if k is not None else None
                if node is None:
                    continue
                if k not in model.allowed or i in model.allowed[k]:
                    route.append(model.manager.NodeToIndex(node))
        routes.append(route)
    return routes


def _extract(
    problem: RoutingProblem, model: _Model, solution: pywrapcp.Assignment
) -> tuple[Plan, int]:
    routing, manager = model.routing, model.manager
    visits = problem.visits
    routes: list[Route] = []
    served: set[int] = set()
    for i, v in enumerate(problem.vehicles):
        if not routing.IsVehicleUsed(solution, i):
            continue
        order: list[int] = []
        index = solution.Value(routing.NextVar(routing.Start(i)))
        while not routing.IsEnd(index):
            order.append(model.node_visit[manager.IndexToNode(index)])
            index = solution.Value(routing.NextVar(index))
        routes.append(schedule_route(problem, v, order))
        served.update(order)
    dropped_idx = [k for k in range(len(visits)) if k not in served]
    missing = [k for k in dropped_idx if not visits[k].optional]
    if missing:
        k = missing[0]
        names = ", ".join(repr(visits[j].id) for j in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise Infeasible(
            f"mandatory visit(s) {names}{more} could not be served within the time windows, "
            f"shifts, durations, capacities and skills (within the search budget)",
            where=f"visits[{k}]",
        )
    objective = int(solution.ObjectiveValue()) + sum(
        visits[k].drop_cost() or 0 for k in model.excluded
    )
    return Plan(tuple(routes), tuple(visits[k].id for k in dropped_idx)), objective


def solve(
    problem: RoutingProblem,
    *,
    stop: StopCriterion,
    seed: int = 0,
    params: RoutingParams | None = None,
    initial: Plan | None = None,
) -> PlanResult:
    """Plan routes for ``problem`` within the limits of ``stop``.

    Parameters
    ----------
    problem : the vehicles, visits and matrices.
    stop : when to stop searching (`planners.stop`); required.
    seed : changes the search trajectory; the same seed and an iteration-bounded stop give
        the same plan.
    params : search settings; `RoutingParams()` when omitted.
    initial : a previous plan to start from (warm start for re-planning); routes are read
        by vehicle and visit id, unknown ids are ignored.

    Returns
    -------
    PlanResult

    Raises
    ------
    MalformedProblem
        If ``problem`` is not a `RoutingProblem`, or its windows/shifts do not fit the horizon.
    Infeasible
        If no solution was found, or a mandatory visit could not be served.
    ValueError
        If ``stop`` sets no limit at all.
    """
    t0 = time.perf_counter()
    if not isinstance(problem, RoutingProblem):
        raise MalformedProblem("expected a RoutingProblem", where="problem")
    params = params or RoutingParams()
    limits = stop.limits()
    if not limits.is_bounded():
        raise ValueError("stop criterion sets no limit")
    if seed < 0:
        raise ValueError("seed must be >= 0")

    if not problem.visits:
        plan = _empty_plan()
        return PlanResult(plan, 0, time.perf_counter() - t0, 0, problem)

    excluded, allowed = _screen(problem)
    engine = _engine_for(params, problem)
    if engine == "pyvrp":
        modelled = [k for k in range(len(problem.visits)) if k not in set(excluded)]
        outcome = solve_with_pyvrp(
            problem,
            modelled=modelled,
            limits=limits,
            remaining_s=_remaining(limits, t0),
            seed=seed,
            allowed=allowed,
            initial=initial,
        )
        if outcome.plan is not None:
            return PlanResult(
                outcome.plan,
                outcome.objective,
                time.perf_counter() - t0,
                outcome.iterations,
                problem,
                engine="pyvrp",
            )
        # PyVRP's best plan breaks a hard constraint: some mandatory visit cannot be served.
        # OR-Tools' penalty model finds out which, on a diagnosis budget of its own.
        limits = _diagnosis_limits(limits)
        t_search = time.perf_counter()
        params = replace(params, mandatory_as_penalty=True)
    else:
        t_search = t0

    model = _build(problem, seed, params, excluded, allowed)
    routing = model.routing
    sp = _search_parameters(params, _remaining(limits, t_search), limits.max_solutions)

    counter = _SolutionCounter(routing, limits.no_improvement)
    routing.AddAtSolutionCallback(counter)
    branch_cap = _branch_cap(limits.max_solutions, limits.no_improvement, len(model.node_visit))
    if branch_cap is not None:
        routing.AddSearchMonitor(routing.solver().BranchesLimit(branch_cap))

    solution = None
    if initial is not None:
        assignment = routing.ReadAssignmentFromRoutes(
            _initial_routes(problem, model, initial), True
        )
        if assignment is not None:
            solution = routing.SolveFromAssignmentWithParameters(assignment, sp)
    if solution is None:
        solution = routing.SolveWithParameters(sp)
    if solution is None:
        raise Infeasible(
            "the solver found no solution (time windows, shifts, durations or capacities "
            "cannot all be met, or the search budget is too small)",
            where="visits",
        )
    plan, objective = _extract(problem, model, solution)
    return PlanResult(plan, objective, time.perf_counter() - t0, counter.count, problem)


def _remaining(limits: SearchLimits, t0: float) -> float | None:
    if limits.time_limit_s is None:
        return None
    return max(limits.time_limit_s - (time.perf_counter() - t0), 0.001)


def _engine_for(params: RoutingParams, problem: RoutingProblem) -> str:
    """The engine that solves this problem (see the module docstring)."""
    if params.engine == "ortools" or not params.mandatory_as_penalty:
        return "ortools"
    if _nonzero_diagonal(problem.durations) or (
        problem.distances is not None and _nonzero_diagonal(problem.distances)
    ):
        return "ortools"  # PyVRP refuses travel from a place to itself
    return "pyvrp"


def _nonzero_diagonal(matrices: np.ndarray) -> bool:
    return bool(np.diagonal(matrices, axis1=1, axis2=2).any())


def _diagnosis_limits(limits: SearchLimits) -> SearchLimits:
    """Budget for naming the visits that cannot be served, after PyVRP found no plan."""
    time_s = None
    if limits.time_limit_s is not None:
        time_s = min(max(0.25 * limits.time_limit_s, 0.2), limits.time_limit_s)
    return SearchLimits(time_s, limits.max_solutions, limits.no_improvement)


def _branch_cap(max_solutions: int | None, no_improvement: int | None, nodes: int) -> int | None:
    """A deterministic search-branch bound for iteration-based stops.

    GLS on a tiny problem can run out of moves: it then finds no new solution and an
    iteration limit alone would never trigger (observed: one vehicle, one visit, hung
    until the wall-clock fallback). Searches use roughly 7-50 branches per solution
    (measured on Solomon R101/C201 and random 30-visit problems), so these caps only bind
    on such stalled searches, and being counts, they keep runs deterministic.
    """
    caps = []
    if max_solutions is not None:
        caps.append(200 * (max_solutions + nodes) + 2_000)
    if no_improvement is not None:
        caps.append(2_000 * (no_improvement + nodes) + 100_000)
    return min(caps) if caps else None


def _empty_plan() -> Plan:
    return Plan(routes=(), dropped=())


class _SolutionCounter:
    """At-solution callback: counts solutions, stops after N without a new best."""

    __slots__ = ("best", "count", "limit", "routing", "since_best")

    def __init__(self, routing: pywrapcp.RoutingModel, no_improvement: int | None) -> None:
        self.routing = routing
        self.limit = no_improvement
        self.count = 0
        self.since_best = 0
        self.best: int | None = None

    def __call__(self) -> None:
        self.count += 1
        if self.limit is None:
            return
        cost = int(self.routing.CostVar().Value())
        if self.best is None or cost < self.best:
            self.best, self.since_best = cost, 0
        else:
            self.since_best += 1
            if self.since_best >= self.limit:
                self.routing.solver().FinishCurrentSearch()


def vehicles_by_id(vehicles: Sequence[Vehicle]) -> dict[str, Vehicle]:
    """Index vehicles by id (a small helper shared by planners built on this core)."""
    return {v.id: v for v in vehicles}


def visits_by_id(visits: Sequence[Visit]) -> dict[str, Visit]:
    """Index visits by id."""
    return {s.id: s for s in visits}
