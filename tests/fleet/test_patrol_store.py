"""Patrol records on both backends (migration 0003), and the pure parts: the hot-spot
estimator, schedule windows, visit merging."""

from __future__ import annotations

from datetime import UTC, datetime

from fleet.domain import SYSTEM
from fleet.patrols.domain import PatrolSchedule
from fleet.patrols.executor import achieved, merge_visits
from fleet.patrols.hotspots import Estimator, derive_hotspots
from fleet.patrols.schedule import due_window
from fleet.store.db import open_engine
from fleet.store.patrols import PatrolStore


async def test_patrol_records_round_trip_and_every_write_is_audited(db_url: str) -> None:
    async with open_engine(db_url) as engine:
        s = PatrolStore(engine)
        h = await s.create_hotspot(
            SYSTEM,
            name="station",
            geometry={"type": "Point", "coordinates": [24.94, 60.17]},
            weight=2.0,
            revisit_s=900,
            dwell_s=60,
            active_hours=[(17, 20)],
        )
        assert h.active_at_hour(18) and not h.active_at_hour(9)
        p = await s.create_patrol(
            SYSTEM,
            name="evening",
            request={"duration_s": 1800},
            plan={"horizon_s": 1800, "hot_spots": []},
            clock_scale=1.0,
            sorties=[
                {
                    "drone_id": "drone-1",
                    "index": 0,
                    "launch_s": 10.0,
                    "land_s": 500.0,
                    "waypoints": [{"lon": 24.94, "lat": 60.17}],
                    "hot_spots": [h.id],
                }
            ],
            routes=[
                {
                    "unit_id": "car-1",
                    "route": {"type": "Feature", "geometry": {"type": "LineString"}},
                    "stops": [],
                }
            ],
        )
        assert p.version == 1 and p.status == "planned"
        (sortie,) = await s.list_sorties(p.id, 1)
        sortie = await s.update_sortie(sortie.id, actor=SYSTEM, status="skipped", reason="battery")
        assert sortie.status == "skipped" and sortie.reason == "battery"
        p2 = await s.replan_patrol(
            SYSTEM,
            p.id,
            request={},
            plan={"horizon_s": 900, "hot_spots": []},
            sorties=[],
            routes=[],
        )
        assert p2.version == 2 and (await s.get_patrol(p.id, version=1)).plan["horizon_s"] == 1800
        assert [x.id for x in await s.list_patrols()] == [p.id]
        await s.add_visit(p.id, h.id, "drone-1", datetime.now(UTC), 42.0)
        assert [v.plan_s for v in await s.list_visits(p.id)] == [42.0]
        sched = await s.create_schedule(
            SYSTEM,
            name="weekdays",
            template={},
            days=[1, 2, 3, 4, 5],
            start_time="17:00",
            end_time="20:00",
            timezone="Europe/Helsinki",
        )
        assert (await s.list_schedules(active=True))[0].id == sched.id
        ow = await s.create_overwatch(
            SYSTEM,
            geometry={"type": "Point", "coordinates": [24.94, 60.17]},
            alt_m=60,
            radius_m=50,
            duration_s=600,
            clock_scale=1.0,
            drones=["drone-1"],
            plan={"drones": 2},
        )
        await s.update_overwatch(ow.id, actor=SYSTEM, action="overwatch.handover", audit={"x": 1})
        assert (await s.list_overwatch(statuses=["running"]))[0].id == ow.id


def test_the_estimator_ranks_cells_by_kernel_score_with_a_floor() -> None:
    base = (24.94, 60.17)
    cluster = [(base[0] + 0.0001 * k, base[1], 18) for k in range(5)]
    second = [(base[0] + 0.02, base[1] + 0.01, 18)] * 3
    lone = [(base[0] - 0.05, base[1], 18)]
    off_hours = [(base[0] - 0.05, base[1], 9)] * 10
    out = derive_hotspots(cluster + second + lone + off_hours, Estimator(from_hour=17, to_hour=20))
    assert [d.incidents for d in out] == [5, 3]
    assert out[0].weight == 1.0 and out[0].revisit_s < out[1].revisit_s


def test_a_schedule_window_is_due_once_per_day_and_may_wrap_midnight() -> None:
    now = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday
    sched = PatrolSchedule(
        "s", "n", {}, (1,), "17:00", "20:00", "UTC", True, now, now, last_run_on=None
    )
    assert due_window(sched, now) is not None
    assert due_window(sched, now.replace(hour=21)) is None
    ran = PatrolSchedule(
        "s", "n", {}, (1,), "17:00", "20:00", "UTC", True, now, now, last_run_on="2026-11-23"
    )
    assert due_window(ran, now) is None
    night = PatrolSchedule("s", "n", {}, (1,), "22:00", "02:00", "UTC", True, now, now)
    assert due_window(night, datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) is not None  # Tue 01:00


def test_visits_close_together_are_one_and_gaps_are_between_visits() -> None:
    assert merge_visits([10, 12, 15, 400, 401, 900], 60) == [10, 400, 900]
    plan = {
        "horizon_s": 1200,
        "hot_spots": [{"id": "a", "name": "a", "revisit_s": 400, "dwell_s": 30}],
    }
    (a,) = achieved(plan, {"a": [10, 12, 400, 900]}, 1200)
    assert a["visits_s"] == [10, 400, 900] and a["revisit_gaps_s"] == [390, 500]
    assert a["meets_target"] and a["open_gap_s"] == 300


def test_distance_to_a_route_tells_a_unit_on_it_from_one_off_it() -> None:
    from fleet.patrols.executor import OFF_ROUTE_M, _to_line_distance_m

    line = [[24.930, 60.170], [24.950, 60.170]]
    assert _to_line_distance_m((24.940, 60.1701), line) < 20
    assert _to_line_distance_m((24.940, 60.175), line) > OFF_ROUTE_M
