"""City simulation: a discrete-event day of calls, drones and ground units under two policies.

`run_scenario` builds a `World` from an OSM extract and a seed, runs the baseline and the
optimized dispatch policy on the same calls (both through `fleet.dispatch.policy`, the live
service's own functions), and writes ``kpi.json``, PNG plots and ``report.html``.
"""

from sim.scenario.city import City
from sim.scenario.config import DroneSpec, FleetSpec, ScenarioConfig, Shift
from sim.scenario.engine import DroneLeg, IncidentOutcome, SimResult, Simulation
from sim.scenario.run import ScenarioRun, run_policies, run_scenario
from sim.scenario.world import Deployment, World, build_world, deploy_baseline, deploy_optimized

__all__ = [
    "City",
    "Deployment",
    "DroneLeg",
    "DroneSpec",
    "FleetSpec",
    "IncidentOutcome",
    "ScenarioConfig",
    "ScenarioRun",
    "Shift",
    "SimResult",
    "Simulation",
    "World",
    "build_world",
    "deploy_baseline",
    "deploy_optimized",
    "run_policies",
    "run_scenario",
]
