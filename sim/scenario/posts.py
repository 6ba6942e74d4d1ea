"""Standby posts and drone docks (pure decisions, no I/O): where units wait, and who moves.

* `static_posts` - the baseline: posts at seeded random road nodes, one per unit, never
  moved.
* `plan_posts` - the optimized policy: `planners.placement.solve_placement` (CP-SAT maximal
  covering with backup) over the demand, for the 1/3/5-minute tiers, one problem per unit
  kind with that kind's own travel times.
* `post_weights` - the demand a post serves at one hour of day (posts follow the hours).
* `redeploy_kind` - `fleet.dispatch.redeploy.redeploy` (the live service's re-deployment)
  applied to one unit kind at a time, so a foot patrol is never sent to a car's post.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from fleet.dispatch.policy import DispatchPolicy, FleetSnapshot
from fleet.dispatch.redeploy import Move, Post, redeploy
from fleet.types import UnitKind
from planners.placement import Demand, PlacementProblem, PlacementResult, Site, solve_placement
from planners.stop import MaxRuntime

__all__ = ["plan_posts", "post_weights", "redeploy_kind", "static_posts"]

FloatArray = npt.NDArray[np.float64]


def static_posts(num_nodes: int, count: int, rng: np.random.Generator) -> npt.NDArray[np.intp]:
    """``count`` distinct random node indices (with repeats only if the graph is smaller)."""
    return np.asarray(rng.choice(num_nodes, size=count, replace=count > num_nodes), dtype=np.intp)


def plan_posts(
    sites_lonlat: Sequence[tuple[float, float]],
    demand_lonlat: Sequence[tuple[float, float]],
    demand_weight: Sequence[float],
    travel_s: FloatArray,
    count: int,
    *,
    tiers_s: tuple[float, float, float],
    time_limit_s: float,
    seed: int,
) -> tuple[npt.NDArray[np.intp], PlacementResult]:
    """Choose ``count`` of the candidate sites for 1/3/5-minute coverage of the demand.

    Parameters
    ----------
    travel_s : (sites, demand) seconds from call to arrival (dispatch delay included).
    count : posts to open; more than there are sites opens every site.

    Returns
    -------
    (indices, result)
        Indices of the chosen sites (problem order) and the solver's result.

    Raises
    ------
    planners.errors.MalformedProblem
        If there are no sites or no demand.
    """
    sites = tuple(Site(f"s{j}", tuple(p)) for j, p in enumerate(sites_lonlat))  # type: ignore[arg-type]
    demand = tuple(
        Demand(f"d{i}", tuple(p), float(w))  # type: ignore[arg-type]
        for i, (p, w) in enumerate(zip(demand_lonlat, demand_weight, strict=True))
    )
    problem = PlacementProblem(
        sites, demand, min(count, len(sites)), travel_s=travel_s, tiers_s=tiers_s
    )
    result = solve_placement(problem, stop=MaxRuntime(time_limit_s), seed=seed)
    index = {s.id: j for j, s in enumerate(sites)}
    return np.asarray([index[c] for c in result.chosen], dtype=np.intp), result


def post_weights(travel_s: FloatArray, demand_hourly: FloatArray, hour: int) -> FloatArray:
    """Expected calls per hour each post answers first at ``hour`` of day (plus 1 %).

    Parameters
    ----------
    travel_s : (posts, demand) seconds.
    demand_hourly : (demand, 24) expected calls per hour.

    Each demand point is credited to its fastest post; the small floor keeps every post
    worth manning when units are plentiful (the redeploy cost divides by the largest).
    """
    w = demand_hourly[:, hour % 24]
    out = np.zeros(travel_s.shape[0])
    if travel_s.size:
        np.add.at(out, np.argmin(travel_s, axis=0), w)
    return out + 0.01 * max(float(out.max(initial=0.0)), 1e-6)


def redeploy_kind(
    snap: FleetSnapshot,
    kind: UnitKind,
    posts: Sequence[Post],
    policy: DispatchPolicy,
    previous: Mapping[str, str],
) -> list[Move]:
    """`redeploy` restricted to the idle units of one kind (others marked unavailable)."""
    mask = snap.available & np.asarray([k is kind for k in snap.kinds], dtype=bool)
    if not mask.any() or not posts:
        return []
    sub = dataclasses.replace(snap, available=mask)
    return redeploy(sub, posts, policy, previous=previous)
