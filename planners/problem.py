"""Routing problem vocabulary: locations, vehicles, visits and the integer matrices between them.

Every number the routing core sees is an **integer** in the problem's own units, because
OR-Tools' routing solver works on int64 only. Two unit systems are used:

- *time units* for ``durations``, service times, time windows, shifts and
  ``max_duration``. Planners in this package use whole seconds; the Solomon benchmark
  uses tenths of a distance unit (time equals distance there).
- *cost units* for ``distances`` (arc costs), ``fixed_cost`` and drop penalties. When
  ``distances`` is omitted the arc cost is the travel time.

Turn real-valued matrices into integers with `scale_matrix` (explicit factor and rounding
mode) at the boundary, never inside a solver: a rounding choice changes the optimum (the
Solomon convention truncates to tenths, for example).

Validation raises `planners.errors.MalformedProblem` with a ``where`` path such as
``"visits[3].window"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from planners.errors import MalformedProblem

__all__ = [
    "INT_LIMIT",
    "RoutingProblem",
    "TimeWindow",
    "Vehicle",
    "Visit",
    "scale_matrix",
]

#: Largest magnitude allowed for any matrix entry, time or penalty. OR-Tools sums these in
#: int64; keeping each term below 2**40 leaves room for sums over thousands of arcs.
INT_LIMIT = 2**40


def scale_matrix(
    values: npt.ArrayLike,
    factor: float,
    *,
    rounding: Literal["round", "floor", "ceil"] = "round",
) -> npt.NDArray[np.int64]:
    """Scale a real-valued matrix to integers: ``rounding(values * factor)``.

    Parameters
    ----------
    values : array of non-negative reals (seconds, metres, ...).
    factor : units per input unit, e.g. 10 for tenths or 1 for whole seconds.
    rounding : ``"round"`` (nearest), ``"floor"`` (Solomon's truncation) or ``"ceil"``
        (a safe upper bound on travel times, so a planned arrival is never early).

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    MalformedProblem
        For non-finite, negative or too large values.
    """
    arr = np.asarray(values, dtype=np.float64) * float(factor)
    if not np.all(np.isfinite(arr)):
        raise MalformedProblem("matrix contains non-finite values", where="matrix")
    if np.any(arr < 0):
        raise MalformedProblem("matrix contains negative values", where="matrix")
    fn = {"round": np.rint, "floor": np.floor, "ceil": np.ceil}[rounding]
    # floor(10 * d) must see 10 * d computed exactly as in the Solomon convention; a tiny
    # epsilon guards 4.2 * 10 == 41.99999 style artefacts.
    out = fn(arr + 1e-9) if rounding == "floor" else fn(arr)
    if np.any(out > INT_LIMIT):
        raise MalformedProblem(f"matrix values exceed {INT_LIMIT} after scaling", where="matrix")
    return out.astype(np.int64)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval ``[earliest, latest]`` in time units."""

    earliest: int
    latest: int

    def __post_init__(self) -> None:
        if not (
            isinstance(self.earliest, int | np.integer)
            and isinstance(self.latest, int | np.integer)
        ):
            raise MalformedProblem("time window bounds must be integers", where="window")
        if self.earliest < 0 or self.latest < self.earliest:
            raise MalformedProblem(
                f"time window must satisfy 0 <= earliest <= latest, got "
                f"[{self.earliest}, {self.latest}]",
                where="window",
            )
        if self.latest > INT_LIMIT:
            raise MalformedProblem("time window bound too large", where="window.latest")

    def contains(self, t: int) -> bool:
        """Whether ``t`` lies in the window."""
        return self.earliest <= t <= self.latest


@dataclass(frozen=True, slots=True)
class Visit:
    """A place a vehicle should (or may) go to.

    Parameters
    ----------
    id : unique name, reported in plans and in dropped lists.
    location : row/column of the problem's matrices.
    service : time units spent at the visit (dwell), starting inside ``window``.
    window : when service may *start*; ``None`` means any time.
    demand : load taken from the vehicle's capacity.
    skills : every one of these must be in the serving vehicle's skills.
    priority : >= 1; multiplies ``penalty`` (a priority-3 visit costs three times as much
        to drop as a priority-1 visit with the same penalty).
    penalty : ``None`` makes the visit mandatory; an integer makes it optional, dropping it
        costs ``penalty * priority`` cost units (prize-collecting).
    """

    id: str
    location: int
    service: int = 0
    window: TimeWindow | None = None
    demand: int = 0
    skills: frozenset[str] = field(default_factory=frozenset)
    priority: int = 1
    penalty: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise MalformedProblem("visit id must be a non-empty string", where="id")
        if self.location < 0:
            raise MalformedProblem("location must be >= 0", where="location")
        if self.service < 0 or self.service > INT_LIMIT:
            raise MalformedProblem("service must be in [0, 2**40]", where="service")
        if self.demand < 0:
            raise MalformedProblem("demand must be >= 0", where="demand")
        if self.priority < 1:
            raise MalformedProblem("priority must be >= 1", where="priority")
        if self.penalty is not None and (self.penalty < 0 or self.penalty > INT_LIMIT):
            raise MalformedProblem("penalty must be in [0, 2**40] or None", where="penalty")
        if not isinstance(self.skills, frozenset):
            object.__setattr__(self, "skills", frozenset(self.skills))

    @property
    def optional(self) -> bool:
        """Whether the plan may drop this visit."""
        return self.penalty is not None

    def drop_cost(self) -> int | None:
        """Cost of dropping the visit, or ``None`` if it is mandatory."""
        return None if self.penalty is None else self.penalty * self.priority


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A drone or ground unit with its depots, shift and limits.

    Parameters
    ----------
    id : unique name.
    start, end : locations of the start and end depots (may differ; several depots ok).
    capacity : maximum load, ``None`` for unlimited.
    skills : what the vehicle can do (see `Visit.skills`).
    shift : when the vehicle may leave ``start`` and must be back at ``end``.
    max_duration : endurance: longest time from leaving ``start`` to reaching ``end``.
    fixed_cost : cost units paid if the vehicle is used at all.
    profile : index of the duration (and distance) matrix this vehicle travels with.
    """

    id: str
    start: int
    end: int
    capacity: int | None = None
    skills: frozenset[str] = field(default_factory=frozenset)
    shift: TimeWindow | None = None
    max_duration: int | None = None
    fixed_cost: int = 0
    profile: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise MalformedProblem("vehicle id must be a non-empty string", where="id")
        if self.start < 0:
            raise MalformedProblem("start must be >= 0", where="start")
        if self.end < 0:
            raise MalformedProblem("end must be >= 0", where="end")
        if self.capacity is not None and self.capacity < 0:
            raise MalformedProblem("capacity must be >= 0", where="capacity")
        if self.max_duration is not None and not 0 <= self.max_duration <= INT_LIMIT:
            raise MalformedProblem("max_duration must be in [0, 2**40]", where="max_duration")
        if not 0 <= self.fixed_cost <= INT_LIMIT:
            raise MalformedProblem("fixed_cost must be in [0, 2**40]", where="fixed_cost")
        if self.profile < 0:
            raise MalformedProblem("profile must be >= 0", where="profile")
        if not isinstance(self.skills, frozenset):
            object.__setattr__(self, "skills", frozenset(self.skills))


def _as_profiles(name: str, m: npt.ArrayLike | Sequence[npt.ArrayLike]) -> npt.NDArray[np.int64]:
    """Validate one matrix (n, n) or a stack of profile matrices (p, n, n) as read-only int64."""
    try:
        arr = np.asarray(m)
    except ValueError as exc:  # ragged nested lists
        raise MalformedProblem(f"{name} is not a rectangular matrix", where=name) from exc
    if arr.ndim == 2:
        arr = arr[None, :, :]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] == 0:
        raise MalformedProblem(
            f"{name} must be a square (n, n) matrix or a (profiles, n, n) stack, got shape "
            f"{arr.shape}",
            where=name,
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.floor(arr)):
            raise MalformedProblem(
                f"{name} must hold integers; scale real values with scale_matrix()", where=name
            )
    elif arr.dtype.kind not in "iu":
        raise MalformedProblem(f"{name} must hold integers, got dtype {arr.dtype}", where=name)
    if np.any(arr < 0):
        p, i, j = (int(x) for x in np.argwhere(arr < 0)[0])
        raise MalformedProblem(f"{name} has a negative entry", where=f"{name}[{p}][{i}][{j}]")
    if np.any(arr > INT_LIMIT):
        raise MalformedProblem(f"{name} has entries above 2**40", where=name)
    out = np.ascontiguousarray(arr, dtype=np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class RoutingProblem:
    """Vehicles serving visits over integer matrices (see the module docstring for units).

    Parameters
    ----------
    durations : travel times, ``(n, n)`` or ``(profiles, n, n)``; entry ``[i][j]`` is the
        time from location ``i`` to ``j``.
    vehicles, visits : the fleet and the places; ids must be unique in each.
    distances : arc costs with the same shape rules; defaults to ``durations``.
    horizon : the latest time anything may happen; defaults to the largest window bound,
        or to a bound derived from the matrices when there are no windows.
    """

    durations: npt.NDArray[np.int64]
    vehicles: tuple[Vehicle, ...]
    visits: tuple[Visit, ...]
    distances: npt.NDArray[np.int64] | None = None
    horizon: int | None = None

    def __post_init__(self) -> None:
        durations = _as_profiles("durations", self.durations)
        object.__setattr__(self, "durations", durations)
        n = durations.shape[1]
        if self.distances is not None:
            distances = _as_profiles("distances", self.distances)
            if distances.shape[1:] != durations.shape[1:] or distances.shape[0] not in (
                1,
                durations.shape[0],
            ):
                raise MalformedProblem(
                    f"distances shape {distances.shape} does not match durations {durations.shape}",
                    where="distances",
                )
            object.__setattr__(self, "distances", distances)
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "visits", tuple(self.visits))
        if not self.vehicles:
            raise MalformedProblem("a problem needs at least one vehicle", where="vehicles")
        seen: set[str] = set()
        for k, v in enumerate(self.vehicles):
            if not isinstance(v, Vehicle):
                raise MalformedProblem("not a Vehicle", where=f"vehicles[{k}]")
            if v.id in seen:
                raise MalformedProblem(f"duplicate vehicle id {v.id!r}", where=f"vehicles[{k}].id")
            seen.add(v.id)
            for attr in ("start", "end"):
                if getattr(v, attr) >= n:
                    raise MalformedProblem(
                        f"location {getattr(v, attr)} outside the {n}x{n} matrix",
                        where=f"vehicles[{k}].{attr}",
                    )
            if v.profile >= durations.shape[0]:
                raise MalformedProblem(
                    f"profile {v.profile} but only {durations.shape[0]} duration matrices",
                    where=f"vehicles[{k}].profile",
                )
        seen = set()
        for k, s in enumerate(self.visits):
            if not isinstance(s, Visit):
                raise MalformedProblem("not a Visit", where=f"visits[{k}]")
            if s.id in seen:
                raise MalformedProblem(f"duplicate visit id {s.id!r}", where=f"visits[{k}].id")
            seen.add(s.id)
            if s.location >= n:
                raise MalformedProblem(
                    f"location {s.location} outside the {n}x{n} matrix",
                    where=f"visits[{k}].location",
                )
        if self.horizon is None:
            object.__setattr__(self, "horizon", self._default_horizon())
        elif not 0 <= self.horizon <= INT_LIMIT:
            raise MalformedProblem("horizon must be in [0, 2**40]", where="horizon")

    def _default_horizon(self) -> int:
        bounds = [s.window.latest + s.service for s in self.visits if s.window is not None]
        bounds += [v.shift.latest for v in self.vehicles if v.shift is not None]
        # Without windows, a route can never need more than visiting everything with the
        # longest arc in between.
        longest = int(self.durations.max()) if self.durations.size else 0
        loose = sum(s.service for s in self.visits) + longest * (len(self.visits) + 1)
        return int(min(max([*bounds, loose, 1]), INT_LIMIT))

    @property
    def num_locations(self) -> int:
        """Size of the matrices."""
        return int(self.durations.shape[1])

    def duration(self, vehicle: Vehicle, i: int, j: int) -> int:
        """Travel time from location ``i`` to ``j`` for ``vehicle``'s profile."""
        return int(self.durations[vehicle.profile, i, j])

    def distance(self, vehicle: Vehicle, i: int, j: int) -> int:
        """Arc cost from location ``i`` to ``j`` for ``vehicle``'s profile."""
        m = self.distances if self.distances is not None else self.durations
        p = vehicle.profile if m.shape[0] > 1 else 0
        return int(m[p, i, j])

    def shift_bounds(self, vehicle: Vehicle) -> tuple[int, int]:
        """When ``vehicle`` may leave and must be back: its shift, capped by the horizon."""
        horizon = int(self.horizon or 0)
        if vehicle.shift is None:
            return 0, horizon
        return vehicle.shift.earliest, min(vehicle.shift.latest, horizon)

    def window_bounds(self, visit: Visit) -> tuple[int, int]:
        """When service at ``visit`` may start: its window, capped by the horizon."""
        horizon = int(self.horizon or 0)
        if visit.window is None:
            return 0, horizon
        return visit.window.earliest, min(visit.window.latest, horizon)

    def visit_index(self) -> dict[str, int]:
        """Map from visit id to its position in ``visits``."""
        return {s.id: k for k, s in enumerate(self.visits)}
