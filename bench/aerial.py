"""Aerial planner benchmark: 20 drones, 300 hot spots, 5 no-fly zones, seconds to a plan.

Run ``patrolfleet bench aerial [--time-limit 8] [--repeat 3] [--engine auto|ortools|pyvrp]
--json``. The instance is fixed by ``--seed``: 5 docks, 4 circular zones and 1 polygon zone
over a ~10 x 10 km area of Helsinki, hot spots with weights 1-9, 2 h revisits and 0/10/15
min dwell. Prints one JSON object: wall seconds per run (geometry + routing), sorties,
covered weight share and whether every sortie stays within endurance minus reserve.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from planners.aerial import AerialProblem, Dock, Drone, HotSpot, plan_aerial
from planners.geo import NoFlyZone
from planners.routing import RoutingParams
from planners.stop import MaxRuntime


def make_problem(
    drones: int = 20, hot_spots: int = 300, zones: int = 5, seed: int = 0
) -> AerialProblem:
    """The fixed benchmark instance."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = 24.94, 60.17

    def ll() -> tuple[float, float]:
        return (lon0 + rng.uniform(-0.09, 0.09), lat0 + rng.uniform(-0.045, 0.045))

    docks = tuple(Dock(f"dock{k}", ll()) for k in range(5))
    nfz = [
        NoFlyZone(f"z{k}", center=ll(), radius_m=float(rng.uniform(200, 600)))
        for k in range(zones - 1)
    ]
    c = ll()
    nfz.append(
        NoFlyZone(
            "zpoly",
            polygon=(
                (c[0], c[1]),
                (c[0] + 0.01, c[1]),
                (c[0] + 0.01, c[1] + 0.006),
                (c[0], c[1] + 0.004),
            ),
        )
    )
    fleet = tuple(
        Drone(
            f"d{k}",
            f"dock{k % 5}",
            endurance_s=2400,
            reserve_s=300,
            swap_s=600,
            cruise_speed_mps=14,
        )
        for k in range(drones)
    )
    spots = tuple(
        HotSpot(
            f"h{k}",
            ll(),
            weight=float(rng.integers(1, 10)),
            revisit_s=7200,
            dwell_s=float(rng.choice([0, 0, 600, 900])),
        )
        for k in range(hot_spots)
    )
    return AerialProblem(docks, fleet, spots, horizon_s=7200, no_fly=tuple(nfz), margin_m=50)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench aerial")
    ap.add_argument("--time-limit", type=float, default=8.0, help="routing search seconds")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--engine", choices=("auto", "ortools", "pyvrp"), default="auto", help="routing engine"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    params = RoutingParams(engine=args.engine)
    problem = make_problem(seed=args.seed)
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        plan = plan_aerial(problem, stop=MaxRuntime(args.time_limit), params=params)
        wall = time.perf_counter() - t0
        runs.append(
            {
                "wall_s": round(wall, 3),
                "sorties": len(plan.sorties),
                "drones_flying": len({s.drone_id for s in plan.sorties}),
                "covered_share": round(plan.covered_weight / plan.total_weight, 4),
                "unreachable": len(plan.unreachable),
                "max_flight_s": round(max((s.flight_s for s in plan.sorties), default=0), 1),
                "feasible": plan.is_feasible(),
            }
        )
    out = {
        "drones": len(problem.drones),
        "hot_spots": len(problem.hot_spots),
        "no_fly_zones": len(problem.no_fly),
        "time_limit_s": args.time_limit,
        "engine": args.engine,
        "max_wall_s": max(r["wall_s"] for r in runs),
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "runs": runs,
    }
    json.dump(out, sys.stdout, indent=None if args.json else 1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
