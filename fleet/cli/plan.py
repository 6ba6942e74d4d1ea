"""`patrolfleet plan ...`: run a planner on a problem file and write the plan as GeoJSON."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Plan aerial/ground patrols, coverage and placement from a problem file.",
    no_args_is_help=True,
)
