"""`patrolfleet plan ground`: GeoJSON out, clear errors with a where, exit codes 2 and 3."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fleet.cli import app

EXAMPLE = Path("docs/examples/ground-monaco.json")


def run(tmp_path: Path, data: dict, *extra: str):  # type: ignore[no-untyped-def]
    src = tmp_path / "problem.json"
    src.write_text(json.dumps(data))
    out = tmp_path / "plan.geojson"
    args = ["plan", "ground", "--in", str(src), "--out", str(out), "--time-limit", "0.5"]
    return CliRunner().invoke(app, [*args, *extra]), out


def example() -> dict:  # type: ignore[type-arg]
    data = json.loads(EXAMPLE.read_text())
    data["map"] = str(Path("../shared/data/osm/monaco.osm.gz").resolve())
    return data


def test_plan_ground_writes_a_feature_collection_of_road_lines(tmp_path: Path) -> None:
    result, out = run(tmp_path, example())
    assert result.exit_code == 0, result.output
    fc = json.loads(out.read_text())
    lines = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    assert lines and all(len(f["geometry"]["coordinates"]) >= 2 for f in lines)
    served = {s["hot_spot"] for f in lines for s in f["properties"]["stops"]}
    assert {"casino", "station"} <= served  # the mandatory ones
    assert "feasible=True" in result.output


def test_plan_ground_defaults_to_helsinki_and_accepts_osm_override(tmp_path: Path) -> None:
    data = {
        "posts": [{"id": "hq", "lonlat": [24.9414, 60.1719]}],
        "units": [{"id": "foot-1", "mode": "foot", "start_post": "hq"}],
        "hot_spots": [{"id": "senate-square", "lonlat": [24.9522, 60.1694], "dwell_s": 600}],
    }
    result, out = run(tmp_path, data)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["dropped"] == []
    monaco = example()
    del monaco["map"]
    result, _ = run(tmp_path, monaco, "--osm", "../shared/data/osm/monaco.osm.gz")
    assert result.exit_code == 0, result.output


def test_plan_ground_malformed_problem_exits_2_with_where(tmp_path: Path) -> None:
    data = example()
    data["hot_spots"][2]["window"] = ["10:00", "09:00"]
    result, out = run(tmp_path, data)
    assert result.exit_code == 2
    assert "hot_spots[2].window" in result.output
    assert not out.exists()
    data = example()
    data["map"] = "no/such/city.osm.pbf"
    result, _ = run(tmp_path, data)
    assert result.exit_code == 2 and "(at map)" in result.output


def test_plan_ground_infeasible_problem_exits_3_naming_the_hot_spot(tmp_path: Path) -> None:
    data = example()
    data["hot_spots"][0]["window"] = ["07:00", "07:05"]  # before every shift starts
    result, _ = run(tmp_path, data)
    assert result.exit_code == 3
    assert "casino" in result.output and "hot_spots[0]" in result.output
