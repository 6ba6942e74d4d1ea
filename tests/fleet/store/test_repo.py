"""The store suite: every test runs on SQLite and on PostgreSQL (the `db_url` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from fleet.domain import SYSTEM, Position, Principal
from fleet.errors import Conflict, InvalidTransition, NotFound
from fleet.store.db import open_engine
from fleet.store.repo import Store, hash_token
from fleet.types import CommandStatus, FenceKind, IncidentState, Role, UnitKind

ALICE = Principal(name="alice", role=Role.DISPATCHER)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[24.9, 60.1], [24.95, 60.1], [24.95, 60.2], [24.9, 60.2], [24.9, 60.1]]],
}


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    async with open_engine(db_url) as engine:
        yield Store(engine)


async def test_unit_round_trips_with_its_capabilities(store: Store) -> None:
    created = await store.create_unit(
        ALICE, kind=UnitKind.TEAM, unit_id="team-7", capabilities=["first_aid"], team_size=4
    )
    got = await store.get_unit("team-7")
    assert got == created
    assert got.capabilities == ("first_aid",)
    assert [u.id for u in await store.list_units(kind=UnitKind.TEAM)] == ["team-7"]
    assert await store.list_units(kind=UnitKind.DRONE) == []


async def test_duplicate_unit_id_or_sysid_is_a_conflict(store: Store) -> None:
    await store.create_unit(ALICE, kind=UnitKind.DRONE, unit_id="d1", mavlink_sysid=5)
    with pytest.raises(Conflict):
        await store.create_unit(ALICE, kind=UnitKind.CAR, unit_id="d1")
    with pytest.raises(Conflict):
        await store.create_unit(ALICE, kind=UnitKind.DRONE, unit_id="d2", mavlink_sysid=5)
    assert (await store.unit_by_sysid(5)).id == "d1"  # type: ignore[union-attr]


async def test_missing_unit_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="ghost"):
        await store.get_unit("ghost")


async def test_check_in_is_idempotent_and_check_out_closes_it(store: Store) -> None:
    await store.create_unit(ALICE, kind=UnitKind.FOOT, unit_id="f1", team_size=2)
    first = await store.check_in(ALICE, "f1", team_size=3)
    again = await store.check_in(ALICE, "f1", team_size=9)
    assert again.id == first.id and again.team_size == 3
    assert set(await store.open_duty_sessions()) == {"f1"}
    closed = await store.check_out(ALICE, "f1")
    assert closed.checked_out_at is not None
    assert await store.open_duty_sessions() == {}
    with pytest.raises(NotFound):
        await store.check_out(ALICE, "f1")
    with pytest.raises(NotFound):
        await store.check_in(ALICE, "nobody")


async def test_incident_records_every_transition_with_time_and_actor(store: Store) -> None:
    inc = await store.create_incident(ALICE, category="theft", lon=24.94, lat=60.17, priority=2)
    assert inc.state is IncidentState.NEW
    for state in (IncidentState.DISPATCHED, IncidentState.ON_SCENE, IncidentState.RESOLVED):
        inc = await store.transition_incident(ALICE, inc.id, state)
    assert [t.to_state for t in inc.transitions] == [
        IncidentState.NEW,
        IncidentState.DISPATCHED,
        IncidentState.ON_SCENE,
        IncidentState.RESOLVED,
    ]
    assert all(t.actor == "alice" for t in inc.transitions)
    times = [t.at for t in inc.transitions]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)


async def test_closed_incident_refuses_further_transitions(store: Store) -> None:
    inc = await store.create_incident(ALICE, category="noise", lon=24.9, lat=60.1)
    await store.transition_incident(ALICE, inc.id, IncidentState.REFERRED)
    with pytest.raises(InvalidTransition, match="closed"):
        await store.transition_incident(ALICE, inc.id, IncidentState.DISPATCHED)
    on_scene = await store.create_incident(ALICE, category="noise", lon=24.9, lat=60.1)
    await store.transition_incident(ALICE, on_scene.id, IncidentState.ON_SCENE)
    with pytest.raises(InvalidTransition, match="allowed: cancelled, resolved"):
        await store.transition_incident(ALICE, on_scene.id, IncidentState.EN_ROUTE)


async def test_incident_list_filters_by_state_category_time_and_box(store: Store) -> None:
    a = await store.create_incident(ALICE, category="theft", lon=24.90, lat=60.10)
    b = await store.create_incident(ALICE, category="fight", lon=25.50, lat=60.50)
    await store.transition_incident(ALICE, b.id, IncidentState.DISPATCHED)
    page, total = await store.list_incidents(states=[IncidentState.NEW])
    assert [i.id for i in page] == [a.id] and total == 1
    page, _ = await store.list_incidents(category="fight")
    assert [i.id for i in page] == [b.id]
    page, _ = await store.list_incidents(bbox=(25.0, 60.0, 26.0, 61.0))
    assert [i.id for i in page] == [b.id]
    page, total = await store.list_incidents(since=datetime.now(UTC) + timedelta(minutes=1))
    assert page == [] and total == 0
    page, total = await store.list_incidents(limit=1)
    assert len(page) == 1 and total == 2


async def test_command_outcome_is_recorded_and_terminal_states_stick(store: Store) -> None:
    await store.create_unit(ALICE, kind=UnitKind.CAR, unit_id="c1")
    cmd = await store.record_command(
        ALICE, unit_id="c1", channel="mqtt", kind="goto", payload={"lon": 1}, timeout_s=5
    )
    assert cmd.status is CommandStatus.PENDING
    sent = await store.update_command(cmd.id, CommandStatus.SENT, attempt=True)
    assert sent.sent_at is not None and sent.attempts == 1
    acked = await store.update_command(cmd.id, CommandStatus.ACKED, result={"status": "done"})
    assert acked.completed_at is not None
    late = await store.update_command(cmd.id, CommandStatus.TIMED_OUT)
    assert late.status is CommandStatus.ACKED
    pending = await store.list_commands(statuses=[CommandStatus.PENDING, CommandStatus.SENT])
    assert pending == []


async def test_fence_crud_and_filters(store: Store) -> None:
    f = await store.create_fence(ALICE, name="Airport", kind=FenceKind.NO_FLY, geometry=SQUARE)
    assert (await store.get_fence(f.id)).geometry == SQUARE
    zone = await store.create_fence(ALICE, name="Z", kind=FenceKind.PATROL_ZONE, geometry=SQUARE)
    assert [x.id for x in await store.list_fences(kind=FenceKind.NO_FLY)] == [f.id]
    await store.update_fence(ALICE, f.id, active=False)
    assert [x.id for x in await store.list_fences(active=True)] == [zone.id]
    await store.create_unit(ALICE, kind=UnitKind.CAR, unit_id="c9", home_zone_id=zone.id)
    await store.delete_fence(ALICE, zone.id)
    assert (await store.get_unit("c9")).home_zone_id is None
    with pytest.raises(NotFound):
        await store.get_fence(zone.id)


async def test_every_write_is_in_the_audit_log(store: Store) -> None:
    await store.create_unit(ALICE, kind=UnitKind.CAR, unit_id="c1")
    await store.check_in(ALICE, "c1")
    inc = await store.create_incident(ALICE, category="theft", lon=24.9, lat=60.1)
    await store.transition_incident(ALICE, inc.id, IncidentState.CANCELLED)
    await store.create_fence(ALICE, name="F", kind=FenceKind.NO_FLY, geometry=SQUARE)
    await store.record_command(
        ALICE, unit_id="c1", channel="mqtt", kind="msg", payload={}, timeout_s=1
    )
    entries, total = await store.list_audit(actor="alice")
    assert total == 6
    assert [e.action for e in reversed(entries)] == [
        "unit.create",
        "duty.check_in",
        "incident.create",
        "incident.transition",
        "fence.create",
        "command.msg",
    ]


async def test_tokens_are_stored_hashed_and_resolve_to_their_role(store: Store) -> None:
    _, token = await store.create_token(SYSTEM, name="ops", role=Role.OPERATOR)
    principal = await store.resolve_token(token)
    assert principal is not None and principal.role is Role.OPERATOR and principal.name == "ops"
    assert await store.resolve_token(token + "x") is None
    async with store.engine.connect() as conn:
        stored = (await conn.execute(text("select token_hash from api_tokens"))).scalars().all()
    assert stored == [hash_token(token)] and token not in stored
    assert await store.count_tokens(role=Role.OPERATOR) == 1
    assert await store.count_tokens(role=Role.ADMIN) == 0


async def test_position_batches_and_latest_position_per_unit(store: Store) -> None:
    t0 = datetime.now(UTC)
    batch = [
        Position("u1", t0 + timedelta(seconds=i), 24.0 + i / 100, 60.0, battery_pct=90 - i)
        for i in range(50)
    ] + [Position("u2", t0, 25.0, 61.0)]
    await store.add_positions(batch)
    latest = await store.last_positions()
    assert latest["u1"].lon == pytest.approx(24.49) and latest["u1"].battery_pct == 41
    assert latest["u2"].lat == 61.0
    assert len(await store.positions("u1", limit=10)) == 10


async def test_records_survive_closing_and_reopening_the_database(db_url: str) -> None:
    async with open_engine(db_url) as engine:
        s = Store(engine)
        await s.create_unit(ALICE, kind=UnitKind.BICYCLE, unit_id="b1")
        inc = await s.create_incident(ALICE, category="theft", lon=24.9, lat=60.1)
    async with open_engine(db_url) as engine:  # migrations run again: idempotent
        s = Store(engine)
        assert (await s.get_unit("b1")).kind is UnitKind.BICYCLE
        assert (await s.get_incident(inc.id)).category == "theft"
