"""Problem JSON parsers: any corruption of a valid problem gives MalformedProblem or a plan.

The CLI promises "a clear error (what, where) and a non-zero exit" for a malformed
problem; a stray ``TypeError`` or ``KeyError`` from deep inside would be a traceback instead.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planners.aerial import AerialProblem, plan_aerial
from planners.coverage import coverage_from_dict
from planners.errors import Infeasible, MalformedProblem
from planners.placement import placement_from_dict, solve_placement
from planners.stop import FirstOf, MaxIterations, MaxRuntime

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"

json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10)
    | st.floats(allow_nan=True)
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@st.composite
def corrupted(draw: st.DrawFn, name: str):
    base = json.loads((EXAMPLES / name).read_text())
    doc = copy.deepcopy(base)
    paths = [p for p in _paths(doc) if p]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_value)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(doc=corrupted("aerial-helsinki.json"))
def test_a_corrupted_aerial_problem_plans_or_fails_cleanly(doc):
    with contextlib.suppress(MalformedProblem, Infeasible):
        problem = AerialProblem.from_dict(doc)
        plan_aerial(problem, stop=FirstOf(MaxIterations(5), MaxRuntime(2.0)))


@SETTINGS
@given(
    doc=st.one_of(
        corrupted("coverage-sweep.json"),
        corrupted("coverage-orbit.json"),
        corrupted("coverage-relief.json"),
    )
)
def test_a_corrupted_coverage_problem_runs_or_fails_cleanly(doc):
    with contextlib.suppress(MalformedProblem, Infeasible):
        coverage_from_dict(doc)


@SETTINGS
@given(doc=corrupted("placement.json"))
def test_a_corrupted_placement_problem_solves_or_fails_cleanly(doc):
    with contextlib.suppress(MalformedProblem, Infeasible):
        solve_placement(placement_from_dict(doc), stop=MaxRuntime(1.0))
