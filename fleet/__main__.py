"""`python -m fleet` is the `patrolfleet` command."""

from fleet.cli import main

main()
