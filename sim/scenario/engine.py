"""The discrete-event simulation of a city day: a heap of timed events, no library.

Why a plain heap and not simpy: every process here is a short chain of timed state
changes (drive, stay on scene, return; fly, orbit, land) that can be cancelled when a unit
is re-tasked. With a heap, a cancelled chain is one integer (the unit's *epoch*: events
carry the epoch they were scheduled under and are dropped when it has moved on), ties are
broken by a sequence number so runs are bit-for-bit repeatable, and the loop costs nothing
beyond ``heapq``. simpy would add generator processes and interrupts for the same result.

Every dispatch decision goes through `fleet.dispatch.policy` - `recommend`, `plan_response`
and `next_best` - on a `FleetSnapshot` of the simulated fleet, exactly as the live service
calls them; re-deployment goes through `fleet.dispatch.redeploy.redeploy`. The simulation
only *executes* those decisions: road travel, flight, battery, time on scene.

Model
-----
* Ground units travel on their mode's road graph (`City.travel_s`): call-to-moving delay
  of their kind (`DISPATCH_DELAY_S`), then road time from their nearest node. While they
  move, their position is interpolated along the straight line between the ends (only the
  snapshot uses it; the time is the road time).
* Idle units patrol: they wait at their post, walk or drive to a nearby node (within
  `PATROL_LEG_S` by road), wait, and come back. A unit on patrol or on its way back to its
  post is available.
* On scene: the first responder stays the incident's service time, others half of it;
  then the unit returns to its post (and checks out there if its shift has ended).
* Incidents no ground unit can take wait in a queue (priority, then age), retried each
  time a unit becomes free or checks in. If the policy assigns nobody although units are
  free (no one meets a tier: the live service escalates to a dispatcher), the dispatcher
  sends `next_best` with no tier bound.
* Drones wait on their dock and launch when the policy sends one first. Flight follows the
  shortest no-fly-safe path (`Airspace.path`): launch delay, climb, cruise; the drone
  orbits until the first ground unit has been on scene for ``handover_s`` (at most
  ``overwatch_max_s``), never longer than its battery allows to reach a dock with the
  reserve; it flies to its home dock if it can, else to the nearest. Battery drains at
  ``100 / endurance_s`` % per second in the air and recharges on the dock; a drone below
  ``min_launch_pct`` is not available. Landing descent is not timed (the reserve covers it).
"""

from __future__ import annotations

import enum
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleet.dispatch.policy import (
    DISPATCH_DELAY_S,
    FleetSnapshot,
    next_best,
    plan_response,
    recommend,
)
from fleet.dispatch.redeploy import Post
from fleet.types import UnitKind
from planners.geo import path_length_m
from sim.scenario.demand import Incident
from sim.scenario.posts import post_weights, redeploy_kind
from sim.scenario.world import Deployment, UnitSpec, World

__all__ = ["DroneLeg", "IncidentOutcome", "SimResult", "Simulation", "UnitLog"]

FloatArray = npt.NDArray[np.float64]

PATROL_LEG_S = 300.0  # farthest patrol point from the post, by road
PATROL_WAIT_S = (300.0, 900.0)  # wait at the post / at the patrol point, uniform


class _St(enum.Enum):
    OFF = "off"  # checked out
    IDLE = "idle"  # at the post or patrolling around it
    RETURN = "return"  # driving back to (or toward a new) post: still available
    ENROUTE = "enroute"  # dispatched, on the way
    ONSCENE = "onscene"  # busy on scene


class _Dst(enum.Enum):
    DOCKED = "docked"
    OUT = "out"
    ORBIT = "orbit"
    BACK = "back"


@dataclass(slots=True)
class _Ground:
    spec: UnitSpec
    post: str
    status: _St = _St.OFF
    p0: tuple[float, float] = (0.0, 0.0)
    p1: tuple[float, float] = (0.0, 0.0)
    t0: float = 0.0
    t1: float = 0.0
    epoch: int = 0
    leave_after_job: bool = False
    busy_since: float = 0.0
    busy_s: float = 0.0
    duty_since: float = 0.0
    duty_s: float = 0.0
    jobs: int = 0

    def pos(self, t: float) -> tuple[float, float]:
        if t >= self.t1 or self.t1 <= self.t0:
            return self.p1
        if t <= self.t0:
            return self.p0
        f = (t - self.t0) / (self.t1 - self.t0)
        return (
            self.p0[0] + f * (self.p1[0] - self.p0[0]),
            self.p0[1] + f * (self.p1[1] - self.p0[1]),
        )


@dataclass(slots=True)
class _Drone:
    id: str
    dock: int  # current / last dock index
    status: _Dst = _Dst.DOCKED
    battery_pct: float = 100.0  # at t_ref
    t_ref: float = 0.0
    epoch: int = 0
    incident: str = ""
    xy: tuple[float, float] = (0.0, 0.0)  # where the current leg ends
    airborne_s: float = 0.0
    sorties: int = 0


@dataclass(frozen=True, slots=True)
class DroneLeg:
    """A flown leg, for the safety invariants: the path and the battery at both ends.

    ``required_pct`` is, for an outbound leg, what the leg plus the return to the nearest
    dock plus the reserve needs at take-off (so ``battery_start_pct >= required_pct``); for
    a return leg it is the reserve that must remain on landing.
    """

    drone_id: str
    incident_id: str
    phase: str  # "out" or "back"
    t_start: float
    t_end: float
    path_xy: tuple[tuple[float, float], ...]
    battery_start_pct: float
    battery_end_pct: float
    required_pct: float


@dataclass(slots=True)
class IncidentOutcome:
    """What happened to one incident."""

    incident: Incident
    referred: bool = False
    first_any_s: float | None = None  # call to first unit (drone or ground) on scene
    first_kind: str | None = None
    first_ground_s: float | None = None
    drone_s: float | None = None
    drone_id: str | None = None
    assigned: int = 0
    called: int = 0
    unmet_tiers: tuple[int, ...] = ()
    queued: bool = False
    fallback: bool = False  # the dispatcher had to send `next_best` (no tier met)
    ground_eta_t: float = math.inf  # earliest scheduled ground arrival (absolute time)


@dataclass(frozen=True, slots=True)
class UnitLog:
    """Duty and busy time of a unit over the run."""

    unit_id: str
    kind: str
    duty_s: float
    busy_s: float
    jobs: int


@dataclass(frozen=True, slots=True)
class SimResult:
    """Everything a KPI report needs from one policy's run."""

    name: str
    outcomes: tuple[IncidentOutcome, ...]
    legs: tuple[DroneLeg, ...]
    units: tuple[UnitLog, ...]
    drone_airborne_s: dict[str, float]
    horizon_s: float
    end_s: float
    events: int
    redeploy_moves: int
    dispatch_calls: int


class Simulation:
    """One policy over one world. `run` once.

    Parameters
    ----------
    world : the shared city, fleet and incident stream.
    deployment : the policy, its posts and docks.
    """

    def __init__(self, world: World, deployment: Deployment) -> None:
        self.w = world
        self.d = deployment
        self.policy = deployment.policy
        self.spec = world.config.drone
        cfg = world.config
        self.rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 3]))
        self.heap: list[tuple[float, int, str, str, int]] = []
        self.seq = 0
        self.now = 0.0
        self.ground = {u.id: _Ground(u, deployment.first_post[u.id]) for u in world.units}
        self.gorder = list(self.ground.values())
        self.drones = {
            did: _Drone(did, deployment.drone_dock[i]) for i, did in enumerate(world.drone_ids)
        }
        for dr in self.drones.values():
            dr.xy = self._dock_xy(dr.dock)
        self.ids = tuple([u.spec.id for u in self.gorder] + list(self.drones))
        self.kinds = tuple([u.spec.kind for u in self.gorder] + [UnitKind.DRONE] * len(self.drones))
        self.out: dict[str, IncidentOutcome] = {}
        self.queue: list[str] = []
        self.legs: list[DroneLeg] = []
        self.patrol_cache: dict[tuple[str, str], tuple[npt.NDArray[np.intp], FloatArray]] = {}
        self.redeploy_moves = 0
        self.dispatch_calls = 0
        self.events = 0
        self.horizon_s = cfg.hours * 3600.0
        self.drain_end = self.horizon_s + cfg.drain_h * 3600.0

    # -- event plumbing --------------------------------------------------------------------

    def _at(self, t: float, kind: str, key: str, epoch: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, key, epoch))

    def _dock_xy(self, k: int) -> tuple[float, float]:
        return (float(self.d.docks_xy[k, 0]), float(self.d.docks_xy[k, 1]))

    def hour_of_day(self, t: float) -> int:
        return int(self.w.config.start_hour + t // 3600) % 24

    # -- the fleet as the policy sees it ---------------------------------------------------

    def drone_battery(self, dr: _Drone, t: float) -> float:
        """Battery (%) now: recharging on the dock, draining in the air."""
        dt = max(0.0, t - dr.t_ref)
        if dr.status is _Dst.DOCKED:
            return min(100.0, dr.battery_pct + self.spec.recharge_pct_per_min * dt / 60.0)
        return dr.battery_pct - dt * 100.0 / self.spec.endurance_s

    def snapshot(self, t: float) -> FleetSnapshot:
        """The simulated fleet as a `FleetSnapshot` (the live service's input type)."""
        xy, avail, batt = [], [], []
        for u in self.gorder:
            xy.append(u.pos(t))
            avail.append(u.status in (_St.IDLE, _St.RETURN) and not u.leave_after_job)
            batt.append(math.nan)
        for dr in self.drones.values():
            b = self.drone_battery(dr, t)
            xy.append(dr.xy if dr.status is _Dst.DOCKED else self._dock_xy(dr.dock))
            avail.append(dr.status is _Dst.DOCKED and b >= self.spec.min_launch_pct)
            batt.append(b)
        n = len(self.ids)
        return FleetSnapshot(
            proj=self.w.city.proj,
            unit_ids=self.ids,
            kinds=self.kinds,
            xy=np.asarray(xy, dtype=np.float64).reshape(n, 2),
            available=np.asarray(avail, dtype=bool),
            battery_pct=np.asarray(batt, dtype=np.float64),
            altitude_m=np.zeros(n),
            docks_xy=self.d.docks_xy,
        )

    # -- run -------------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> SimResult:
        """Simulate the calls of the scenario's hours, then drain; ``progress(t_s)`` hourly."""
        for inc in self.w.incidents:
            self._at(inc.t_s, "call", inc.id)
        self.inc_by_id = {inc.id: inc for inc in self.w.incidents}
        n_hours = math.ceil(self.drain_end / 3600.0)
        for h in range(n_hours + 1):
            self._at(h * 3600.0, "hour", str(h))
        handlers: dict[str, Callable[[str, int], None]] = {
            "call": self._on_call,
            "hour": self._on_hour,
            "arrive": self._on_arrive,
            "clear": self._on_clear,
            "post": self._on_post,
            "patrol": self._on_patrol,
            "drone_arrive": self._on_drone_arrive,
            "drone_leave": self._on_drone_leave,
            "drone_land": self._on_drone_land,
        }
        while self.heap:
            t, _, kind, key, epoch = heapq.heappop(self.heap)
            if t > self.drain_end:
                break
            if t >= self.horizon_s and kind == "hour" and self._done():
                break
            self.now = t
            self.events += 1
            handlers[kind](key, epoch)
            if kind == "hour" and progress is not None:
                progress(t)
        end = self.now
        for u in self.gorder:
            if u.status is not _St.OFF:
                u.duty_s += end - u.duty_since
            if u.status in (_St.ENROUTE, _St.ONSCENE):
                u.busy_s += end - u.busy_since
        return SimResult(
            name=self.d.name,
            outcomes=tuple(self.out[i.id] for i in self.w.incidents if i.id in self.out),
            legs=tuple(self.legs),
            units=tuple(
                UnitLog(u.spec.id, u.spec.kind.value, u.duty_s, u.busy_s, u.jobs)
                for u in self.gorder
            ),
            drone_airborne_s={d.id: d.airborne_s for d in self.drones.values()},
            horizon_s=self.horizon_s,
            end_s=end,
            events=self.events,
            redeploy_moves=self.redeploy_moves,
            dispatch_calls=self.dispatch_calls,
        )

    def _done(self) -> bool:
        """Every call has been answered on scene and every drone is back."""
        return (
            not self.queue
            and all(o.referred or o.first_ground_s is not None for o in self.out.values())
            and all(d.status is _Dst.DOCKED for d in self.drones.values())
        )

    # -- duty and re-deployment -------------------------------------------------------------

    def _on_hour(self, key: str, _epoch: int) -> None:
        t = self.now
        hod = self.hour_of_day(t)
        checked_in = False
        for u in self.gorder:
            # Shifts go on while the queue drains after the last call.
            on = u.spec.shift.on_duty(hod)
            if on and u.status is _St.OFF:
                self._check_in(u)
                checked_in = True
            elif on:
                u.leave_after_job = False
            elif not on and u.status is not _St.OFF:
                if u.status in (_St.IDLE, _St.RETURN):
                    self._check_out(u)
                else:
                    u.leave_after_job = True
        if self.d.redeploy:
            self._redeploy(None)
        if checked_in:
            self._retry_queue()

    def _check_in(self, u: _Ground) -> None:
        t = self.now
        xy = self.d.posts_xy[u.post]
        u.status, u.p0, u.p1, u.t0, u.t1 = _St.IDLE, xy, xy, t, t
        u.duty_since = t
        u.epoch += 1
        self._schedule_patrol(u)

    def _check_out(self, u: _Ground) -> None:
        u.duty_s += self.now - u.duty_since
        u.status = _St.OFF
        u.leave_after_job = False
        u.epoch += 1

    def _redeploy(self, kinds: set[UnitKind] | None) -> None:
        """Move idle units toward the posts that matter most this hour (optimized only)."""
        t = self.now
        hod = self.hour_of_day(t)
        snap = self.snapshot(t)
        prev = {u.spec.id: u.post for u in self.gorder}
        for kind, ids in self.d.posts_by_kind.items():
            if kinds is not None and kind not in kinds:
                continue
            w = post_weights(self.d.post_travel[kind], self.w.demand_hourly, hod)
            ll = self.w.city.proj.to_lonlat(np.asarray([self.d.posts_xy[p] for p in ids]))
            posts = [
                Post(pid, float(ll[k, 0]), float(ll[k, 1]), float(w[k]))
                for k, pid in enumerate(ids)
            ]
            for m in redeploy_kind(snap, kind, posts, self.policy, prev):
                u = self.ground[m.unit_id]
                u.post = m.post_id
                self.redeploy_moves += 1
                self._go_to_post(u)

    # -- ground units ----------------------------------------------------------------------

    def _go_to_post(self, u: _Ground) -> None:
        t = self.now
        dest = self.d.posts_xy[u.post]
        here = u.pos(t)
        travel = float(self.w.city.travel_s(u.spec.kind, here, dest)[0])
        u.epoch += 1
        u.status = _St.RETURN
        u.p0, u.p1, u.t0, u.t1 = here, dest, t, t + travel
        self._at(t + travel, "post", u.spec.id, u.epoch)

    def _on_post(self, uid: str, epoch: int) -> None:
        u = self.ground[uid]
        if epoch != u.epoch:
            return
        u.status = _St.IDLE
        if u.leave_after_job:
            self._check_out(u)
            return
        self._schedule_patrol(u)

    def _schedule_patrol(self, u: _Ground) -> None:
        wait = float(self.rng.uniform(*PATROL_WAIT_S))
        self._at(self.now + wait, "patrol", u.spec.id, u.epoch)

    def _patrol_points(self, u: _Ground) -> tuple[npt.NDArray[np.intp], FloatArray]:
        key = (u.spec.kind.value, u.post)
        hit = self.patrol_cache.get(key)
        if hit is None:
            g = self.w.city.graph_of(u.spec.kind)
            (node,), _ = g.snap(self.d.posts_xy[u.post])
            times = g.times_from(int(node), PATROL_LEG_S)
            nodes = np.flatnonzero(np.isfinite(times) & (times > 30.0))
            hit = self.patrol_cache[key] = (nodes, times[nodes])
        return hit

    def _on_patrol(self, uid: str, epoch: int) -> None:
        """Leave the post for a patrol point, or come back from one."""
        u = self.ground[uid]
        if epoch != u.epoch or u.status is not _St.IDLE:
            return
        t = self.now
        post = self.d.posts_xy[u.post]
        here = u.pos(t)
        at_post = math.hypot(here[0] - post[0], here[1] - post[1]) < 1.0
        g = self.w.city.graph_of(u.spec.kind)
        if at_post:
            nodes, times = self._patrol_points(u)
            if len(nodes) == 0:
                return
            k = int(self.rng.integers(len(nodes)))
            to = (float(g.xy[nodes[k], 0]), float(g.xy[nodes[k], 1]))
            travel = float(times[k])
        else:
            to = post
            travel = float(self.w.city.travel_s(u.spec.kind, here, post)[0])
        u.p0, u.p1, u.t0, u.t1 = here, to, t, t + travel
        wait = float(self.rng.uniform(*PATROL_WAIT_S))
        self._at(t + travel + wait, "patrol", uid, u.epoch)

    def _send(self, u: _Ground, o: IncidentOutcome, role: str) -> None:
        t = self.now
        inc = o.incident
        here = u.pos(t)
        travel = float(self.w.city.travel_s(u.spec.kind, here, inc.xy)[0])
        delay = DISPATCH_DELAY_S[u.spec.kind]
        u.epoch += 1
        u.status = _St.ENROUTE
        u.busy_since = t
        u.jobs += 1
        u.p0, u.p1, u.t0, u.t1 = here, inc.xy, t + delay, t + delay + travel
        o.ground_eta_t = min(o.ground_eta_t, t + delay + travel)
        self._at(t + delay + travel, "arrive", f"{u.spec.id}|{inc.id}|{role}", u.epoch)

    def _on_arrive(self, key: str, epoch: int) -> None:
        uid, iid, role = key.split("|")
        u = self.ground[uid]
        if epoch != u.epoch:
            return
        o = self.out[iid]
        dt = self.now - o.incident.t_s
        if o.first_ground_s is None:
            o.first_ground_s = dt
        if o.first_any_s is None:
            o.first_any_s, o.first_kind = dt, u.spec.kind.value
        u.status = _St.ONSCENE
        svc = o.incident.service_s * (1.0 if role == "first_responder" else 0.5)
        self._at(self.now + svc, "clear", uid, u.epoch)

    def _on_clear(self, uid: str, epoch: int) -> None:
        u = self.ground[uid]
        if epoch != u.epoch:
            return
        u.busy_s += self.now - u.busy_since
        if u.leave_after_job:
            self._check_out(u)
            return
        self._go_to_post(u)
        self._retry_queue()
        if self.d.redeploy and u.status is not _St.ENROUTE:
            self._redeploy({u.spec.kind})

    # -- dispatch --------------------------------------------------------------------------

    def _on_call(self, iid: str, _epoch: int) -> None:
        inc = self.inc_by_id[iid]
        o = self.out[iid] = IncidentOutcome(inc)
        pulled = self._dispatch(o, first=True)
        if self.d.redeploy and pulled:
            self._redeploy(pulled)

    def _dispatch(self, o: IncidentOutcome, *, first: bool) -> set[UnitKind]:
        """Ask the shared policy and carry out its plan; returns the kinds of units pulled."""
        inc = o.incident
        self.dispatch_calls += 1
        snap = self.snapshot(self.now)
        recs = recommend(
            snap,
            inc.lonlat,
            self.policy,
            airspace=self.w.airspace,
            limit=50,
            within_s=self.policy.tiers_s[-1],
        )
        plan = plan_response(recs, category=inc.category, priority=inc.priority, policy=self.policy)
        if plan.referred:
            o.referred = True
            return set()
        if first:
            o.called = len(plan.called)
            o.unmet_tiers = plan.unmet_tiers
        if plan.drone is not None and o.drone_id is None:
            self._launch(self.drones[plan.drone.unit_id], o)
        sends = [(a.unit_id, a.role) for a in plan.assigned]
        if not sends:
            # Nobody meets a tier although units may be free: the escalation a dispatcher
            # answers by sending the best unit there is.
            rec = next_best(recs, set())
            if rec is not None:
                sends = [(rec.unit_id, "first_responder")]
                o.fallback = True
        pulled: set[UnitKind] = set()
        for uid, role in sends:
            u = self.ground[uid]
            self._send(u, o, role)
            o.assigned += 1
            pulled.add(u.spec.kind)
        if not sends and o.assigned == 0 and o.incident.id not in self.queue:
            self.queue.append(o.incident.id)
            o.queued = True
        return pulled

    def _retry_queue(self) -> None:
        """Dispatch waiting incidents (most urgent, then oldest) while units are free."""
        if not self.queue:
            return
        order = sorted(
            self.queue, key=lambda i: (self.out[i].incident.priority, self.out[i].incident.t_s)
        )
        self.queue = []
        for iid in order:
            o = self.out[iid]
            self._dispatch(o, first=False)
            if o.assigned == 0 and iid not in self.queue:
                self.queue.append(iid)

    # -- drones ----------------------------------------------------------------------------

    def _fly_path(
        self, a: tuple[float, float], b: tuple[float, float]
    ) -> list[tuple[float, float]]:
        if self.w.airspace is None:
            return [a, b]
        return self.w.airspace.path(a, b)

    def _nearest_dock(self, xy: tuple[float, float]) -> tuple[int, float]:
        """Index and no-fly-safe distance of the dock nearest to ``xy`` by path."""
        docks = self.d.docks_xy
        if self.w.airspace is None:
            d = np.hypot(docks[:, 0] - xy[0], docks[:, 1] - xy[1])
        else:
            d = self.w.airspace.distances_from(xy, docks)
        k = int(np.argmin(d))
        return k, float(d[k])

    def _launch(self, dr: _Drone, o: IncidentOutcome) -> None:
        t = self.now
        pol, spec = self.policy, self.spec
        b = self.drone_battery(dr, t)
        start = self._dock_xy(dr.dock)
        path = self._fly_path(start, o.incident.xy)
        length = path_length_m(path)
        climb_s = pol.drone_cruise_alt_m / 3.0
        out_s = climb_s + length / pol.drone_cruise_speed_mps
        takeoff = t + pol.drone_launch_delay_s
        _, back_m = self._nearest_dock(o.incident.xy)
        drain = 100.0 / spec.endurance_s
        required = (out_s + back_m / pol.drone_cruise_speed_mps) * drain + spec.reserve_pct
        self.legs.append(
            DroneLeg(
                dr.id,
                o.incident.id,
                "out",
                takeoff,
                takeoff + out_s,
                tuple(path),
                b,
                b - out_s * drain,
                required,
            )
        )
        dr.status, dr.battery_pct, dr.t_ref = _Dst.OUT, b, takeoff
        dr.epoch += 1
        dr.incident = o.incident.id
        dr.xy = o.incident.xy
        dr.sorties += 1
        o.drone_id = dr.id
        self._at(takeoff + out_s, "drone_arrive", dr.id, dr.epoch)

    def _return_plan(self, dr: _Drone) -> tuple[int, float]:
        """Dock to return to (home if the battery allows it with the reserve, else the
        nearest) and the spare seconds of orbit that leaves."""
        pol, spec = self.policy, self.spec
        b_s = self.drone_battery(dr, self.now) / 100.0 * spec.endurance_s
        reserve_s = spec.reserve_pct / 100.0 * spec.endurance_s
        home = self._dock_xy(dr.dock)
        if self.w.airspace is None:
            home_m = math.hypot(home[0] - dr.xy[0], home[1] - dr.xy[1])
        else:
            home_m = float(self.w.airspace.distances_from(dr.xy, np.asarray([home]))[0])
        spare = b_s - home_m / pol.drone_cruise_speed_mps - reserve_s
        if spare >= 0:
            return dr.dock, spare
        k, m = self._nearest_dock(dr.xy)
        return k, b_s - m / pol.drone_cruise_speed_mps - reserve_s

    def _on_drone_arrive(self, did: str, epoch: int) -> None:
        dr = self.drones[did]
        if epoch != dr.epoch:
            return
        o = self.out[dr.incident]
        dt = self.now - o.incident.t_s
        o.drone_s = dt
        if o.first_any_s is None:
            o.first_any_s, o.first_kind = dt, "drone"
        dr.status = _Dst.ORBIT
        _, spare = self._return_plan(dr)
        # Orbit until the first ground unit has taken over, within the battery budget.
        want = (
            self.spec.overwatch_max_s
            if not math.isfinite(o.ground_eta_t)
            else o.ground_eta_t + self.spec.handover_s - self.now
        )
        orbit = max(0.0, min(spare, self.spec.overwatch_max_s, want))
        self._at(self.now + orbit, "drone_leave", did, dr.epoch)

    def _on_drone_leave(self, did: str, epoch: int) -> None:
        dr = self.drones[did]
        if epoch != dr.epoch:
            return
        pol, spec = self.policy, self.spec
        dock, _ = self._return_plan(dr)
        dest = self._dock_xy(dock)
        path = self._fly_path(dr.xy, dest)
        back_s = path_length_m(path) / pol.drone_cruise_speed_mps
        b = self.drone_battery(dr, self.now)
        drain = 100.0 / spec.endurance_s
        self.legs.append(
            DroneLeg(
                dr.id,
                dr.incident,
                "back",
                self.now,
                self.now + back_s,
                tuple(path),
                b,
                b - back_s * drain,
                spec.reserve_pct,
            )
        )
        dr.status = _Dst.BACK
        dr.dock = dock
        dr.xy = dest
        self._at(self.now + back_s, "drone_land", did, dr.epoch)

    def _on_drone_land(self, did: str, epoch: int) -> None:
        dr = self.drones[did]
        if epoch != dr.epoch:
            return
        b = self.drone_battery(dr, self.now)
        dr.airborne_s += self.now - dr.t_ref
        dr.status, dr.battery_pct, dr.t_ref = _Dst.DOCKED, b, self.now
        dr.incident = ""
