"""Dispatch benchmark: recommendations for an incident with N units online, and re-planning
of standby posts after units are pulled away. Prints one JSON object.

    patrolfleet bench dispatch --units 10000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from fleet.dispatch.policy import DispatchPolicy, FleetSnapshot, plan_response, recommend
from fleet.dispatch.redeploy import Post, redeploy
from fleet.types import UnitKind
from planners.geo import Airspace, NoFlyZone, Projection

CENTRE = (24.9384, 60.1699)  # central Helsinki
KINDS = (
    UnitKind.CAR,
    UnitKind.FOOT,
    UnitKind.TEAM,
    UnitKind.BICYCLE,
    UnitKind.MOTORBIKE,
    UnitKind.DRONE,
)


def _snapshot(n: int, rng: np.random.Generator, proj: Projection) -> FleetSnapshot:
    rows = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        drone = kind is UnitKind.DRONE
        rows.append(
            (
                f"u{i:05d}",
                kind,
                CENTRE[0] + rng.normal(0, 0.04),
                CENTRE[1] + rng.normal(0, 0.02),
                bool(rng.random() > 0.1),
                float(rng.uniform(30, 100)) if drone else float("nan"),
                0.0,
            )
        )
    docks = [(CENTRE[0] + dx, CENTRE[1] + dy) for dx in (-0.03, 0, 0.03) for dy in (-0.01, 0.01)]
    return FleetSnapshot.build(proj, rows, docks)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="patrolfleet bench dispatch", description=__doc__)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    proj = Projection.centred_on([CENTRE])
    t0 = time.perf_counter()
    snap = _snapshot(args.units, rng, proj)
    snapshot_ms = 1000 * (time.perf_counter() - t0)
    zone = NoFlyZone(id="zone", center=(CENTRE[0] + 0.01, CENTRE[1]), radius_m=400)
    airspace = Airspace.from_lonlat(proj, [zone], margin_m=20)
    policy = DispatchPolicy()
    points = [
        (CENTRE[0] + rng.normal(0, 0.03), CENTRE[1] + rng.normal(0, 0.015))
        for _ in range(args.incidents)
    ]
    rec_ms, plan_ms = [], []
    for p in points:
        t = time.perf_counter()
        recs = recommend(snap, p, policy, airspace=airspace, limit=20)
        rec_ms.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        plan_response(recs, category="fight", priority=1, policy=policy)
        plan_ms.append(1000 * (time.perf_counter() - t))
    posts = [
        Post(
            f"p{i}",
            CENTRE[0] + rng.normal(0, 0.03),
            CENTRE[1] + rng.normal(0, 0.015),
            float(rng.uniform(1, 10)),
        )
        for i in range(args.posts)
    ]
    previous: dict[str, str] = {}
    replan_ms = []
    for _ in range(50):
        # Pull 20 units away (they go busy), then re-plan the posts with the rest.
        pulled = rng.choice(args.units, 20, replace=False)
        snap.available[pulled] = False
        t = time.perf_counter()
        moves = redeploy(snap, posts, policy, previous=previous)
        replan_ms.append(1000 * (time.perf_counter() - t))
        previous.update({m.unit_id: m.post_id for m in moves})
    out = {
        "benchmark": "dispatch",
        "units": args.units,
        "incidents": args.incidents,
        "snapshot_build_ms": round(snapshot_ms, 1),
        "rec_p50_ms": round(float(np.percentile(rec_ms, 50)), 3),
        "rec_p99_ms": round(float(np.percentile(rec_ms, 99)), 3),
        "plan_p99_ms": round(float(np.percentile(plan_ms, 99)), 3),
        "replan_posts": args.posts,
        "replan_p50_ms": round(float(np.percentile(replan_ms, 50)), 3),
        "replan_p99_ms": round(float(np.percentile(replan_ms, 99)), 3),
    }
    sys.stdout.write(json.dumps(out) + "\n")
    return 0
