"""ETA benchmark: rank 10,000 units to a random point; p50/p99/max milliseconds.

Run ``patrolfleet bench eta [--units 10000] [--trials 500] --json``. Measures, per trial,
``ground_eta`` + ``rank(k=20)`` + ``tier_of`` for ground units, and ``drone_eta`` + tiers for
drones without zones and with 5 no-fly zones (top-20 refinement), ``--trials`` random targets
each. One JSON object out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from shapely.geometry import Point

from planners.eta import DroneFleetState, Wind, drone_eta, ground_eta, rank, tier_of
from planners.geo import Airspace


def _pct(ts: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ts, 50)) * 1e3, 3),
        "p99_ms": round(float(np.percentile(ts, 99)) * 1e3, 3),
        "max_ms": round(float(np.max(ts)) * 1e3, 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench eta")
    ap.add_argument("--units", type=int, default=10_000)
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 10_000, (args.units, 2))
    speed = rng.choice([1.5, 4.0, 8.0, 12.0], args.units)  # foot, bike, motorbike, car
    out: dict[str, object] = {"units": args.units, "trials": args.trials}

    ts = []
    for _ in range(args.trials):
        tgt = rng.uniform(0, 10_000, 2)
        t0 = time.perf_counter()
        eta = ground_eta(pos, tgt, speed_mps=speed, detour_factor=1.3, dispatch_delay_s=30.0)
        rank(eta, 20)
        tier_of(eta)
        ts.append(time.perf_counter() - t0)
    out["ground"] = _pct(ts)

    fleet = DroneFleetState(pos, 15.0, battery_s=rng.uniform(600, 2400, args.units))
    docks = [[0.0, 0.0], [5000.0, 5000.0], [10_000.0, 0.0]]
    zones = tuple(Point(rng.uniform(0, 10_000, 2)).buffer(rng.uniform(200, 800)) for _ in range(5))
    air = Airspace(zones, 50.0)
    for name, airspace in (("drone", None), ("drone_5_zones_top20", air)):
        ts = []
        for _ in range(args.trials):
            tgt = rng.uniform(0, 10_000, 2)
            t0 = time.perf_counter()
            e = drone_eta(fleet, tgt, docks_xy=docks, airspace=airspace, wind=Wind(4.0, -2.0), k=20)
            tier_of(e.eta_s)
            ts.append(time.perf_counter() - t0)
        out[name] = _pct(ts)
    json.dump(out, sys.stdout, indent=None if args.json else 1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
