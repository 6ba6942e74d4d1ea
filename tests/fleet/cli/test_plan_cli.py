"""`patrolfleet plan aerial|coverage|placement`: GeoJSON out, clear errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fleet.cli import app

AERIAL = {
    "horizon_s": 3600,
    "margin_m": 30,
    "docks": [{"id": "central", "lonlat": [24.9384, 60.1699]}],
    "drones": [{"id": "d1", "dock": "central", "endurance_s": 1800, "reserve_s": 300}],
    "hot_spots": [
        {"id": "station", "lonlat": [24.9414, 60.1719], "weight": 5, "dwell_s": 600},
        {"id": "market", "lonlat": [24.9525, 60.1675], "weight": 3},
    ],
    "no_fly": [{"id": "parliament", "center": [24.9450, 60.1700], "radius_m": 150}],
}


def _run(tmp_path: Path, command: str, problem: dict | str, *extra: str):
    src = tmp_path / "problem.json"
    src.write_text(problem if isinstance(problem, str) else json.dumps(problem))
    out = tmp_path / "plan.geojson"
    result = CliRunner().invoke(app, ["plan", command, "--in", str(src), "--out", str(out), *extra])
    return result, out


def test_plan_aerial_writes_geojson_and_qgc_plans(tmp_path):
    result, out = _run(
        tmp_path, "aerial", AERIAL, "--time-limit", "0.5", "--qgc-dir", str(tmp_path / "qgc")
    )
    assert result.exit_code == 0, result.output
    gj = json.loads(out.read_text())
    assert gj["type"] == "FeatureCollection"
    assert any(f["properties"]["kind"] == "sortie" for f in gj["features"])
    plans = list((tmp_path / "qgc").glob("*.plan"))
    assert plans and json.loads(plans[0].read_text())["fileType"] == "Plan"


def test_plan_coverage_and_placement_write_geojson(tmp_path):
    result, out = _run(
        tmp_path, "coverage", {"kind": "orbit", "center": [24.94, 60.17], "radius_m": 200}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["features"][0]["geometry"]["type"] == "LineString"
    problem = {
        "num_posts": 1,
        "speed_mps": 8,
        "sites": [{"id": "a", "lonlat": [24.93, 60.165]}, {"id": "b", "lonlat": [24.95, 60.17]}],
        "demand": [{"id": "x", "lonlat": [24.951, 60.171], "weight": 2}],
    }
    result, out = _run(tmp_path, "placement", problem, "--time-limit", "0.5")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["properties"]["chosen"] == ["b"]


def test_a_malformed_problem_says_what_and_where_and_exits_2(tmp_path):
    bad = {**AERIAL, "drones": [{"id": "d1", "dock": "nowhere"}]}
    result, out = _run(tmp_path, "aerial", bad)
    assert result.exit_code == 2
    assert "unknown dock 'nowhere'" in result.output and "drones/d1/dock" in result.output
    assert not out.exists()
    result, _ = _run(tmp_path, "coverage", "{not json")
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_an_infeasible_problem_exits_3_and_names_the_constraint(tmp_path):
    inside = {**AERIAL, "no_fly": [{"id": "z", "center": [24.9384, 60.1699], "radius_m": 100}]}
    result, _ = _run(tmp_path, "aerial", inside)
    assert result.exit_code == 3
    assert "infeasible" in result.output and "docks/central" in result.output
    relief = {
        "kind": "relief",
        "transit_s": 900,
        "endurance_s": 1800,
        "reserve_s": 300,
        "recharge_s": 600,
        "station_s": 3600,
    }
    result, _ = _run(tmp_path, "coverage", relief)
    assert result.exit_code == 3 and "transit_s" in result.output
