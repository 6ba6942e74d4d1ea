"""The `patrolfleet` command line: one typer app, sub-commands per concern."""

from __future__ import annotations

import importlib

import typer

from fleet.cli import plan as _plan
from fleet.cli import sim as _sim

app = typer.Typer(
    name="patrolfleet",
    help="Coordinator for city policing fleets: police drones and ground patrol units.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(_plan.app, name="plan")
app.add_typer(_sim.app, name="sim")

BENCHES = ("ingest", "routing", "drones", "dispatch", "api")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    help=f"Run a benchmark from bench/ ({', '.join(BENCHES)}); prints one JSON object with --json.",
)
def bench(ctx: typer.Context, name: str = typer.Argument(..., help="benchmark name")) -> None:
    if name not in BENCHES:
        raise typer.BadParameter(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHES)}")
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        raise typer.BadParameter(f"benchmark {name!r} is not available: {exc}") from exc
    raise typer.Exit(module.main(list(ctx.args)) or 0)


def main() -> None:
    """Console-script entry point."""
    app()
