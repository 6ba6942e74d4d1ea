"""Hot spots from incident history: a simple, documented estimator (pure, no I/O).

Estimator
---------
1. Keep the incidents whose local hour of day lies in ``[from_hour, to_hour)`` (a window may
   wrap midnight), over the history handed in (the caller picks the period, e.g. 28 days).
2. Put them on a square grid of ``cell_m`` metres (an equirectangular projection around
   their mean, exact enough for a city).
3. Score each cell with a 3 x 3 kernel: the cell's own count plus half of each neighbour's
   count, so an incident on a cell border still counts for the place it belongs to.
4. Cells scoring at least ``min_score`` (the floor: a single incident is not a pattern)
   are ranked, and the ``top`` best become hot spots at the mean position of their own
   incidents (cells without own incidents are skipped: the kernel only ranks places that had
   some).
5. ``weight`` is the score over the best score (1.0 for the top cell); the revisit target
   scales inversely with the weight between ``revisit_min_s`` (top cell) and
   ``revisit_max_s``, so tomorrow's plan returns more often where more happened.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DerivedHotSpot", "Estimator", "derive_hotspots"]

_M_PER_DEG = 111_320.0


@dataclass(frozen=True, slots=True)
class Estimator:
    """Parameters of `derive_hotspots` (see the module docstring)."""

    from_hour: int = 0
    to_hour: int = 24
    cell_m: float = 250.0
    min_score: float = 2.0
    top: int = 10
    revisit_min_s: float = 1800.0
    revisit_max_s: float = 7200.0
    dwell_s: float = 60.0

    def __post_init__(self) -> None:
        if not (0 <= self.from_hour <= 23 and 1 <= self.to_hour <= 24):
            raise ValueError("hours must be within 0..24")
        if self.cell_m <= 0 or self.top < 1 or self.min_score < 0:
            raise ValueError("cell_m > 0, top >= 1, min_score >= 0")
        if not 0 < self.revisit_min_s <= self.revisit_max_s:
            raise ValueError("need 0 < revisit_min_s <= revisit_max_s")

    def in_window(self, hour: int) -> bool:
        lo, hi = self.from_hour, self.to_hour
        return (lo <= hour < hi) if lo < hi else (hour >= lo or hour < hi)


@dataclass(frozen=True, slots=True)
class DerivedHotSpot:
    """A derived hot spot: position, weight in (0, 1], revisit target, supporting incidents."""

    lon: float
    lat: float
    weight: float
    revisit_s: float
    dwell_s: float
    score: float
    incidents: int
    cell: tuple[int, int]


def derive_hotspots(
    incidents: Iterable[tuple[float, float, int]], estimator: Estimator
) -> list[DerivedHotSpot]:
    """Hot spots from ``(lon, lat, local_hour)`` incident records, best first.

    Returns
    -------
    list[DerivedHotSpot]
        At most ``estimator.top``; empty when nothing reaches the floor.
    """
    pts = [(lon, lat) for lon, lat, hour in incidents if estimator.in_window(hour)]
    if not pts:
        return []
    lat0 = sum(p[1] for p in pts) / len(pts)
    lon0 = sum(p[0] for p in pts) / len(pts)
    kx = _M_PER_DEG * math.cos(math.radians(lat0))
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for lon, lat in pts:
        key = (
            math.floor((lon - lon0) * kx / estimator.cell_m),
            math.floor((lat - lat0) * _M_PER_DEG / estimator.cell_m),
        )
        cells.setdefault(key, []).append((lon, lat))
    scored: list[tuple[float, tuple[int, int]]] = []
    for (i, j), own in cells.items():
        score = float(len(own))
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    score += 0.5 * len(cells.get((i + di, j + dj), ()))
        if score >= estimator.min_score:
            scored.append((score, (i, j)))
    # Ties broken by cell index, so the same history always gives the same hot spots.
    scored.sort(key=lambda x: (-x[0], x[1]))
    if not scored:
        return []
    best = scored[0][0]
    out = []
    for score, key in scored[: estimator.top]:
        own = cells[key]
        weight = score / best
        revisit = estimator.revisit_max_s - weight * (
            estimator.revisit_max_s - estimator.revisit_min_s
        )
        out.append(
            DerivedHotSpot(
                lon=sum(p[0] for p in own) / len(own),
                lat=sum(p[1] for p in own) / len(own),
                weight=round(weight, 4),
                revisit_s=round(revisit, 1),
                dwell_s=estimator.dwell_s,
                score=score,
                incidents=len(own),
                cell=key,
            )
        )
    return out
