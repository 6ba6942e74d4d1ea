"""Routing core: real OR-Tools and PyVRP on small problems, hypothesis properties over random ones.

The property tests run once per engine on the same random problems (skills included).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planners.errors import Infeasible, MalformedProblem
from planners.problem import RoutingProblem, TimeWindow, Vehicle, Visit, scale_matrix
from planners.routing import RoutingParams, solve
from planners.solution import Plan, check_plan
from planners.stop import FirstOf, MaxIterations, MaxRuntime, NoImprovement, SearchLimits


def line_matrix(n: int, step: int = 10) -> np.ndarray:
    """Locations 0..n-1 on a line, ``step`` apart."""
    x = np.arange(n) * step
    return np.abs(x[:, None] - x[None, :])


def test_solve_visits_everything_on_a_line_in_order() -> None:
    problem = RoutingProblem(
        line_matrix(5),
        (Vehicle("v", start=0, end=0),),
        tuple(Visit(f"s{i}", location=i) for i in (3, 1, 4, 2)),
    )
    result = solve(problem, stop=MaxIterations(50))
    assert result.is_feasible()
    assert result.plan.dropped == ()
    (route,) = result.plan.routes
    assert route.distance == 80  # out to 40 and back
    assert result.cost() == 80
    assert "feasible=True" in result.summary()


def test_solve_respects_time_windows_by_changing_the_order() -> None:
    problem = RoutingProblem(
        line_matrix(4),
        (Vehicle("v", start=0, end=0),),
        (
            Visit("far", location=3, window=TimeWindow(30, 40)),
            Visit("near", location=1, window=TimeWindow(60, 100)),
        ),
    )
    result = solve(problem, stop=MaxIterations(100))
    (route,) = result.plan.routes
    assert route.visit_ids() == ("far", "near")
    far, near = route.visits
    assert 30 <= far.start <= 40 and 60 <= near.start <= 100
    assert result.is_feasible()


def test_optional_visit_outside_reach_is_dropped_and_reported() -> None:
    problem = RoutingProblem(
        line_matrix(4),
        (Vehicle("v", start=0, end=0, shift=TimeWindow(0, 100)),),
        (
            Visit("ok", location=1),
            Visit("late", location=3, window=TimeWindow(0, 5), penalty=1000),
        ),
    )
    result = solve(problem, stop=MaxIterations(100))
    assert result.plan.dropped == ("late",)
    assert result.cost() == 20 + 1000
    assert result.is_feasible()


def test_mandatory_visit_that_cannot_be_reached_raises_infeasible_naming_it() -> None:
    problem = RoutingProblem(
        line_matrix(4),
        (Vehicle("v", start=0, end=0),),
        (Visit("ok", location=1), Visit("late", location=3, window=TimeWindow(0, 5))),
    )
    with pytest.raises(Infeasible) as err:
        solve(problem, stop=MaxIterations(100))
    assert err.value.where == "visits[1]"
    assert "late" in str(err.value)


def test_mandatory_visit_no_vehicle_has_skills_for_raises_before_search() -> None:
    problem = RoutingProblem(
        line_matrix(3),
        (Vehicle("v", start=0, end=0, skills={"drone"}),),
        (Visit("x", location=1, skills=frozenset({"loudspeaker"})),),
    )
    with pytest.raises(Infeasible) as err:
        solve(problem, stop=MaxIterations(10))
    assert err.value.where == "visits[0].skills"


def test_skills_send_each_visit_to_a_vehicle_that_has_them() -> None:
    problem = RoutingProblem(
        line_matrix(6),
        (
            Vehicle("plain", start=0, end=0),
            Vehicle("spotlight", start=5, end=5, skills={"spotlight"}),
        ),
        (
            Visit("near-plain", location=1),
            # Location 1 is nearest to depot 0, but only the spotlight drone may go.
            Visit("needs-light", location=1, skills=frozenset({"spotlight"})),
            Visit("optional-light", location=2, skills=frozenset({"spotlight"}), penalty=10**6),
        ),
    )
    result = solve(problem, stop=MaxIterations(200))
    assert result.is_feasible()
    light = result.plan.route_of("spotlight")
    assert light is not None
    assert {"needs-light", "optional-light"} <= set(light.visit_ids())
    plain = result.plan.route_of("plain")
    assert plain is None or not {"needs-light", "optional-light"} & set(plain.visit_ids())


def test_skills_unavailable_for_an_optional_visit_drop_it_with_its_penalty() -> None:
    problem = RoutingProblem(
        line_matrix(3),
        (Vehicle("v", start=0, end=0),),
        (Visit("x", location=1, skills=frozenset({"k9"}), penalty=7, priority=3),),
    )
    result = solve(problem, stop=MaxIterations(10))
    assert result.plan.dropped == ("x",)
    assert result.cost() == 21


def test_capacity_splits_visits_over_vehicles() -> None:
    problem = RoutingProblem(
        line_matrix(5),
        (Vehicle("a", 0, 0, capacity=2), Vehicle("b", 0, 0, capacity=2)),
        tuple(Visit(f"s{i}", location=i, demand=1) for i in range(1, 5)),
    )
    result = solve(problem, stop=MaxIterations(200))
    assert result.is_feasible()
    assert [r.load for r in result.plan.routes] == [2, 2]


def test_max_duration_forces_a_second_vehicle() -> None:
    problem = RoutingProblem(
        line_matrix(5),
        (Vehicle("a", 0, 0, max_duration=85), Vehicle("b", 0, 0, max_duration=85)),
        (Visit("s1", location=1, service=5), Visit("s4", location=4, service=5)),
    )
    result = solve(problem, stop=MaxIterations(200))
    assert result.is_feasible()
    assert sorted(r.visit_ids() for r in result.plan.routes) == [("s1",), ("s4",)]
    # Both on one route would take 80 + 2 * 5 = 90 > 85.
    assert all(r.duration <= 85 for r in result.plan.routes)


def test_several_depots_each_vehicle_starts_and_ends_at_its_own() -> None:
    problem = RoutingProblem(
        line_matrix(8),
        (Vehicle("west", 0, 1), Vehicle("east", 7, 6)),
        (Visit("w", location=2), Visit("e", location=5)),
    )
    result = solve(problem, stop=MaxIterations(200))
    west, east = result.plan.route_of("west"), result.plan.route_of("east")
    assert west is not None and east is not None
    assert (west.start_location, west.end_location, west.visit_ids()) == (0, 1, ("w",))
    assert (east.start_location, east.end_location, east.visit_ids()) == (7, 6, ("e",))


def test_shift_window_delays_departure_and_bounds_return() -> None:
    problem = RoutingProblem(
        line_matrix(3),
        (Vehicle("v", 0, 0, shift=TimeWindow(100, 200)),),
        (Visit("s", location=2, service=10),),
    )
    (route,) = solve(problem, stop=MaxIterations(20)).plan.routes
    assert route.departure >= 100
    assert route.visits[0].arrival == route.departure + 20
    assert route.arrival == route.departure + 50 <= 200


def test_priority_keeps_the_more_important_visit_when_only_one_fits() -> None:
    problem = RoutingProblem(
        line_matrix(4),
        (Vehicle("v", 0, 0, max_duration=75),),
        (
            Visit("low", location=3, penalty=100, priority=1),
            Visit("high", location=3, penalty=100, priority=5),
        ),
    )
    # Both at location 3: 60 time units round trip plus 10 of service each, 75 fits one.
    problem = RoutingProblem(
        problem.durations,
        problem.vehicles,
        tuple(
            Visit(s.id, s.location, service=10, penalty=s.penalty, priority=s.priority)
            for s in problem.visits
        ),
    )
    result = solve(problem, stop=MaxIterations(100))
    assert result.plan.dropped == ("low",)


def test_vehicle_profiles_use_their_own_travel_times() -> None:
    fast, slow = line_matrix(3), line_matrix(3) * 3
    visit = Visit("s", location=2, window=TimeWindow(0, 50))
    both = np.stack([fast, slow])
    car = RoutingProblem(both, (Vehicle("car", 0, 0, profile=0),), (visit,))
    (route,) = solve(car, stop=MaxIterations(10)).plan.routes
    assert route.visits[0].arrival - route.departure == 20
    # On foot the same 20 units take 60 > 50: the walker cannot make the window.
    walker = RoutingProblem(both, (Vehicle("walker", 0, 0, profile=1),), (visit,))
    with pytest.raises(Infeasible):
        solve(walker, stop=MaxIterations(10))
    with pytest.raises(Infeasible):
        solve(walker, stop=MaxIterations(10), params=RoutingParams(mandatory_as_penalty=False))


def test_vehicle_that_cannot_reach_its_end_depot_in_its_shift_is_named() -> None:
    problem = RoutingProblem(
        line_matrix(3), (Vehicle("v", 0, 2, shift=TimeWindow(0, 10)),), (Visit("s", 1),)
    )
    with pytest.raises(Infeasible) as err:
        solve(problem, stop=MaxIterations(10))
    assert err.value.where == "vehicles[0].shift"


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_warm_start_from_previous_plan_is_never_worse(engine: str) -> None:
    rng = np.random.default_rng(7)
    pts = rng.uniform(0, 1000, (25, 2))
    d = scale_matrix(np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1)), 1)
    vehicles = (Vehicle("a", 0, 0, capacity=40), Vehicle("b", 1, 1, capacity=40))
    visits = tuple(Visit(f"s{i}", i, demand=3, penalty=5000) for i in range(2, 25))
    problem = RoutingProblem(d, vehicles, visits)
    params = RoutingParams(engine=engine)  # type: ignore[arg-type]
    first = solve(problem, stop=MaxIterations(300), params=params)
    again = solve(problem, stop=MaxIterations(5), initial=first.plan, params=params)
    assert again.cost() <= first.cost()
    assert (first.engine, again.engine) == (engine, engine)
    # Re-plan after one visit is cancelled and a vehicle is withdrawn.
    smaller = RoutingProblem(d, (*vehicles[:1], Vehicle("c", 0, 0, capacity=40)), visits[1:])
    replanned = solve(smaller, stop=MaxIterations(50), initial=first.plan, params=params)
    assert replanned.is_feasible()


def test_auto_engine_is_pyvrp_unless_constraints_are_hard_and_skills_hold_on_both() -> None:
    plain = RoutingProblem(
        line_matrix(4),
        (Vehicle("a", 0, 0, skills=frozenset({"foot"})), Vehicle("b", 0, 0)),
        (Visit("s1", 1), Visit("s2", 2, penalty=100), Visit("s3", 3)),
    )
    assert solve(plain, stop=MaxIterations(20)).engine == "pyvrp"
    hard = RoutingParams(mandatory_as_penalty=False)
    assert solve(plain, stop=MaxIterations(20), params=hard).engine == "ortools"
    # Only vehicle "a" may serve s3, and "b" may not serve s1 at the same place either;
    # a second visit at location 3 (s4) is open to both.
    restricted = RoutingProblem(
        plain.durations,
        (*plain.vehicles, Vehicle("c", 0, 0, skills=frozenset({"bike"}))),
        (
            Visit("s1", 3, skills=frozenset({"bike"})),
            plain.visits[1],
            Visit("s3", 3, skills=frozenset({"foot"})),
            Visit("s4", 3),
        ),
    )
    for engine in ("auto", "ortools"):
        result = solve(restricted, stop=MaxIterations(50), params=RoutingParams(engine=engine))
        assert result.engine == ("ortools" if engine == "ortools" else "pyvrp")
        assert result.is_feasible(), check_plan(restricted, result.plan)
        a, c = result.plan.route_of("a"), result.plan.route_of("c")
        assert a is not None and "s3" in a.visit_ids()
        assert c is not None and "s1" in c.visit_ids()
    with pytest.raises(ValueError, match="engine"):
        RoutingParams(engine="gurobi")  # type: ignore[arg-type]


def test_pyvrp_route_leaves_as_late_as_its_window_allows_to_fit_the_endurance() -> None:
    # 10 out, 10 back, a window opening at 500: only a late departure fits 30 of endurance.
    problem = RoutingProblem(
        line_matrix(2),
        (Vehicle("d", 0, 0, shift=TimeWindow(0, 1000), max_duration=30),),
        (Visit("spot", 1, service=5, window=TimeWindow(500, 600)),),
    )
    result = solve(problem, stop=MaxIterations(10), params=RoutingParams(engine="pyvrp"))
    (route,) = result.plan.routes
    assert route.departure == 490 and route.visits[0].start == 500 and route.arrival == 515
    assert result.is_feasible() and result.engine == "pyvrp"


def test_pyvrp_identical_vehicles_keep_their_own_ids_and_fixed_costs() -> None:
    # Capacity 2 and six unit demands: three identical vans are all needed.
    vans = tuple(Vehicle(f"van{i}", 0, 0, capacity=2, fixed_cost=100) for i in range(3))
    problem = RoutingProblem(
        line_matrix(7), vans, tuple(Visit(f"s{i}", i, demand=1) for i in range(1, 7))
    )
    result = solve(problem, stop=MaxIterations(200), params=RoutingParams(engine="pyvrp"))
    assert sorted(r.vehicle_id for r in result.plan.routes) == ["van0", "van1", "van2"]
    assert result.is_feasible()
    assert result.cost() == result.plan.distance() + 300


def test_pyvrp_over_constrained_problem_names_the_visit_it_cannot_serve() -> None:
    problem = RoutingProblem(
        line_matrix(4),
        (Vehicle("v", 0, 0, shift=TimeWindow(0, 100)),),
        (Visit("ok", 1), Visit("too-late", 3, window=TimeWindow(0, 5))),
    )
    with pytest.raises(Infeasible) as err:
        solve(problem, stop=MaxIterations(30), params=RoutingParams(engine="pyvrp"))
    assert "too-late" in str(err.value) and err.value.where == "visits[1]"


def test_default_engine_gets_close_to_the_best_known_solution_of_solomon_r101() -> None:
    from bench.routing import read_solomon, to_problem

    problem = to_problem(read_solomon(Path("../shared/data/vrp/solomon/R101.txt")))
    result = solve(problem, stop=MaxRuntime(2.0), seed=0)
    assert result.engine == "pyvrp" and result.is_feasible()
    # Best known 1637.7 (tenths in the problem). OR-Tools alone was 2.8 % off on R1 at 10 s.
    assert 16377 <= result.plan.distance() <= 16377 * 1.02


def test_same_seed_same_plan_and_other_seeds_still_feasible() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 100, (30, 2))
    d = scale_matrix(np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1)), 10)
    problem = RoutingProblem(
        d,
        (Vehicle("a", 0, 0, capacity=60), Vehicle("b", 0, 0, capacity=60)),
        tuple(Visit(f"s{i}", i, demand=4, service=30, penalty=3000) for i in range(1, 30)),
    )
    a = solve(problem, stop=MaxIterations(150), seed=11)
    b = solve(problem, stop=MaxIterations(150), seed=11)
    assert a.plan == b.plan and a.cost() == b.cost()
    assert solve(problem, stop=MaxIterations(150), seed=12).is_feasible()


def test_no_improvement_stops_before_the_iteration_cap() -> None:
    problem = RoutingProblem(
        line_matrix(6), (Vehicle("v", 0, 0),), tuple(Visit(f"s{i}", i) for i in range(1, 6))
    )
    result = solve(problem, stop=FirstOf(NoImprovement(20), MaxIterations(100_000)))
    assert result.num_solutions < 1000
    assert result.runtime_s < 5


def test_max_runtime_bounds_the_search() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 100, (60, 2))
    d = scale_matrix(np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1)), 10)
    problem = RoutingProblem(
        d, (Vehicle("v", 0, 0), Vehicle("w", 0, 0)), tuple(Visit(f"s{i}", i) for i in range(1, 60))
    )
    result = solve(problem, stop=MaxRuntime(0.3))
    assert result.runtime_s < 1.5
    assert result.is_feasible()


def test_empty_problem_gives_an_empty_plan() -> None:
    problem = RoutingProblem(line_matrix(1), (Vehicle("v", 0, 0),), ())
    result = solve(problem, stop=MaxIterations(1))
    assert result.plan.routes == () and result.cost() == 0


def test_check_plan_reports_a_tampered_schedule() -> None:
    problem = RoutingProblem(
        line_matrix(3),
        (Vehicle("v", 0, 0),),
        (Visit("s", location=2, window=TimeWindow(0, 30)),),
    )
    result = solve(problem, stop=MaxIterations(10))
    import dataclasses

    route = result.plan.routes[0]
    late = dataclasses.replace(route.visits[0], start=99, departure=99)
    bad = dataclasses.replace(result.plan, routes=(dataclasses.replace(route, visits=(late,)),))
    assert any("outside" in e for e in check_plan(problem, bad))
    assert check_plan(problem, dataclasses.replace(result.plan, routes=()))


@pytest.mark.parametrize(
    ("build", "where"),
    [
        (lambda: RoutingProblem(np.zeros((2, 3)), (Vehicle("v", 0, 0),), ()), "durations"),
        (lambda: RoutingProblem(-line_matrix(3), (Vehicle("v", 0, 0),), ()), "durations[0][0][1]"),
        (lambda: RoutingProblem(line_matrix(3) + 0.5, (Vehicle("v", 0, 0),), ()), "durations"),
        (lambda: RoutingProblem(line_matrix(3), (), ()), "vehicles"),
        (
            lambda: RoutingProblem(line_matrix(3), (Vehicle("v", 0, 5),), ()),
            "vehicles[0].end",
        ),
        (
            lambda: RoutingProblem(line_matrix(3), (Vehicle("v", 0, 0),), (Visit("s", 3),)),
            "visits[0].location",
        ),
        (
            lambda: RoutingProblem(
                line_matrix(3), (Vehicle("v", 0, 0),), (Visit("s", 1), Visit("s", 2))
            ),
            "visits[1].id",
        ),
        (
            lambda: RoutingProblem(line_matrix(3), (Vehicle("v", 0, 0, profile=2),), ()),
            "vehicles[0].profile",
        ),
        (lambda: TimeWindow(5, 4), "window"),
        (lambda: Visit("s", 1, penalty=-1), "penalty"),
        (lambda: Visit("s", 1, priority=0), "priority"),
        (lambda: Vehicle("v", 0, 0, capacity=-1), "capacity"),
    ],
)
def test_malformed_problems_raise_with_where(build, where: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedProblem) as err:
        build()
    assert err.value.where == where


def test_stop_criteria_validate_and_combine() -> None:
    with pytest.raises(ValueError):
        MaxRuntime(0)
    with pytest.raises(ValueError):
        MaxIterations(0)
    combined = FirstOf(MaxRuntime(3), MaxRuntime(1), MaxIterations(9), NoImprovement(4))
    assert combined.limits() == SearchLimits(1.0, 9, 4)
    with pytest.raises(ValueError):
        RoutingParams(first_solution="NOPE")


def test_scale_matrix_truncates_like_the_solomon_convention() -> None:
    m = scale_matrix([[0.0, 4.2], [2.99, 0.0]], 10, rounding="floor")
    assert m.tolist() == [[0, 42], [29, 0]]
    with pytest.raises(MalformedProblem):
        scale_matrix([[0, float("nan")]], 1)


# ---------------------------------------------------------------- properties (hypothesis)

ENGINES = ("ortools", "pyvrp")


@st.composite
def tiny_problems(draw: st.DrawFn) -> RoutingProblem:
    """1-3 vehicles, 1-7 visits on a 0..100 grid, random windows/skills/capacities/penalties."""
    n_depots = draw(st.integers(1, 2))
    n_visits = draw(st.integers(1, 7))
    n = n_depots + n_visits
    xs = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    ys = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    pts = np.column_stack([xs, ys]).astype(float)
    d = scale_matrix(np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1)), 1, rounding="ceil")
    skills_pool = ["a", "b"]
    vehicles = []
    for k in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, n_depots - 1))
        end = draw(st.integers(0, n_depots - 1))
        shift_start = draw(st.integers(0, 50))
        vehicles.append(
            Vehicle(
                f"v{k}",
                start,
                end,
                capacity=draw(st.none() | st.integers(0, 10)),
                skills=frozenset(draw(st.lists(st.sampled_from(skills_pool), max_size=2))),
                shift=TimeWindow(shift_start, shift_start + draw(st.integers(50, 800))),
                max_duration=draw(st.none() | st.integers(0, 600)),
            )
        )
    visits = []
    for k in range(n_visits):
        earliest = draw(st.integers(0, 400))
        window = draw(
            st.none() | st.just(TimeWindow(earliest, earliest + draw(st.integers(0, 200))))
        )
        visits.append(
            Visit(
                f"s{k}",
                n_depots + k,
                service=draw(st.integers(0, 60)),
                window=window,
                demand=draw(st.integers(0, 4)),
                skills=frozenset(draw(st.lists(st.sampled_from(skills_pool), max_size=1))),
                priority=draw(st.integers(1, 3)),
                penalty=draw(st.none() | st.integers(0, 2000)),
            )
        )
    return RoutingProblem(d, tuple(vehicles), tuple(visits))


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("engine", ENGINES)
@given(data=st.data())
def test_every_time_window_is_met_or_the_visit_is_reported_dropped(
    engine: str, data: st.DataObject
) -> None:
    problem = data.draw(tiny_problems())
    try:
        result = solve(problem, stop=MaxIterations(20), params=RoutingParams(engine=engine))
    except Infeasible as exc:
        # Only a mandatory visit, or a vehicle that cannot even drive from its start to
        # its end depot, may make a problem infeasible; the error names it.
        assert exc.where is not None
        k = int(exc.where.split("[")[1].split("]")[0])
        if exc.where.startswith("visits["):
            assert not problem.visits[k].optional
        else:
            v = problem.vehicles[k]
            direct = problem.duration(v, v.start, v.end)
            assert exc.where.startswith("vehicles[")
            assert (v.max_duration is not None and direct > v.max_duration) or (
                v.shift is not None and v.shift.earliest + direct > v.shift.latest
            )
        return
    assert check_plan(problem, result.plan) == []
    served = {s.visit_id: s for r in result.plan.routes for s in r.visits}
    for visit in problem.visits:
        if visit.id in served:
            if visit.window is not None:
                assert visit.window.earliest <= served[visit.id].start <= visit.window.latest
        else:
            assert visit.id in result.plan.dropped and visit.optional


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("engine", ENGINES)
@given(data=st.data())
def test_every_route_lasts_at_most_the_vehicle_max_duration_and_fits_its_shift(
    engine: str, data: st.DataObject
) -> None:
    problem = data.draw(tiny_problems())
    try:
        result = solve(problem, stop=MaxIterations(20), params=RoutingParams(engine=engine))
    except Infeasible:
        return
    vehicles = {v.id: v for v in problem.vehicles}
    for route in result.plan.routes:
        v = vehicles[route.vehicle_id]
        if v.max_duration is not None:
            assert route.duration <= v.max_duration
        assert v.shift is not None
        assert v.shift.earliest <= route.departure <= route.arrival <= v.shift.latest
        if v.capacity is not None:
            assert route.load <= v.capacity


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("engine", ENGINES)
@given(data=st.data(), seed=st.integers(0, 50))
def test_the_same_seed_gives_the_same_plan(engine: str, data: st.DataObject, seed: int) -> None:
    problem = data.draw(tiny_problems())

    def run() -> object:
        try:
            r = solve(
                problem, stop=MaxIterations(25), seed=seed, params=RoutingParams(engine=engine)
            )
        except Infeasible as exc:
            return ("infeasible", exc.where)
        return (r.plan, r.cost())

    assert run() == run()


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_a_warm_start_listing_a_visit_twice_still_gives_a_valid_plan(engine: str) -> None:
    problem = RoutingProblem(
        line_matrix(5),
        (Vehicle("a", 0, 0), Vehicle("b", 0, 0)),
        tuple(Visit(f"s{i}", i) for i in range(1, 5)),
    )
    params = RoutingParams(engine=engine)  # type: ignore[arg-type]
    first = solve(problem, stop=MaxIterations(20), params=params)
    import dataclasses

    route = first.plan.routes[0]
    twice = dataclasses.replace(route, visits=route.visits + route.visits)
    edited = Plan((twice, dataclasses.replace(twice, vehicle_id="b")), ())
    again = solve(problem, stop=MaxIterations(10), params=params, initial=edited)
    assert again.is_feasible() and again.cost() == 80
