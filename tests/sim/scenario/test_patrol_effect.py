"""Patrol operations in the city simulation: hot spots derived from the first half of the
calls find the scenario's true hot spots, and a drone patrol over them is measurable."""

from __future__ import annotations

from sim.patrol_effect import PatrolEffectConfig, patrol_effect
from sim.scenario import City, build_world, deploy_optimized

from .conftest import small_config


def test_derived_hot_spots_find_the_true_ones_and_the_patrol_effect_is_measured(
    monaco: City,
) -> None:
    world = build_world(monaco, small_config())
    kpi = patrol_effect(world, deploy_optimized(world), PatrolEffectConfig(time_limit_s=1.0))
    assert kpi["hot_spots_derived"] >= 1
    assert kpi["hot_spot_recall"] > 0.3, kpi
    patrol = kpi["aerial_patrol"]
    assert patrol["sorties"] >= 1
    # a call counts as patrolled only at a hot spot
    assert 0 < patrol["later_calls_recently_patrolled"] <= kpi["later_calls_at_hot_spots"]
    assert kpi["overwatch"]["drones_needed"] >= 1
