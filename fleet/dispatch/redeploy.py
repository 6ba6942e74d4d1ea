"""Dynamic re-deployment (pure): when units are pulled to an incident or come back, move the
idle ones so the standby posts that matter most stay manned.

A min-cost assignment (scipy's Hungarian solver) of idle units to posts, posts weighted by
the demand they cover, travel cost by each unit's own ETA model; a unit already at a post
keeps it unless another post needs it much more. Warm start: the previous assignment is a
tie-breaker, so units are not shuffled for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from fleet.dispatch.policy import DispatchPolicy, FleetSnapshot


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    lon: float
    lat: float
    weight: float  # demand the post covers (higher: manned first)


@dataclass(frozen=True, slots=True)
class Move:
    unit_id: str
    post_id: str
    eta_s: float


def redeploy(
    snap: FleetSnapshot,
    posts: Sequence[Post],
    policy: DispatchPolicy,
    *,
    previous: Mapping[str, str] | None = None,
    ground_only: bool = True,
) -> list[Move]:
    """Which idle unit goes to which post (one unit per post), most important posts first.

    Returns only the moves of units that change post (or had none).
    """
    idle = np.flatnonzero(snap.available & (~snap.is_drone if ground_only else True))
    if idle.size == 0 or not posts:
        return []
    pxy = snap.proj.to_xy([(p.lon, p.lat) for p in posts])
    d = np.hypot(snap.xy[idle, None, 0] - pxy[None, :, 0], snap.xy[idle, None, 1] - pxy[None, :, 1])
    eta = d * policy.road_detour_factor / snap.speed_mps[idle, None] + snap.delay_s[idle, None]
    weight = np.array([p.weight for p in posts], dtype=np.float64)
    # Cost: travel time, minus a large reward for manning heavy posts (so they are filled
    # first when units are short), minus a small bonus for staying put (warm start).
    cost = eta - 10_000.0 * weight[None, :] / max(weight.max(), 1e-9)
    if previous:
        post_index = {p.id: j for j, p in enumerate(posts)}
        for row, i in enumerate(idle):
            j = post_index.get(previous.get(snap.unit_ids[i], ""))
            if j is not None:
                cost[row, j] -= 60.0
    rows, cols = linear_sum_assignment(cost)
    moves = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        uid = snap.unit_ids[idle[r]]
        if previous and previous.get(uid) == posts[c].id:
            continue
        moves.append(Move(uid, posts[c].id, float(eta[r, c])))
    return moves
