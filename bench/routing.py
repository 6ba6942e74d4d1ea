"""Routing benchmark: the routing core on Solomon's VRPTW instances, PyVRP side by side.

Run ``patrolfleet bench routing --instances DIR --time-limit SECONDS --json``.

Convention (``../shared/data/README.md``): every arc is ``floor(10 * euclid) / 10``, travel
time equals distance, the objective is total distance with any number of vehicles up to
the instance's limit. Both solvers work in integer tenths and the objective is divided by
10 to compare with ``bks_distance`` of ``bks.csv``.

Budget: the routing core (`planners.routing.solve`, default engine selection, which
gives these instances to PyVRP) gets ``--time-limit`` seconds of wall clock per instance
and uses both cores of the machine: ``--workers`` processes (default 2) run different
seeds / settings in parallel and the best plan is kept (each engine's search is
single-threaded). ``--engine ortools`` runs an OR-Tools-only portfolio instead, to measure
that engine. PyVRP itself, called directly, then solves the same instance for the same
wall-clock time on one core with seed 0. The two are never run at the same time, so they
do not compete for the cores.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import importlib.metadata
import json
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planners.errors import PlanningError
from planners.problem import RoutingProblem, TimeWindow, Vehicle, Visit, scale_matrix
from planners.routing import RoutingParams, solve
from planners.stop import MaxRuntime

DEFAULT_DIR = Path("../shared/data/vrp/solomon")

#: Portfolio, one entry per worker process: (name, search settings, seed); the best plan
#: wins. The routing core's default engine ("auto") solves these plain VRPTW instances with
#: PyVRP, so the two workers are PyVRP's iterated local search on two seeds (1 and 2; the
#: side-by-side PyVRP run uses seed 0). More workers add OR-Tools entries.
PORTFOLIO: tuple[tuple[str, RoutingParams, int], ...] = (
    ("auto-seed1", RoutingParams(), 1),
    ("auto-seed2", RoutingParams(), 2),
    ("ortools-pci-lean-penalty", RoutingParams(engine="ortools"), 0),
    ("auto-seed3", RoutingParams(), 3),
)

#: OR-Tools only (``--engine ortools``), the portfolio measured before PyVRP became the
#: default engine. Entry 1 is the robust one: parallel cheapest insertion with mandatory
#: visits as big penalties always finds a plan, also with the tight windows of R1/RC1.
#: Entry 2 is the plain OR-Tools set-up (path cheapest arc, hard constraints, default
#: operators): it finds *no* plan on R101, R105, RC101, RC105 in 10 s, but where it does it
#: often beats entry 1 on the long routes of R2/RC2 (10 s, measured: RC204 2.4 % vs 7.4 %,
#: RC203 4.0 % vs 11.1 %, R107 3.6 % vs 6.0 %). Savings won 19 of 56 instances in a first
#: run; it is kept for --workers 3.
ORTOOLS_PORTFOLIO: tuple[tuple[str, RoutingParams, int], ...] = (
    ("pci-lean-penalty", RoutingParams(engine="ortools"), 0),
    (
        "pca-default-hard",
        RoutingParams(
            engine="ortools",
            first_solution="PATH_CHEAPEST_ARC",
            mandatory_as_penalty=False,
            lean_operators=False,
        ),
        0,
    ),
    ("savings-lean-penalty", RoutingParams(engine="ortools", first_solution="SAVINGS"), 1),
    (
        "lci-lean-penalty",
        RoutingParams(engine="ortools", first_solution="LOCAL_CHEAPEST_INSERTION"),
        2,
    ),
)
PORTFOLIOS = {"auto": PORTFOLIO, "ortools": ORTOOLS_PORTFOLIO}


@dataclass(frozen=True, slots=True)
class Instance:
    """One Solomon instance in raw form (coordinates and integers as in the file)."""

    name: str
    num_vehicles: int
    capacity: int
    xy: np.ndarray  # (n+1, 2), row 0 the depot
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray


def read_solomon(path: Path) -> Instance:
    """Read Solomon's original text format.

    Raises
    ------
    ValueError
        If the file does not look like a Solomon instance.
    """
    lines = [ln.split() for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    try:
        vi = next(i for i, ln in enumerate(lines) if ln[0].upper() == "VEHICLE")
        num_vehicles, capacity = int(lines[vi + 2][0]), int(lines[vi + 2][1])
        ci = next(i for i, ln in enumerate(lines) if ln[0].upper() == "CUSTOMER")
        rows = [ln for ln in lines[ci + 1 :] if ln[0].isdigit()]
        data = np.array([[float(x) for x in ln[:7]] for ln in rows])
    except (StopIteration, IndexError, ValueError) as exc:
        raise ValueError(f"{path}: not a Solomon instance ({exc})") from exc
    return Instance(
        name=lines[0][0],
        num_vehicles=num_vehicles,
        capacity=capacity,
        xy=data[:, 1:3],
        demand=data[:, 3].astype(np.int64),
        ready=data[:, 4].astype(np.int64),
        due=data[:, 5].astype(np.int64),
        service=data[:, 6].astype(np.int64),
    )


def tenths_matrix(inst: Instance) -> np.ndarray:
    """``floor(10 * euclid)`` between all points, in integer tenths."""
    diff = inst.xy[:, None, :] - inst.xy[None, :, :]
    return scale_matrix(np.sqrt((diff**2).sum(-1)), 10, rounding="floor")


def to_problem(inst: Instance) -> RoutingProblem:
    """The instance as a `RoutingProblem` in tenths (time = distance, times scaled by 10)."""
    d = tenths_matrix(inst)
    depot_window = TimeWindow(int(inst.ready[0]) * 10, int(inst.due[0]) * 10)
    vehicles = tuple(
        Vehicle(f"v{i}", start=0, end=0, capacity=inst.capacity, shift=depot_window)
        for i in range(inst.num_vehicles)
    )
    visits = tuple(
        Visit(
            f"c{j}",
            location=j,
            service=int(inst.service[j]) * 10,
            window=TimeWindow(int(inst.ready[j]) * 10, int(inst.due[j]) * 10),
            demand=int(inst.demand[j]),
        )
        for j in range(1, len(inst.xy))
    )
    return RoutingProblem(d, vehicles, visits, horizon=depot_window.latest)


def _solve_one(args: tuple[str, float, str, int]) -> tuple[int | None, int, int]:
    """Worker: (objective in tenths or None, vehicles used, solutions explored)."""
    path, seconds, portfolio, entry = args
    _, params, seed = PORTFOLIOS[portfolio][entry]
    problem = to_problem(read_solomon(Path(path)))
    try:
        res = solve(
            problem,
            stop=MaxRuntime(seconds),
            seed=seed,
            params=params,
        )
    except PlanningError:
        return None, 0, 0
    assert res.is_feasible(), res.summary()
    return res.plan.distance(), len(res.plan.routes), res.num_solutions


def solve_core(
    path: Path,
    seconds: float,
    pool: ProcessPoolExecutor | None,
    workers: int,
    portfolio: str = "auto",
) -> dict[str, object]:
    """Solve with the routing core, ``workers`` portfolio entries in parallel."""
    # Leave time for process start-up and result transfer inside the budget.
    budget = max(seconds - 0.15, 0.1)
    jobs = [(str(path), budget, portfolio, k) for k in range(workers)]
    t0 = time.perf_counter()
    outs = [_solve_one(j) for j in jobs] if pool is None else list(pool.map(_solve_one, jobs))
    elapsed = time.perf_counter() - t0
    found = [(o[0], o[1], k) for k, o in enumerate(outs) if o[0] is not None]
    if not found:
        return {"distance": None, "vehicles": None, "seconds": round(elapsed, 2)}
    dist, used, k = min(found)
    return {
        "distance": dist / 10,
        "vehicles": used,
        "seconds": round(elapsed, 2),
        "winner": PORTFOLIOS[portfolio][k][0],
        "solutions": sum(o[2] for o in outs),
    }


def solve_pyvrp(inst: Instance, seconds: float, seed: int = 0) -> dict[str, object]:
    """Solve with PyVRP's `Model` on the very same integer data."""
    import pyvrp
    from pyvrp.stop import MaxRuntime as PyvrpMaxRuntime

    d = tenths_matrix(inst)
    m = pyvrp.Model()
    locs = [m.add_location(float(x), float(y)) for x, y in inst.xy]
    depot = m.add_depot(locs[0], tw_early=int(inst.ready[0]) * 10, tw_late=int(inst.due[0]) * 10)
    m.add_vehicle_type(
        num_available=inst.num_vehicles,
        capacity=inst.capacity,
        start_depot=depot,
        end_depot=depot,
        tw_early=int(inst.ready[0]) * 10,
        tw_late=int(inst.due[0]) * 10,
    )
    for j in range(1, len(locs)):
        m.add_client(
            locs[j],
            delivery=int(inst.demand[j]),
            service_duration=int(inst.service[j]) * 10,
            tw_early=int(inst.ready[j]) * 10,
            tw_late=int(inst.due[j]) * 10,
        )
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            m.add_edge(a, b, distance=int(d[i, j]), duration=int(d[i, j]))
    t0 = time.perf_counter()
    res = m.solve(stop=PyvrpMaxRuntime(seconds), seed=seed, display=False)
    elapsed = time.perf_counter() - t0
    if not res.is_feasible():
        return {"distance": None, "vehicles": None, "seconds": round(elapsed, 2)}
    return {
        "distance": res.cost() / 10,
        "vehicles": res.best.num_routes(),
        "seconds": round(elapsed, 2),
    }


def _gap(dist: float | None, bks: float) -> float | None:
    return None if dist is None else round(100 * (dist - bks) / bks, 3)


def _mean(values: list[float | None]) -> float | None:
    """Mean gap; an instance without a solution counts as a 100 % gap (it must hurt)."""
    if not values:
        return None
    return round(statistics.fmean(100.0 if v is None else v for v in values), 3)


def read_bks(path: Path) -> dict[str, float]:
    """``instance -> bks_distance`` from bks.csv."""
    with path.open(newline="") as f:
        return {row["instance"]: float(row["bks_distance"]) for row in csv.DictReader(f)}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="patrolfleet bench routing",
        description="Solve Solomon VRPTW instances with the routing core (and PyVRP).",
    )
    p.add_argument("--instances", type=Path, default=DEFAULT_DIR, help="folder of *.txt")
    p.add_argument("--bks", type=Path, default=None, help="bks.csv (default: DIR/../bks.csv)")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    p.add_argument("--glob", "--instances-glob", dest="glob", default="*.txt")
    p.add_argument("--limit", type=int, default=None, help="solve only the first N instances")
    p.add_argument("--workers", type=int, default=2, help="parallel portfolio processes")
    p.add_argument(
        "--engine",
        choices=sorted(PORTFOLIOS),
        default="auto",
        help="routing core engine portfolio: auto (default engine selection) or ortools only",
    )
    p.add_argument("--no-pyvrp", action="store_true", help="skip PyVRP even if installed")
    p.add_argument("--json", action="store_true", help="print one JSON object (default)")
    p.add_argument("--progress", action="store_true", help="per-instance lines on stderr")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    """Entry point of ``patrolfleet bench routing``; returns the exit status."""
    args = parse_args(argv)
    folder: Path = args.instances
    if not folder.is_dir():
        print(f"bench routing: instance folder {folder} does not exist", file=sys.stderr)
        return 2
    files = sorted(f for f in folder.iterdir() if fnmatch.fnmatch(f.name, args.glob))
    if args.limit is not None:
        files = files[: args.limit]
    if not files:
        print(f"bench routing: no instance matches {args.glob!r} in {folder}", file=sys.stderr)
        return 2
    bks_path = args.bks or folder.parent / "bks.csv"
    if not bks_path.is_file():
        print(f"bench routing: best-known solutions {bks_path} not found", file=sys.stderr)
        return 2
    if not (args.time_limit > 0 and math.isfinite(args.time_limit)):
        print("bench routing: --time-limit must be positive", file=sys.stderr)
        return 2
    bks = read_bks(bks_path)
    workers = max(1, min(args.workers, len(PORTFOLIOS[args.engine])))
    try:
        import pyvrp  # noqa: F401

        with_pyvrp = not args.no_pyvrp
    except ImportError:
        with_pyvrp = False

    rows: list[dict[str, object]] = []
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for f in files:
            try:
                inst = read_solomon(f)
            except ValueError:
                # The folder also holds e.g. LICENSE.vroom-scripts.txt.
                print(f"bench routing: skipping {f.name}: not a Solomon instance", file=sys.stderr)
                continue
            if inst.name not in bks:
                print(f"bench routing: {inst.name} missing from {bks_path}", file=sys.stderr)
                return 2
            ref = bks[inst.name]
            ours = solve_core(f, args.time_limit, pool, workers, args.engine)
            row: dict[str, object] = {
                "instance": inst.name,
                "vehicles": ours["vehicles"],
                "distance": ours["distance"],
                "bks": ref,
                "gap_pct": _gap(ours["distance"], ref),  # type: ignore[arg-type]
                "seconds": ours["seconds"],
                "winner": ours.get("winner"),
            }
            if with_pyvrp:
                pv = solve_pyvrp(inst, args.time_limit)
                row |= {
                    "pyvrp_vehicles": pv["vehicles"],
                    "pyvrp_distance": pv["distance"],
                    "pyvrp_gap_pct": _gap(pv["distance"], ref),  # type: ignore[arg-type]
                    "pyvrp_seconds": pv["seconds"],
                }
            rows.append(row)
            if args.progress:
                print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.shutdown()

    if not rows:
        print(f"bench routing: no Solomon instance in {folder}", file=sys.stderr)
        return 2
    out: dict[str, object] = {
        "benchmark": "routing",
        "time_limit_s": args.time_limit,
        "workers": workers,
        "engine": args.engine,
        "instances": len(rows),
        "solved": sum(r["distance"] is not None for r in rows),
        "mean_gap_pct": _mean([r["gap_pct"] for r in rows]),  # type: ignore[misc]
    }
    if with_pyvrp:
        out["pyvrp_mean_gap_pct"] = _mean([r["pyvrp_gap_pct"] for r in rows])  # type: ignore[misc]
        out["pyvrp_solved"] = sum(r["pyvrp_distance"] is not None for r in rows)
        out["pyvrp_version"] = importlib.metadata.version("pyvrp")
    out["results"] = rows
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
