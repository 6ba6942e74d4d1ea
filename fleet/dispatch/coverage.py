"""Live 1-3-5 coverage: the share of demand each tier reaches from where the units are now.

Pure: a snapshot and demand points in, shares and a grid out. Demand is the incident history
(each incident a point, weighted by recency-free count); with no history, a uniform grid over
the units' area stands in, so the map still shows where the fleet is thin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleet.dispatch.policy import DispatchPolicy, FleetSnapshot

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Coverage:
    shares: dict[int, float]  # tier (1, 3, 5) -> share of demand weight reached in time
    cells: list[dict[str, object]]  # GeoJSON Features: cell polygon + best ETA + tier + weight
    demand_weight: float


def best_eta_s(snap: FleetSnapshot, points_xy: FloatArray, policy: DispatchPolicy) -> FloatArray:
    """Fastest available unit's ETA to each point (straight line for drones, road detour
    factor for ground units; battery and no-fly are the recommendation's job)."""
    avail = snap.available
    best = np.full(len(points_xy), math.inf)
    if not avail.any() or len(points_xy) == 0:
        return best
    xy = snap.xy[avail]
    drone = snap.is_drone[avail]
    speed = np.where(
        drone, policy.drone_cruise_speed_mps, snap.speed_mps[avail] / policy.road_detour_factor
    )
    delay = np.where(
        drone, policy.drone_launch_delay_s + policy.drone_cruise_alt_m / 3.0, snap.delay_s[avail]
    )
    # Chunk over points so 10,000 units x 1,000 cells stays a few MB at a time.
    for start in range(0, len(points_xy), 256):
        p = points_xy[start : start + 256]
        d = np.hypot(p[:, None, 0] - xy[None, :, 0], p[:, None, 1] - xy[None, :, 1])
        best[start : start + 256] = (d / speed[None, :] + delay[None, :]).min(axis=1)
    return best


def coverage(
    snap: FleetSnapshot,
    policy: DispatchPolicy,
    *,
    demand_lonlat: Sequence[tuple[float, float]] = (),
    cell_m: float = 500.0,
    max_cells: int = 2500,
) -> Coverage:
    """Shares per tier and a grid of cells over the demand (or the fleet's) extent."""
    if demand_lonlat:
        dxy = snap.proj.to_xy(list(demand_lonlat))
    elif len(snap.xy):
        dxy = snap.xy
    else:
        return Coverage({1: 0.0, 3: 0.0, 5: 0.0}, [], 0.0)
    lo, hi = dxy.min(axis=0) - cell_m, dxy.max(axis=0) + cell_m
    size = max(cell_m, math.sqrt((hi - lo).prod() / max_cells))
    nx, ny = (np.ceil((hi - lo) / size).astype(int)).tolist()
    ix = np.clip(((dxy - lo) / size).astype(int), 0, [nx - 1, ny - 1])
    weight = np.zeros((nx, ny))
    if demand_lonlat:
        np.add.at(weight, (ix[:, 0], ix[:, 1]), 1.0)
    else:
        weight[:] = 1.0
    cx, cy = np.meshgrid(
        lo[0] + (np.arange(nx) + 0.5) * size, lo[1] + (np.arange(ny) + 0.5) * size, indexing="ij"
    )
    centres = np.column_stack([cx.ravel(), cy.ravel()])
    w = weight.ravel()
    keep = w > 0
    eta = np.full(len(w), math.inf)
    eta[keep] = best_eta_s(snap, centres[keep], policy)
    total = float(w.sum())
    shares = {
        tier: float(w[eta <= bound].sum() / total) if total else 0.0
        for tier, bound in zip((1, 3, 5), policy.tiers_s, strict=True)
    }
    cells = []
    half = size / 2
    for k in np.flatnonzero(keep):
        x, y = centres[k]
        ring = snap.proj.to_lonlat(
            np.array(
                [
                    [x - half, y - half],
                    [x + half, y - half],
                    [x + half, y + half],
                    [x - half, y + half],
                    [x - half, y - half],
                ]
            )
        )
        e = float(eta[k])
        tier = next((t for t, b in zip((1, 3, 5), policy.tiers_s, strict=True) if e <= b), 0)
        cells.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring.round(6).tolist()]},
                "properties": {
                    "eta_s": round(e, 1) if math.isfinite(e) else None,
                    "tier": tier,
                    "weight": float(w[k]),
                },
            }
        )
    return Coverage(shares, cells, total)
