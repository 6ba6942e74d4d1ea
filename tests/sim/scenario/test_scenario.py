"""The city simulation: determinism, the kpi.json contract, and that the shared policy decides."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

from typer.testing import CliRunner

import fleet.dispatch.policy as shared
from fleet.cli import app
from fleet.dispatch.policy import DispatchPolicy
from sim.scenario import City, Simulation, build_world, deploy_baseline, engine, run_scenario
from sim.scenario.report import PLOTS

from .conftest import small_config


def _strip_wall(kpi: dict) -> dict:
    out = json.loads(json.dumps(kpi))
    out["scenario"].pop("wall_s")
    return out


def test_same_seed_gives_the_same_kpis_and_a_different_seed_does_not(monaco: City) -> None:
    cfg = small_config()
    a = run_scenario("monaco", cfg, None, city_obj=monaco)
    b = run_scenario("monaco", cfg, None, city_obj=monaco)
    assert _strip_wall(a.kpi) == _strip_wall(b.kpi)
    assert [o.first_any_s for o in a.results["optimized"].outcomes] == [
        o.first_any_s for o in b.results["optimized"].outcomes
    ]
    c = run_scenario("monaco", dataclasses.replace(cfg, seed=8), None, city_obj=monaco)
    assert [i.t_s for i in c.world.incidents] != [i.t_s for i in a.world.incidents]


def test_both_policies_see_the_same_calls(monaco: City) -> None:
    run = run_scenario("monaco", small_config(), None, city_obj=monaco)
    calls = {
        name: [(o.incident.id, o.incident.t_s, o.incident.xy) for o in res.outcomes]
        for name, res in run.results.items()
    }
    assert calls["baseline"] == calls["optimized"]
    assert len(calls["baseline"]) == len(run.world.incidents) > 10


def test_cli_writes_kpi_json_report_and_plots(monaco_path: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "sim", "scenario", "--city", monaco_path, "--hours", "1", "--seed", "3",
            "--start-hour", "18", "--out", str(out), "--placement-s", "0.5",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    kpi = json.loads((out / "kpi.json").read_text())
    assert set(kpi) == {"scenario", "policies"}
    assert kpi["scenario"]["hours"] == 1.0 and kpi["scenario"]["seed"] == 3
    assert set(kpi["policies"]) == {"baseline", "optimized"}
    for p in kpi["policies"].values():
        assert isinstance(p["incidents"], int) and p["incidents"] > 0
        for key in ("compliance_1min", "compliance_3min", "compliance_5min", "drone_first_share"):
            assert 0.0 <= p[key] <= 1.0, key
        assert p["compliance_1min"] <= p["compliance_3min"] <= p["compliance_5min"]
        assert p["ground_compliance_3min"] <= p["compliance_3min"]
        assert 0 < p["p50_response_s"] <= p["p95_response_s"]
        assert len(p["hourly"]) == 1
    assert kpi["policies"]["baseline"]["drone_first_share"] == 0.0
    html = (out / "report.html").read_text()
    assert "Map data © OpenStreetMap contributors" in html
    for name in PLOTS:
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert base64.b64encode(png).decode()[:200] in html  # embedded: the page stands alone


def test_cli_names_a_missing_city_file(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["sim", "scenario", "--city", str(tmp_path / "nowhere.osm"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "nowhere.osm" in res.output


def test_the_simulation_calls_the_shared_policy_functions() -> None:
    assert engine.recommend is shared.recommend
    assert engine.plan_response is shared.plan_response
    assert engine.next_best is shared.next_best


def test_the_policy_object_passed_in_decides_the_outcome(monaco: City) -> None:
    world = build_world(monaco, small_config())
    base = deploy_baseline(world)
    drone_first = dataclasses.replace(base, policy=DispatchPolicy(), name="drone-first")
    no_drone = dataclasses.replace(
        base, policy=dataclasses.replace(DispatchPolicy(), drone_first=False), name="no-drone"
    )
    refer_all = dataclasses.replace(
        base,
        policy=dataclasses.replace(
            DispatchPolicy(), referral_categories=frozenset(i.category for i in world.incidents)
        ),
        name="refer-all",
    )
    r1 = Simulation(world, drone_first).run()
    r2 = Simulation(world, no_drone).run()
    r3 = Simulation(world, refer_all).run()
    assert any(o.first_kind == "drone" for o in r1.outcomes)
    assert r1.legs
    assert not r2.legs and all(o.first_kind != "drone" for o in r2.outcomes)
    assert all(o.referred for o in r3.outcomes) and not r3.legs
    # Multi-point response sends more units per call than the baseline's nearest unit.
    r0 = Simulation(world, base).run()
    assert max(o.assigned for o in r0.outcomes) == 1
    assert max(o.assigned for o in r2.outcomes) > 1
