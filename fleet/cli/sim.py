"""`patrolfleet sim ...`: start simulated drones, ground units and scenarios."""

from __future__ import annotations

import typer

app = typer.Typer(help="Simulated drones, ground units and city scenarios.", no_args_is_help=True)
