"""Fixtures for the city simulation: the Monaco extract, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import City, ScenarioConfig

MONACO = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "osm" / "monaco.osm.gz"


@pytest.fixture(scope="session")
def monaco_path() -> str:
    """Path of the Monaco OSM extract shipped with the shared test data."""
    assert MONACO.is_file(), f"missing test extract {MONACO}"
    return str(MONACO)


@pytest.fixture(scope="session")
def monaco(monaco_path: str) -> City:
    """Monaco's road graphs (every mode), read once: loading is the slow part."""
    return City.load(monaco_path)


def small_config(**overrides: object) -> ScenarioConfig:
    """A short, busy scenario with a small placement problem (seconds, not minutes)."""
    base: dict[str, object] = {
        "hours": 2.0,
        "seed": 7,
        "start_hour": 17,
        "incidents_per_km2_day": 120.0,
        "placement_time_s": 1.0,
        "demand_samples": 120,
        "candidate_sites": 30,
        "drain_h": 2.0,
    }
    base.update(overrides)
    return ScenarioConfig(**base)  # type: ignore[arg-type]
