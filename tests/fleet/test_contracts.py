"""Contracts: topics and payloads round-trip (hypothesis), the live state's spatial index
agrees with brute force, and incident transitions never leave a terminal state."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.domain import Unit
from fleet.errors import PayloadInvalid, UnsupportedSchemaVersion
from fleet.mqtt import schemas
from fleet.mqtt.topics import TopicKind, Topics
from fleet.state import LiveState, haversine_m
from fleet.types import INCIDENT_TRANSITIONS, TERMINAL_INCIDENT_STATES, IncidentState, UnitKind

ids = st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z")
roots = st.from_regex(r"\A[a-z][a-z0-9-]{0,15}\Z")


@given(root=roots, unit_id=ids)
def test_unit_topics_parse_back_to_what_built_them(root: str, unit_id: str) -> None:
    t = Topics(root)
    for build, kind in [
        (t.telemetry, TopicKind.TELEMETRY),
        (t.duty, TopicKind.DUTY),
        (t.acks, TopicKind.ACKS),
        (t.commands, TopicKind.COMMANDS),
        (t.state, TopicKind.STATE),
        (t.payload, TopicKind.PAYLOAD),
        (t.payload_state, TopicKind.PAYLOAD_STATE),
    ]:
        parsed = t.parse(build(unit_id))
        assert parsed is not None and parsed.kind is kind and parsed.unit_id == unit_id
    assert t.parse(t.alerts()).kind is TopicKind.ALERTS  # type: ignore[union-attr]
    assert t.parse(t.event("incident.created")).event == "incident.created"  # type: ignore[union-attr]


@given(topic=st.text(max_size=80))
def test_foreign_topics_never_parse_as_unit_topics(topic: str) -> None:
    parsed = Topics("patrolfleet").parse("elsewhere/" + topic)
    assert parsed is None


def test_topic_root_may_not_contain_wildcards() -> None:
    for bad in ("", "a/b", "a+", "#"):
        with pytest.raises(ValueError):
            Topics(bad)


finite = st.floats(allow_nan=False, allow_infinity=False)
telemetry = st.builds(
    schemas.Telemetry,
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    alt_m=st.none() | st.floats(-500, 10_000),
    speed_mps=st.none() | st.floats(0, 200),
    heading_deg=st.none() | st.floats(0, 360),
    battery_pct=st.none() | st.floats(0, 100),
    ts=st.none() | st.datetimes(timezones=st.just(UTC)),
)


@given(msg=telemetry)
def test_telemetry_survives_the_wire(msg: schemas.Telemetry) -> None:
    wire = msg.model_dump_json(exclude_none=True).encode()
    assert schemas.parse(schemas.Telemetry, wire) == msg


@given(
    msg=st.builds(
        schemas.Alert,
        source=st.sampled_from(["camera", "fence", "call_centre"]),
        category=st.text(min_size=1, max_size=64),
        lon=st.floats(-180, 180),
        lat=st.floats(-90, 90),
        priority=st.integers(1, 5),
        description=st.text(max_size=100),
    )
)
def test_alerts_survive_the_wire(msg: schemas.Alert) -> None:
    assert schemas.parse(schemas.Alert, msg.model_dump_json().encode()) == msg


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"lat": 1}', "lon"),
        (b'{"lon": 1, "lat": 95}', "lat"),
        (b'{"lon": "x", "lat": 1}', "lon"),
        (b'{"lon": 1, "lat": 1, "battery_pct": 140}', "battery_pct"),
        (b"[1, 2]", "(root)"),
    ],
)
def test_invalid_telemetry_names_the_field(payload: bytes, field: str) -> None:
    with pytest.raises(PayloadInvalid) as err:
        schemas.parse(schemas.Telemetry, payload)
    assert err.value.extensions["field"] == field


def test_an_unknown_schema_version_is_its_own_error() -> None:
    with pytest.raises(UnsupportedSchemaVersion):
        schemas.parse(schemas.Telemetry, b'{"schema_version": 2, "lon": 1, "lat": 1}')


def test_unknown_fields_are_ignored_so_adding_one_keeps_the_version() -> None:
    msg = schemas.parse(schemas.Telemetry, b'{"lon": 1, "lat": 2, "new_field": true}')
    assert (msg.lon, msg.lat) == (1, 2)


points = st.tuples(st.floats(24.0, 25.5), st.floats(59.9, 60.5))


@settings(max_examples=200)
@given(units=st.lists(points, min_size=1, max_size=60), query=points, k=st.integers(1, 10))
def test_nearest_units_match_brute_force(
    units: list[tuple[float, float]], query: tuple[float, float], k: int
) -> None:
    state = LiveState()
    now = datetime.now(UTC)
    for i, (lon, lat) in enumerate(units):
        state.register(Unit(id=f"u{i}", kind=UnitKind.CAR, name="", created_at=now))
        state.apply_position(f"u{i}", lon, lat)
    got = state.nearest(*query, k=k)
    dists = haversine_m(
        query[0], query[1], np.array([u[0] for u in units]), np.array([u[1] for u in units])
    )
    expected = sorted(dists)[:k]
    assert [d for _, d in got] == pytest.approx(expected)
    for unit_id, d in got:
        assert d == pytest.approx(dists[int(unit_id[1:])])


def test_nearest_respects_kind_online_and_radius() -> None:
    state = LiveState(offline_after_s=10)
    now = datetime.now(UTC)
    for uid, kind in [("car", UnitKind.CAR), ("drone", UnitKind.DRONE), ("foot", UnitKind.FOOT)]:
        state.register(Unit(id=uid, kind=kind, name=uid, created_at=now))
    state.apply_position("car", 24.95, 60.17, now_mono=0)
    state.apply_position("drone", 24.951, 60.17, now_mono=100)
    state.apply_position("foot", 25.5, 60.4, now_mono=100)
    state.sweep_offline(now_mono=105)  # the car has been silent for 105 s
    assert [u for u, _ in state.nearest(24.95, 60.17)] == ["drone", "foot"]
    assert [u for u, _ in state.nearest(24.95, 60.17, online_only=False, k=1)] == ["car"]
    assert [u for u, _ in state.nearest(24.95, 60.17, within_m=1000)] == ["drone"]
    assert state.nearest(24.95, 60.17, kinds=[UnitKind.BOAT]) == []


def test_haversine_agrees_with_a_known_distance() -> None:
    # Helsinki Central Station to Tallinn Old Town is about 82 km.
    d = haversine_m(24.9414, 60.1719, np.array([24.7453]), np.array([59.4370]))[0]
    assert math.isclose(d, 82_300, rel_tol=0.02)


@given(path=st.lists(st.sampled_from(list(IncidentState)), max_size=8))
def test_no_sequence_of_allowed_moves_leaves_a_terminal_state(path: list[IncidentState]) -> None:
    state = IncidentState.NEW
    seen = [state]
    for nxt in path:
        if nxt in INCIDENT_TRANSITIONS[state]:
            state = nxt
            seen.append(state)
    for before, after in itertools.pairwise(seen):
        assert before not in TERMINAL_INCIDENT_STATES
        assert after != before
