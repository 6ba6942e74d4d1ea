"""Patrol operations in the city simulation: their effect measured on a scenario's world.

Uses only the scenario's public objects (`sim.scenario.World`, `Deployment`) and the live
service's own pure functions (`fleet.patrols.hotspots.derive_hotspots`,
`fleet.patrols.plans.plan_patrol`, `fleet.patrols.overwatch.plan_relief`'s planner
`planners.coverage.relief_rotation`), so what is measured here is what the service runs:

1. The first ``history_share`` of the scenario's calls is the history: hot spots are derived
   from it with the service's estimator.
2. Recall: the share of the scenario's true hot-spot weight with a derived hot spot within
   ``capture_m``. Capture: the share of the later calls within ``capture_m`` of one.
3. An aerial patrol over the derived hot spots is planned for the rest of the run, one drone
   per dock of the deployment, and each later call counts as *patrolled* when a planned
   drone visit to a hot spot within ``capture_m`` came at most one revisit interval before
   it (a drone had just been there: deterrence and a short drone-first response).
4. Overwatch: drones a relief rotation needs to hold the busiest hot spot for
   ``overwatch_s`` from the nearest dock.

Not wired into `sim.scenario`'s engine and KPI report: that module belongs to the
scenario's owner. ``patrol_effect(run.world, run.deployments["optimized"])`` gives the
block to add to ``kpi.json`` as ``"patrols"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from fleet.patrols.domain import HotSpot
from fleet.patrols.hotspots import Estimator, derive_hotspots
from fleet.patrols.plans import PlanInputs, distance_m, plan_patrol
from planners.coverage import relief_rotation
from sim.scenario import Deployment, World

__all__ = ["PatrolEffectConfig", "patrol_effect"]


@dataclass(frozen=True, slots=True)
class PatrolEffectConfig:
    """Parameters of `patrol_effect` (see the module docstring)."""

    history_share: float = 0.5
    capture_m: float = 250.0
    estimator: Estimator = field(
        default_factory=lambda: Estimator(cell_m=200.0, min_score=2.0, top=8, dwell_s=60.0)
    )
    endurance_s: float = 1800.0
    reserve_pct: float = 20.0
    cruise_speed_mps: float = 12.0
    swap_s: float = 600.0
    overwatch_s: float = 3 * 3600.0
    time_limit_s: float = 3.0


def patrol_effect(
    world: World, deployment: Deployment, config: PatrolEffectConfig | None = None
) -> dict[str, Any]:
    """KPIs of hot-spot patrols and overwatch on this world (deterministic for its seed)."""
    cfg = config or PatrolEffectConfig()
    calls = sorted(world.incidents, key=lambda i: i.t_s)
    if not calls:
        return {"calls": 0}
    split_s = calls[0].t_s + cfg.history_share * (calls[-1].t_s - calls[0].t_s)
    history = [c for c in calls if c.t_s <= split_s]
    later = [c for c in calls if c.t_s > split_s]
    derived = derive_hotspots(((c.lonlat[0], c.lonlat[1], c.hour) for c in history), cfg.estimator)
    spots_ll = [(d.lon, d.lat) for d in derived]

    def near_spot(p: tuple[float, float]) -> list[int]:
        return [k for k, s in enumerate(spots_ll) if distance_m(p, s) <= cfg.capture_m]

    truth = world.city.proj.to_lonlat(np.asarray([s.xy for s in world.spots]))
    recall = sum(
        s.weight
        for s, ll in zip(world.spots, truth, strict=True)
        if near_spot((float(ll[0]), float(ll[1])))
    ) / max(sum(s.weight for s in world.spots), 1e-9)
    captured = [bool(near_spot(c.lonlat)) for c in later]

    out: dict[str, Any] = {
        "calls_history": len(history),
        "calls_later": len(later),
        "hot_spots_derived": len(derived),
        "hot_spot_recall": round(recall, 4),
        "later_calls_at_hot_spots": round(sum(captured) / len(later), 4) if later else None,
    }
    docks_ll = [(float(p[0]), float(p[1])) for p in world.city.proj.to_lonlat(deployment.docks_xy)]
    horizon = (calls[-1].t_s - split_s) if later else 0.0
    if derived and docks_ll and horizon > 600:
        now = datetime.now(UTC)
        hot = tuple(
            HotSpot(
                id=f"d{k}",
                name=f"derived #{k}",
                geometry={"type": "Point", "coordinates": [d.lon, d.lat]},
                weight=d.weight,
                revisit_s=min(d.revisit_s, horizon),
                dwell_s=d.dwell_s,
                created_at=now,
                updated_at=now,
            )
            for k, d in enumerate(derived)
        )
        inputs = PlanInputs(
            hot_spots=hot,
            horizon_s=horizon,
            drones={f"dock{k}-drone": (p[0], p[1]) for k, p in enumerate(docks_ll)},
            ground={},
            no_fly=tuple((z.id, tuple(z.polygon)) for z in world.zones if z.polygon),
            endurance_s=cfg.endurance_s,
            reserve_s=cfg.endurance_s * cfg.reserve_pct / 100.0,
            swap_s=cfg.swap_s,
            cruise_speed_mps=cfg.cruise_speed_mps,
            time_limit_s=cfg.time_limit_s,
            allow_partial=True,
        )
        planned = plan_patrol(inputs, None)
        visits: dict[int, list[float]] = {k: [] for k in range(len(derived))}
        for cov in planned.plan["aerial"]["coverage"]:
            visits[int(cov["hot_spot_id"][1:])] = list(cov["visits_s"])
        patrolled = 0
        for c in later:
            t = c.t_s - split_s
            for k in near_spot(c.lonlat):
                rev = hot[k].revisit_s
                if any(t - rev <= v <= t for v in visits[k]):
                    patrolled += 1
                    break
        out["aerial_patrol"] = {
            "drones": len(docks_ll),
            "sorties": len(planned.sorties),
            "summary": planned.plan["aerial"]["summary"],
            "later_calls_recently_patrolled": round(patrolled / len(later), 4),
        }
        best = derived[0]
        nearest = min(distance_m(p, (best.lon, best.lat)) for p in docks_ll)
        sched = relief_rotation(
            endurance_s=cfg.endurance_s,
            reserve_s=cfg.endurance_s * cfg.reserve_pct / 100.0,
            transit_s=nearest / cfg.cruise_speed_mps + 60.0 / 3.0,
            recharge_s=cfg.swap_s,
            station_s=cfg.overwatch_s,
            handover_s=30.0,
        )
        out["overwatch"] = {
            "station": [round(best.lon, 6), round(best.lat, 6)],
            "hours": round(cfg.overwatch_s / 3600, 2),
            "drones_needed": sched.drones,
            "sorties": len(sched.shifts),
            "transit_s": round(nearest / cfg.cruise_speed_mps + 20.0, 1),
        }
    return out
