"""Event overwatch run live: drones relieve each other over one position so that at every
moment one is on station.

The plan is `planners.coverage.relief_rotation` (how many drones, time on station, the
nominal shifts). Live, the rotation follows the batteries rather than the nominal clock: the
drone on station must leave when its battery, at the nominal drain rate, only covers the way
home plus the reserve (or at its planned leave time, whichever comes first); the next drone
is launched early enough (measured transit, command latency and the handover overlap) to
arrive before that. The current drone is released only once the relief is measured on
station, and every handover is audited. Coverage is measured from telemetry, tick by tick:
the share of time from the first arrival to the end with a drone in the air within the
station radius.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleet.domain import Principal
from fleet.drones import DroneService
from fleet.errors import PatrolfleetError
from fleet.events import EventHub
from fleet.patrols.domain import Overwatch, centroid
from fleet.patrols.plans import PatrolInfeasible, distance_m
from fleet.settings import Settings
from fleet.state import LiveState
from fleet.store.patrols import PatrolStore
from fleet.types import Role
from planners.errors import PlanningError

log = logging.getLogger(__name__)

STATION_TOLERANCE_M = 40.0  # on station: within the orbit radius plus this
CLIMB_RATE_MPS = 3.0
_TICK_S = 0.2
_LATENCY_WALL_S = 1.0  # take-off and orbit commands, acks, telemetry: wall time, not plan time
_MARGIN_PCT = 2.0  # battery kept in hand on top of the reserve when deciding to leave


def station_of(geometry: dict[str, Any], radius_m: float | None) -> tuple[float, float, float]:
    """Centre and orbit radius: a Point's own, or a Polygon's centroid and its farthest vertex.

    Raises
    ------
    ValueError
        For another geometry type.
    """
    lon, lat = centroid(geometry)
    if radius_m is not None:
        return lon, lat, radius_m
    if geometry["type"] == "Polygon":
        far = max(distance_m((lon, lat), (p[0], p[1])) for p in geometry["coordinates"][0])
        return lon, lat, min(max(far, 30.0), 500.0)
    return lon, lat, 50.0


def plan_relief(
    *,
    settings: Settings,
    homes: dict[str, tuple[float, float]],
    station: tuple[float, float],
    alt_m: float,
    duration_s: float,
    handover_s: float,
    recharge_s: float,
) -> dict[str, Any]:
    """The relief rotation for these drones (pure).

    Raises
    ------
    PatrolInfeasible
        Naming the constraint (``transit_s``: too far for the battery; ``max_drones``: not
        enough drones for continuous coverage).
    """
    from planners.coverage import relief_rotation

    if not homes:
        raise PatrolInfeasible("no drone for the overwatch", constraint="drones")
    transit = (
        max(distance_m(h, station) for h in homes.values()) / (settings.drone_cruise_speed_mps)
        + alt_m / CLIMB_RATE_MPS
    )
    endurance = settings.drone_endurance_s
    reserve = endurance * settings.drone_reserve_pct / 100.0
    try:
        sched = relief_rotation(
            endurance_s=endurance,
            reserve_s=reserve,
            transit_s=transit,
            recharge_s=recharge_s,
            station_s=duration_s,
            handover_s=handover_s,
            max_drones=len(homes),
        )
    except PlanningError as exc:
        raise PatrolInfeasible(str(exc), constraint=exc.where or "relief") from exc
    return {
        "drones": sched.drones,
        "on_station_s": sched.on_station_s,
        "transit_s": round(transit, 1),
        "handover_s": handover_s,
        "recharge_s": recharge_s,
        "covered_from_s": sched.covered_from_s,
        "covered_until_s": sched.covered_until_s,
        "shifts": [
            {
                "drone": s.drone,
                "launch_s": round(s.launch_s, 1),
                "arrive_s": round(s.arrive_s, 1),
                "leave_s": round(s.leave_s, 1),
                "land_s": round(s.land_s, 1),
            }
            for s in sched.shifts
        ],
    }


@dataclass
class _Slot:
    """What one drone is doing in the rotation."""

    role: str = "idle"  # idle | transit | on_station | returning
    launched_plan_s: float = 0.0
    arrived_plan_s: float | None = None
    used: int = 0


@dataclass
class OverwatchRun:
    """The live rotation of one overwatch operation."""

    op: Overwatch
    settings: Settings
    patrols: PatrolStore
    state: LiveState
    events: EventHub
    drones: DroneService
    slots: dict[str, _Slot] = field(default_factory=dict)
    handovers: list[dict[str, Any]] = field(default_factory=list)
    launches: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    _covered: int = 0
    _samples: int = 0
    _gap_s: float = 0.0
    _longest_gap_s: float = 0.0
    _first_arrival: float | None = None
    _refusals: dict[str, str] = field(default_factory=dict)
    _persist_soon: bool = False  # store the report at the next tick (first arrival)
    _transit_s: float = 0.0  # longest launch-to-on-station time measured so far (plan s)

    @property
    def actor(self) -> Principal:
        return Principal(name=f"overwatch:{self.op.id}", role=Role.OPERATOR)

    def plan_now(self) -> float:
        assert self.op.started_at is not None
        return (datetime.now(UTC) - self.op.started_at).total_seconds() * self.op.clock_scale

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        self.events.publish(f"patrol.overwatch.{kind}", {"overwatch_id": self.op.id, **data})

    # --- measurements -------------------------------------------------------------------

    def _station(self) -> tuple[float, float, float]:
        return station_of(self.op.geometry, self.op.radius_m)

    def _on_station(self, uid: str) -> bool:
        live = self.state.get(uid)
        if live is None or live.lon is None or live.lat is None or (live.alt_m or 0.0) < 5.0:
            return False
        lon, lat, radius = self._station()
        return distance_m((live.lon, live.lat), (lon, lat)) <= radius + STATION_TOLERANCE_M

    def _battery(self, uid: str) -> float:
        live = self.state.get(uid)
        return live.battery_pct if live and live.battery_pct is not None else 0.0

    def _rate_pct_s(self) -> float:
        """Nominal drain in % per plan second (the endurance is quoted at cruise: pessimistic
        for an orbit, which is the safe side)."""
        return 100.0 / self.settings.drone_endurance_s

    def _way_home_s(self, uid: str) -> float:
        lon, lat, _ = self._station()
        home = self.drones.home(uid)
        return (
            distance_m(home, (lon, lat)) / self.settings.drone_cruise_speed_mps
            + self.op.alt_m / CLIMB_RATE_MPS
        )

    def _must_leave_in_s(self, uid: str) -> float:
        """Plan seconds until `uid` must head home to land with its reserve."""
        spare = (
            self._battery(uid)
            - self.settings.drone_reserve_pct
            - _MARGIN_PCT
            - self._way_home_s(uid) * self._rate_pct_s()
        )
        return spare / self._rate_pct_s()

    def _sample(self) -> None:
        """One coverage sample from telemetry (after the first arrival only)."""
        covered = any(self._on_station(uid) for uid in self.slots)
        if self._first_arrival is None:
            if not covered:
                return
            self._first_arrival = self.plan_now()
            self._persist_soon = True
        self._samples += 1
        tick_plan_s = _TICK_S * self.op.clock_scale
        if covered:
            self._covered += 1
            self._gap_s = 0.0
        else:
            self._gap_s += tick_plan_s
            self._longest_gap_s = max(self._longest_gap_s, self._gap_s)

    def report(self) -> dict[str, Any]:
        share = self._covered / self._samples if self._samples else 0.0
        return {
            "coverage_share": round(share, 4),
            "samples": self._samples,
            "longest_gap_s": round(self._longest_gap_s, 1),
            "first_arrival_s": round(self._first_arrival, 1) if self._first_arrival else None,
            "handovers": self.handovers,
            "launches": self.launches,
            "refused": self.refused,
        }

    # --- actions ------------------------------------------------------------------------

    async def _launch_next(self, exclude: str | None) -> str | None:
        """Launch the next drone of the rotation that is on the ground and can make it."""
        lon, lat, _ = self._station()
        candidates = sorted(
            (uid for uid, slot in self.slots.items() if slot.role == "idle" and uid != exclude),
            key=lambda u: (self.slots[u].used, self.op.drones.index(u)),
        )
        for uid in candidates:
            d = self.drones.drones.get(uid)
            if d is None or not d.link_up or d.in_air:
                continue
            try:
                # fly_to takes off, checks fences and the battery (there, a handover's
                # overlap on station, and home with the reserve); the orbit starts on arrival,
                # since an autopilot refuses an orbit before it is airborne.
                await self.drones.fly_to(
                    self.actor,
                    uid,
                    lon=lon,
                    lat=lat,
                    alt_m=self.op.alt_m,
                    hover_s=float(self.op.plan.get("handover_s", 0.0)) + 60.0,
                    correlation_id=self.op.id,
                )
            except PatrolfleetError as exc:
                reason = f"{exc.type}: {exc.detail}"
                if self._refusals.get(uid) != reason:  # report a refusal once, not per tick
                    self._refusals[uid] = reason
                    self.refused.append({"drone_id": uid, "reason": reason})
                    self._publish("refused", {"drone_id": uid, "reason": exc.detail})
                if d.in_air or (self.drones.drones[uid].in_air):
                    await self._release(uid, "launch failed", None)
                continue
            self._refusals.pop(uid, None)
            slot = self.slots[uid]
            slot.role, slot.launched_plan_s, slot.arrived_plan_s = "transit", self.plan_now(), None
            slot.used += 1
            self.launches.append(
                {
                    "drone_id": uid,
                    "plan_s": round(slot.launched_plan_s, 1),
                    "battery_pct": self._battery(uid),
                }
            )
            self._publish("launched", {"drone_id": uid, "battery_pct": self._battery(uid)})
            return uid
        return None

    async def _orbit(self, uid: str) -> None:
        """Circle the station (best effort: holding over its centre covers it as well)."""
        lon, lat, radius = self._station()
        try:
            await self.drones.orbit(
                self.actor,
                uid,
                lon=lon,
                lat=lat,
                radius_m=radius,
                velocity_mps=5.0,
                alt_m=self.op.alt_m,
                correlation_id=self.op.id,
            )
        except PatrolfleetError as exc:
            log.info("overwatch.orbit.refused", extra={"drone_id": uid, "detail": exc.detail})

    async def _release(self, uid: str, why: str, relief: str | None) -> None:
        slot = self.slots[uid]
        slot.role = "returning"
        try:
            await self.drones.command(
                self.actor,
                uid,
                "return",
                {"reason": why},
                self.drones.links.return_to_launch,
                correlation_id=self.op.id,
            )
        except PatrolfleetError as exc:
            log.warning("overwatch.release.failed", extra={"drone_id": uid, "detail": exc.detail})
        if relief is not None:
            entry = {
                "from": uid,
                "to": relief,
                "plan_s": round(self.plan_now(), 1),
                "at": datetime.now(UTC).isoformat(),
                "battery_left_pct": round(self._battery(uid), 1),
                "reason": why,
            }
            self.handovers.append(entry)
            await self.patrols.update_overwatch(
                self.op.id,
                actor=self.actor,
                action="overwatch.handover",
                audit=entry,
                report=self.report(),
            )
            self._publish("handover", entry)

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Hold the station for the duration, then bring everyone home and report."""
        self.slots = {uid: _Slot() for uid in self.op.drones}
        # Resumed after a restart: what was measured so far, and who is already out there
        # (time on station restarts from now for the drone found there: the battery rule
        # still bounds it).
        before = self.op.report
        self._first_arrival = before.get("first_arrival_s")
        self.handovers = list(before.get("handovers", ()))
        self.launches = list(before.get("launches", ()))
        self._samples = int(before.get("samples", 0))
        self._covered = round(float(before.get("coverage_share", 0.0)) * self._samples)
        for uid in self.op.drones:
            d = self.drones.drones.get(uid)
            if d is not None and d.in_air:
                here = self._on_station(uid)
                slot = self.slots[uid]
                slot.role = "on_station" if here else "returning"
                slot.arrived_plan_s = self.plan_now() if here else None
        handover_s = float(self.op.plan.get("handover_s", 30.0))
        on_station_plan = float(self.op.plan.get("on_station_s", math.inf))
        status = "completed"
        try:
            while True:
                await asyncio.sleep(_TICK_S)
                now = self.plan_now()
                self._sample()
                if self._persist_soon:
                    self._persist_soon = False
                    await self.patrols.update_overwatch(self.op.id, report=self.report())
                if (
                    self._first_arrival is not None
                    and now - self._first_arrival >= self.op.duration_s
                ):
                    break
                for uid, slot in self.slots.items():
                    if slot.role == "transit" and self._on_station(uid):
                        slot.role, slot.arrived_plan_s = "on_station", now
                        self._transit_s = max(self._transit_s, now - slot.launched_plan_s)
                        self._publish("on_station", {"drone_id": uid})
                        await self._orbit(uid)
                    elif slot.role == "returning":
                        d = self.drones.drones.get(uid)
                        if d is not None and not d.in_air:
                            slot.role = "idle"
                active = [u for u, s in self.slots.items() if s.role in ("transit", "on_station")]
                if not active:
                    await self._launch_next(None)
                    continue
                on_station = sorted(
                    (u for u in active if self.slots[u].role == "on_station"),
                    key=lambda u: self.slots[u].arrived_plan_s or 0.0,
                )
                in_transit = [u for u in active if self.slots[u].role == "transit"]
                if not on_station:
                    continue
                cur = on_station[0]
                arrived = self.slots[cur].arrived_plan_s or now
                leave_in = min(self._must_leave_in_s(cur), arrived + on_station_plan - now)
                if len(on_station) >= 2:
                    # The relief is on station: the old one goes home after the handover
                    # overlap (or at once when its battery says so). Releasing it earlier
                    # would waste the battery it still has on station.
                    relief = on_station[-1]
                    overlap = now - (self.slots[relief].arrived_plan_s or now)
                    if overlap >= handover_s or leave_in <= 0:
                        await self._release(cur, "relieved", relief)
                    continue
                if leave_in <= 0:
                    # Safety first: leave even without a relief (the gap is measured).
                    await self._release(
                        cur, "battery at its return limit", in_transit[0] if in_transit else None
                    )
                    continue
                if not in_transit:
                    # Launch so the relief arrives a handover before the current must
                    # leave: the transit measured on earlier launches (or estimated), with
                    # a quarter on top, plus command latency on the wall clock.
                    candidates = [u for u, s in self.slots.items() if s.role == "idle"]
                    estimate = max((self._way_home_s(u) for u in candidates), default=0.0)
                    transit = self._transit_s or estimate
                    lead = 1.25 * transit + handover_s + _LATENCY_WALL_S * self.op.clock_scale
                    if leave_in <= lead:
                        await self._launch_next(cur)
        except asyncio.CancelledError:
            status = "stopped"
            raise
        except Exception:
            status = "failed"  # the drones still come home; the caller records the error
            raise
        finally:
            await self._finish(status)

    async def _finish(self, status: str) -> None:
        async with asyncio.timeout(10):
            for uid, slot in self.slots.items():
                if slot.role in ("transit", "on_station"):
                    await self._release(uid, "overwatch ended", None)
            report = self.report()
            await self.patrols.update_overwatch(
                self.op.id,
                actor=self.actor,
                action=f"overwatch.{status}",
                audit={
                    "coverage_share": report["coverage_share"],
                    "handovers": len(self.handovers),
                },
                status=status,
                report=report,
                ended_at=datetime.now(UTC),
            )
            self._publish(status, report)
