"""Run both policies on one world and write ``kpi.json``, the plots and ``report.html``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sim.scenario.city import City
from sim.scenario.config import ScenarioConfig
from sim.scenario.engine import SimResult, Simulation
from sim.scenario.kpi import policy_kpis
from sim.scenario.world import Deployment, World, build_world, deploy_baseline, deploy_optimized

__all__ = ["ScenarioRun", "run_policies", "run_scenario", "scenario_summary"]

log = logging.getLogger(__name__)

#: progress(policy name, simulated seconds, seconds to simulate)
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    """A finished scenario: the world, each policy's deployment and result, the KPIs."""

    world: World
    deployments: dict[str, Deployment]
    results: dict[str, SimResult]
    kpi: dict[str, Any]


def scenario_summary(world: World, city_label: str, wall_s: float) -> dict[str, Any]:
    """The ``scenario`` object of ``kpi.json``."""
    cfg = world.config
    return {
        "city": city_label,
        "osm_file": world.city.source,
        "hours": cfg.hours,
        "seed": cfg.seed,
        "start_hour": cfg.start_hour,
        "area_km2": round(world.city.area_km2, 3),
        "road_nodes": {m.value: g.graph.num_nodes for m, g in world.city.modes.items()},
        "hot_spots": len(world.spots),
        "calls": len(world.incidents),
        "expected_calls_per_day": round(cfg.per_day(world.city.area_km2), 1),
        "background_share": cfg.background_share,
        "fleet": {
            "ground": {k.value: n for k, n in world.fleet.ground.items()},
            "shifts": {k.value: [asdict(s) for s in v] for k, v in world.fleet.shifts.items()},
            "drones": world.fleet.drones,
            "docks": world.fleet.docks,
        },
        "drone": asdict(cfg.drone),
        "no_fly_zones": [
            {"id": z.id, "polygon": [list(p) for p in z.polygon]} for z in world.zones
        ],
        "no_fly_margin_m": cfg.no_fly_margin_m,
        "wall_s": round(wall_s, 1),
    }


def run_policies(
    world: World,
    deployments: dict[str, Deployment],
    progress: Progress | None = None,
) -> dict[str, SimResult]:
    """Simulate each deployment on the same world (same calls, same seed)."""
    results = {}
    total = world.config.hours * 3600.0
    for name, dep in deployments.items():
        sim = Simulation(world, dep)
        cb = (lambda t, n=name: progress(n, min(t, total), total)) if progress else None
        results[name] = sim.run(cb)
        if progress:
            progress(name, total, total)
    return results


def run_scenario(
    city: str,
    config: ScenarioConfig,
    out_dir: Path | None,
    *,
    progress: Progress | None = None,
    city_obj: City | None = None,
    report: bool = True,
) -> ScenarioRun:
    """Load the city, build the world, run baseline and optimized, write the outputs.

    Parameters
    ----------
    city : ``helsinki`` or an OSM file path (the label in ``kpi.json``).
    out_dir : where ``kpi.json``, the PNGs and ``report.html`` go (None: write nothing).
    city_obj : an already loaded `City` for ``city`` (tests reuse one).
    report : also write the plots and the HTML report.

    Raises
    ------
    FileNotFoundError
        If the city file does not exist.
    """
    t0 = time.perf_counter()
    c = city_obj or City.load(city)
    world = build_world(c, config)
    log.info(
        "sim.scenario.world city=%s area_km2=%.2f calls=%d placing posts and docks (CP-SAT)",
        city,
        c.area_km2,
        len(world.incidents),
    )
    deployments = {"baseline": deploy_baseline(world), "optimized": deploy_optimized(world)}
    results = run_policies(world, deployments, progress)
    kpi: dict[str, Any] = {
        "scenario": {},
        "policies": {
            name: policy_kpis(res, deployments[name].policy, start_hour=config.start_hour)
            for name, res in results.items()
        },
    }
    kpi["policies"]["optimized"]["placement_coverage"] = {
        k: [round(v, 4) for v in cov] for k, cov in deployments["optimized"].coverage.items()
    }
    kpi["scenario"] = scenario_summary(world, city, time.perf_counter() - t0)
    run = ScenarioRun(world, deployments, results, kpi)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        if report:
            from sim.scenario.report import write_report

            write_report(run, out_dir)
        kpi["scenario"]["wall_s"] = round(time.perf_counter() - t0, 1)
        (out_dir / "kpi.json").write_text(json.dumps(kpi, indent=2) + "\n")
    log.info("sim.scenario.done city=%s wall_s=%.1f", city, kpi["scenario"]["wall_s"])
    return run
