"""Stopping criteria for planners: how long a search may run (PyVRP `stop/`, fed to OR-Tools).

A planner never reads the clock on its own: the caller injects a `StopCriterion`, which
turns into OR-Tools search limits (`time_limit`, `solution_limit`) plus an optional
"no improvement for N solutions" watchdog run from the solution callback.

Determinism: OR-Tools' routing search is single-threaded and deterministic, so a
`MaxIterations` (or `NoImprovement`) stop gives the same plan for the same seed on any
machine. Both also bound the number of search branches (see
`planners.routing._branch_cap`), so a search that runs out of moves still stops. A
`MaxRuntime` stop is deterministic only up to how far the search gets within
the wall-clock budget, which depends on the machine's load.

Examples
--------
>>> from planners.stop import MaxRuntime, MaxIterations, FirstOf
>>> stop = FirstOf(MaxRuntime(2.0), MaxIterations(5_000))
>>> stop.limits().time_limit_s
2.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "FirstOf",
    "MaxIterations",
    "MaxRuntime",
    "NoImprovement",
    "SearchLimits",
    "StopCriterion",
]


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """Concrete limits a solver applies; ``None`` means "no limit of this kind".

    Parameters
    ----------
    time_limit_s : wall-clock seconds for the whole search.
    max_solutions : number of solutions (local-search moves accepted) before stopping.
    no_improvement : stop after this many solutions without a new best.
    """

    time_limit_s: float | None = None
    max_solutions: int | None = None
    no_improvement: int | None = None

    def __post_init__(self) -> None:
        if self.time_limit_s is not None and not (
            math.isfinite(self.time_limit_s) and self.time_limit_s > 0
        ):
            raise ValueError("time_limit_s must be a positive finite number")
        if self.max_solutions is not None and self.max_solutions < 1:
            raise ValueError("max_solutions must be >= 1")
        if self.no_improvement is not None and self.no_improvement < 1:
            raise ValueError("no_improvement must be >= 1")

    def is_bounded(self) -> bool:
        """Whether at least one limit is set (an unbounded search would never stop)."""
        return any(
            v is not None for v in (self.time_limit_s, self.max_solutions, self.no_improvement)
        )

    def combine(self, other: SearchLimits) -> SearchLimits:
        """The tighter of both, field by field (stop at whichever limit is hit first)."""

        def tight(a: Any, b: Any) -> Any:
            if a is None:
                return b
            if b is None:
                return a
            return min(a, b)

        return SearchLimits(
            time_limit_s=tight(self.time_limit_s, other.time_limit_s),
            max_solutions=tight(self.max_solutions, other.max_solutions),
            no_improvement=tight(self.no_improvement, other.no_improvement),
        )


@runtime_checkable
class StopCriterion(Protocol):
    """Anything that can say which search limits apply."""

    def limits(self) -> SearchLimits:
        """The limits the solver must respect."""
        ...


@dataclass(frozen=True, slots=True)
class MaxRuntime:
    """Stop after ``seconds`` of wall-clock time."""

    seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError("MaxRuntime.seconds must be a positive finite number")

    def limits(self) -> SearchLimits:
        return SearchLimits(time_limit_s=float(self.seconds))


@dataclass(frozen=True, slots=True)
class MaxIterations:
    """Stop after ``iterations`` solutions (OR-Tools' ``solution_limit``); deterministic."""

    iterations: int

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError("MaxIterations.iterations must be >= 1")

    def limits(self) -> SearchLimits:
        return SearchLimits(max_solutions=int(self.iterations))


@dataclass(frozen=True, slots=True)
class NoImprovement:
    """Stop after ``iterations`` consecutive solutions without a new best cost."""

    iterations: int

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError("NoImprovement.iterations must be >= 1")

    def limits(self) -> SearchLimits:
        return SearchLimits(no_improvement=int(self.iterations))


@dataclass(frozen=True, slots=True, init=False)
class FirstOf:
    """Stop when any of the given criteria says so."""

    criteria: tuple[StopCriterion, ...]

    def __init__(self, *criteria: StopCriterion) -> None:
        if not criteria:
            raise ValueError("FirstOf needs at least one criterion")
        object.__setattr__(self, "criteria", tuple(criteria))

    def limits(self) -> SearchLimits:
        out = SearchLimits()
        for c in self.criteria:
            out = out.combine(c.limits())
        return out
