"""Benchmarks, run by `patrolfleet bench NAME --json`; each module has `main(argv) -> int`."""
