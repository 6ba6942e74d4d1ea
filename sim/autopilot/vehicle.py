"""The simulated multicopter: kinematics, battery, flight modes, mission logic and failsafes.

Pure state machine, no I/O: :meth:`Vehicle.step` advances it by ``dt_s`` of *simulated*
time and appends what a real autopilot would announce (STATUSTEXT, mission item reached) to
``events``; the MAVLink endpoint drains them. Figures follow PX4 multicopter defaults where
PX4 has one (MPC_XY_VEL_MAX 12 m/s, MPC_Z_VEL_MAX_UP 3 m/s, MPC_LAND_SPEED 0.7 m/s,
COM_DISARM_LAND 2 s), and a 4S battery with about 28 min of cruise endurance.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass, field

from sim.autopilot.geo import LocalFrame, heading_deg, point_in_polygon
from sim.autopilot.px4 import Mode

# MAVLink numbers the vehicle logic needs (common.xml)
MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_LOITER_UNLIM = 17
MAV_CMD_NAV_LOITER_TIME = 19
MAV_CMD_NAV_RETURN_TO_LAUNCH = 20
MAV_CMD_NAV_LAND = 21
MAV_CMD_NAV_TAKEOFF = 22
MAV_CMD_DO_CHANGE_SPEED = 178
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION = 5001
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION = 5002
MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION = 5003
MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION = 5004
MAV_FRAME_GLOBAL = 0
MAV_FRAME_GLOBAL_INT = 5

# MAV_SEVERITY
SEVERITY_CRITICAL = 2
SEVERITY_WARNING = 4
SEVERITY_INFO = 6


class LandedState(enum.IntEnum):
    """MAV_LANDED_STATE values sent in EXTENDED_SYS_STATE."""

    ON_GROUND = 1
    IN_AIR = 2
    TAKEOFF = 3
    LANDING = 4


class MissionState(enum.IntEnum):
    """MISSION_STATE values sent in MISSION_CURRENT."""

    NO_MISSION = 1
    NOT_STARTED = 2
    ACTIVE = 3
    PAUSED = 4
    COMPLETE = 5


@dataclass(slots=True)
class MissionItem:
    """One MISSION_ITEM_INT as the autopilot stores it."""

    seq: int
    frame: int
    command: int
    param1: float
    param2: float
    param3: float
    param4: float
    x: int
    y: int
    z: float
    autocontinue: int = 1
    mission_type: int = 0


@dataclass(frozen=True, slots=True)
class FencePolygon:
    """A fence polygon in local NE metres; ``inclusion`` means keep-in."""

    vertices: tuple[tuple[float, float], ...]
    inclusion: bool


@dataclass(frozen=True, slots=True)
class FenceCircle:
    """A fence circle in local NE metres; ``inclusion`` means keep-in."""

    north_m: float
    east_m: float
    radius_m: float
    inclusion: bool


@dataclass(slots=True)
class Fence:
    """The geofence the autopilot holds, parsed from MAV_MISSION_TYPE_FENCE items."""

    polygons: list[FencePolygon] = field(default_factory=list)
    circles: list[FenceCircle] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.polygons and not self.circles

    def breached(self, n: float, e: float) -> bool:
        """True when (n, e) is outside every keep-in area or inside a keep-out area."""
        keep_in = [p for p in self.polygons if p.inclusion]
        keep_in_c = [c for c in self.circles if c.inclusion]
        if keep_in or keep_in_c:
            inside = any(point_in_polygon(n, e, list(p.vertices)) for p in keep_in) or any(
                math.hypot(n - c.north_m, e - c.east_m) <= c.radius_m for c in keep_in_c
            )
            if not inside:
                return True
        for p in self.polygons:
            if not p.inclusion and point_in_polygon(n, e, list(p.vertices)):
                return True
        for c in self.circles:
            if not c.inclusion and math.hypot(n - c.north_m, e - c.east_m) <= c.radius_m:
                return True
        return False


@dataclass(slots=True)
class Params:
    """The PX4 parameters the sim honours (name -> value, PX4 names)."""

    values: dict[str, float] = field(
        default_factory=lambda: {
            "MIS_TAKEOFF_ALT": 10.0,
            "RTL_RETURN_ALT": 30.0,
            "RTL_DESCEND_ALT": 10.0,
            "MPC_XY_CRUISE": 10.0,
            "MPC_XY_VEL_MAX": 15.0,
            "MPC_Z_VEL_MAX_UP": 3.0,
            "MPC_Z_VEL_MAX_DN": 1.5,
            "MPC_LAND_SPEED": 0.7,
            "MPC_ACC_HOR": 4.0,
            "NAV_ACC_RAD": 2.0,
            "COM_DL_LOSS_T": 10.0,
            "NAV_DLL_ACT": 2.0,  # 2 = Return mode on datalink loss
            "GF_ACTION": 3.0,  # 3 = Return mode on fence breach
            "BAT_LOW_THR": 0.15,
            "BAT_CRIT_THR": 0.07,
            "BAT_EMERGEN_THR": 0.05,
            "COM_DISARM_LAND": 2.0,
            "MAV_SYS_ID": 1.0,
        }
    )

    def __getitem__(self, name: str) -> float:
        return self.values[name]


CRUISE_ENDURANCE_S = 28 * 60.0  # full battery at 12 m/s airspeed in calm air
HOVER_POWER_FRACTION = 0.85  # hover draws less than cruise at 12 m/s (induced drag model)


@dataclass(slots=True)
class Vehicle:
    """One simulated PX4 multicopter."""

    sysid: int
    home_lat: float
    home_lon: float
    home_amsl_m: float = 20.0
    wind_n_mps: float = 0.0
    wind_e_mps: float = 0.0
    gust_mps: float = 0.0
    seed: int = 0
    params: Params = field(default_factory=Params)

    frame: LocalFrame = field(init=False)
    # state in the home-centred local frame
    n: float = 0.0
    e: float = 0.0
    alt: float = 0.0  # metres above home
    vn: float = 0.0
    ve: float = 0.0
    vd: float = 0.0
    yaw_deg: float = 0.0
    armed: bool = False
    landed: LandedState = LandedState.ON_GROUND
    mode: Mode = Mode.HOLD
    battery: float = 1.0  # remaining fraction 0..1
    gps_ok: bool = True
    illuminator_on: bool = False
    sim_time_s: float = 0.0

    # mode targets
    target_n: float = 0.0
    target_e: float = 0.0
    target_alt: float = 0.0
    speed_mps: float = 10.0
    orbit: tuple[float, float, float, float, float] | None = None  # n, e, radius, v, alt
    rtl_phase: int = 0  # 0 climb, 1 cruise home, 2 descend/land
    landed_since_s: float | None = None

    # mission, fence, rally
    mission: list[MissionItem] = field(default_factory=list)
    mission_current: int = 0
    mission_state: MissionState = MissionState.NO_MISSION
    hold_until_s: float | None = None
    fence_items: list[MissionItem] = field(default_factory=list)
    rally_items: list[MissionItem] = field(default_factory=list)
    fence: Fence = field(default_factory=Fence)

    # failsafe latches
    fence_breach_latched: bool = False
    battery_warned: int = 0  # 0 none, 1 low, 2 critical, 3 emergency
    # Seconds since the last ground-station HEARTBEAT, on the wall clock (set by the
    # endpoint): the GCS beats at 1 Hz of real time whatever the physics time scale.
    gcs_silent_s: float | None = None
    datalink_lost: bool = False

    events: list[tuple] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _gust_n: float = 0.0
    _gust_e: float = 0.0

    def __post_init__(self) -> None:
        self.frame = LocalFrame(self.home_lat, self.home_lon)
        self._rng = random.Random(self.seed * 7919 + self.sysid)
        self.speed_mps = self.params["MPC_XY_CRUISE"]

    # ---------------------------------------------------------------- derived state
    @property
    def in_air(self) -> bool:
        return self.landed != LandedState.ON_GROUND

    @property
    def latlon(self) -> tuple[float, float]:
        return self.frame.to_latlon(self.n, self.e)

    @property
    def amsl_m(self) -> float:
        return self.home_amsl_m + self.alt

    @property
    def ground_speed_mps(self) -> float:
        return math.hypot(self.vn, self.ve)

    # ---------------------------------------------------------------- commands
    def arm(self, force: bool = False) -> tuple[bool, str]:
        """Arm; PX4 refuses without a position fix or with a battery below the low mark."""
        if self.armed:
            return True, ""
        if not force:
            if not self.gps_ok:
                return False, "Arming denied: no GPS fix"
            if self.battery < self.params["BAT_LOW_THR"]:
                return False, "Arming denied: battery low"
        self.armed = True
        self.landed_since_s = self.sim_time_s
        self.battery_warned = 0
        return True, ""

    def disarm(self, force: bool = False) -> bool:
        if self.in_air and not force:
            return False
        self.armed = False
        self.landed = LandedState.ON_GROUND
        self.vn = self.ve = self.vd = 0.0
        if force:
            self.alt = 0.0
        return True

    def set_mode(self, mode: Mode) -> bool:
        """Switch flight mode the way commander does; False when the switch is refused."""
        if mode is Mode.MISSION:
            if not self.mission:
                return False
            if self.mission_current >= len(self.mission):
                self.mission_current = 0
            self.mission_state = MissionState.ACTIVE
            self.hold_until_s = None
        elif self.mode is Mode.MISSION and self.mission_state is MissionState.ACTIVE:
            self.mission_state = MissionState.PAUSED
        if mode in (Mode.HOLD, Mode.POSCTL, Mode.MANUAL, Mode.ALTCTL):
            self._hold_here()
        elif mode is Mode.RTL:
            self.rtl_phase = 0
        elif mode is Mode.TAKEOFF:
            self.target_n, self.target_e = self.n, self.e
            self.target_alt = max(self.target_alt, self.params["MIS_TAKEOFF_ALT"])
        elif mode is Mode.ORBIT and self.orbit is None:
            self.orbit = (self.n, self.e, 20.0, 5.0, max(self.alt, 10.0))
        self.mode = mode
        return True

    def takeoff(self, alt_rel_m: float | None) -> tuple[bool, str]:
        if not self.armed:
            return False, "Takeoff denied: disarmed"
        self.target_n, self.target_e = self.n, self.e
        self.target_alt = alt_rel_m if alt_rel_m is not None else self.params["MIS_TAKEOFF_ALT"]
        self.mode = Mode.TAKEOFF
        return True, ""

    def reposition(self, n: float, e: float, alt: float, speed_mps: float | None) -> bool:
        if not self.in_air or not self.armed:
            return False
        self.target_n, self.target_e, self.target_alt = n, e, alt
        if speed_mps is not None and speed_mps > 0:
            self.speed_mps = min(speed_mps, self.params["MPC_XY_VEL_MAX"])
        if self.mode is Mode.MISSION:
            self.mission_state = MissionState.PAUSED
        self.mode = Mode.HOLD
        return True

    def start_orbit(self, n: float, e: float, radius_m: float, v_mps: float, alt: float) -> bool:
        if not self.in_air:
            return False
        self.orbit = (n, e, radius_m, v_mps, alt)
        if self.mode is Mode.MISSION:
            self.mission_state = MissionState.PAUSED
        self.mode = Mode.ORBIT
        return True

    def set_mission(self, items: list[MissionItem]) -> None:
        self.mission = items
        self.mission_current = 0
        self.hold_until_s = None
        self.mission_state = MissionState.NOT_STARTED if items else MissionState.NO_MISSION
        if self.mode is Mode.MISSION:
            self._hold_here()
            self.mode = Mode.HOLD

    def set_mission_current(self, seq: int) -> bool:
        if not 0 <= seq < max(len(self.mission), 1):
            return False
        self.mission_current = seq
        self.hold_until_s = None
        if self.mission_state is MissionState.COMPLETE:
            self.mission_state = MissionState.NOT_STARTED
        return True

    def set_fence(self, items: list[MissionItem]) -> None:
        """Parse fence items: polygons are runs of vertices whose param1 is the vertex count."""
        self.fence_items = items
        fence = Fence()
        i = 0
        while i < len(items):
            it = items[i]
            lat, lon = it.x / 1e7, it.y / 1e7
            if it.command in (
                MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
            ):
                count = max(int(it.param1), 1)
                verts = tuple(self.frame.to_ne(v.x / 1e7, v.y / 1e7) for v in items[i : i + count])
                fence.polygons.append(
                    FencePolygon(verts, it.command == MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION)
                )
                i += count
                continue
            if it.command in (
                MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
                MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
            ):
                n, e = self.frame.to_ne(lat, lon)
                fence.circles.append(
                    FenceCircle(n, e, it.param1, it.command == MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION)
                )
            i += 1
        self.fence = fence
        self.fence_breach_latched = False

    def gcs_heartbeat(self) -> None:
        self.gcs_silent_s = 0.0
        if self.datalink_lost:
            self.datalink_lost = False
            self._say(SEVERITY_INFO, "Data link regained")

    # ---------------------------------------------------------------- simulation
    def step(self, dt_s: float) -> None:
        """Advance ``dt_s`` seconds of simulated time."""
        self.sim_time_s += dt_s
        self._update_wind(dt_s)
        self._failsafes()
        want_n, want_e, want_d = self._guidance(dt_s)
        self._integrate(dt_s, want_n, want_e, want_d)
        self._drain_battery(dt_s)

    def _say(self, severity: int, text: str) -> None:
        self.events.append(("statustext", severity, text))

    def _reached(self, seq: int) -> None:
        self.events.append(("reached", seq))

    def _hold_here(self) -> None:
        self.target_n, self.target_e, self.target_alt = self.n, self.e, self.alt

    def _update_wind(self, dt_s: float) -> None:
        if self.gust_mps <= 0:
            return
        # first-order Gauss-Markov gusts with a ~5 s correlation time
        a = math.exp(-dt_s / 5.0)
        s = self.gust_mps * math.sqrt(max(1 - a * a, 0.0))
        self._gust_n = a * self._gust_n + s * self._rng.gauss(0, 1)
        self._gust_e = a * self._gust_e + s * self._rng.gauss(0, 1)

    def _failsafes(self) -> None:
        if not (self.armed and self.in_air):
            return
        # battery: low warns, critical returns, emergency lands (PX4 COM_LOW_BAT_ACT 3)
        if self.battery <= self.params["BAT_EMERGEN_THR"] and self.battery_warned < 3:
            self.battery_warned = 3
            self._say(SEVERITY_CRITICAL, "Failsafe: battery emergency, landing")
            self.set_mode(Mode.LAND)
        elif self.battery <= self.params["BAT_CRIT_THR"] and self.battery_warned < 2:
            self.battery_warned = 2
            self._say(SEVERITY_CRITICAL, "Failsafe: battery critical, returning")
            if self.mode not in (Mode.RTL, Mode.LAND):
                self.set_mode(Mode.RTL)
        elif self.battery <= self.params["BAT_LOW_THR"] and self.battery_warned < 1:
            self.battery_warned = 1
            self._say(SEVERITY_WARNING, "Low battery level")
        # position loss: without GPS a multicopter can only descend (PX4 Descend)
        if not self.gps_ok and self.mode is not Mode.LAND:
            self._say(SEVERITY_CRITICAL, "Failsafe: no global position, landing")
            self.set_mode(Mode.LAND)
        # data link loss
        if (
            self.gcs_silent_s is not None
            and not self.datalink_lost
            and self.gcs_silent_s > self.params["COM_DL_LOSS_T"]
        ):
            self.datalink_lost = True
            self._say(SEVERITY_CRITICAL, "Failsafe: data link lost, returning")
            if self.params["NAV_DLL_ACT"] == 2 and self.mode not in (Mode.RTL, Mode.LAND):
                self.set_mode(Mode.RTL)
        # geofence
        if (
            not self.fence.empty
            and not self.fence_breach_latched
            and self.gps_ok
            and self.fence.breached(self.n, self.e)
        ):
            self.fence_breach_latched = True
            self._say(SEVERITY_CRITICAL, "Geofence breached: returning to launch")
            if self.mode not in (Mode.RTL, Mode.LAND):
                self.set_mode(Mode.RTL)

    def _fly_to(
        self, n: float, e: float, alt: float, speed: float
    ) -> tuple[float, float, float, float]:
        """Velocity setpoint towards a point, braking at MPC_ACC_HOR; returns (vn, ve, vd, dist)."""
        dn, de = n - self.n, e - self.e
        dist = math.hypot(dn, de)
        acc = self.params["MPC_ACC_HOR"]
        v = min(speed, math.sqrt(2 * acc * 0.7 * dist), self.params["MPC_XY_VEL_MAX"])
        if dist > 1e-6:
            vn, ve = dn / dist * v, de / dist * v
        else:
            vn = ve = 0.0
        vd = self._vz_to(alt)
        return vn, ve, vd, dist

    def _vz_to(self, alt: float) -> float:
        err = alt - self.alt
        up, dn = self.params["MPC_Z_VEL_MAX_UP"], self.params["MPC_Z_VEL_MAX_DN"]
        climb = max(-dn, min(up, 1.2 * err))
        return -climb

    def _guidance(self, dt_s: float) -> tuple[float, float, float]:
        """Return the (north, east, down) velocity setpoint for the current mode."""
        if not self.armed:
            return 0.0, 0.0, 0.0
        if self.landed is LandedState.ON_GROUND:
            if self.mode is Mode.TAKEOFF or (
                self.mode is Mode.MISSION and self.mission_state is MissionState.ACTIVE
            ):
                self.landed = LandedState.TAKEOFF
                self.landed_since_s = None
                if self.mode is Mode.MISSION:
                    # PX4 climbs to MIS_TAKEOFF_ALT before the first mission waypoint
                    self.target_alt = self.params["MIS_TAKEOFF_ALT"]
            else:
                self._auto_disarm()
                return 0.0, 0.0, 0.0
        mode = self.mode
        if self.landed is LandedState.TAKEOFF:
            climb_to = self.target_alt if mode is Mode.TAKEOFF else self.params["MIS_TAKEOFF_ALT"]
            if self.alt >= climb_to - 0.5:
                self.landed = LandedState.IN_AIR
                if mode is Mode.TAKEOFF:
                    self._hold_here()
                    self.mode = Mode.HOLD
            return 0.0, 0.0, self._vz_to(climb_to)
        if mode is Mode.TAKEOFF:
            vn, ve, vd, _ = self._fly_to(self.target_n, self.target_e, self.target_alt, 1.0)
            if abs(self.alt - self.target_alt) < 0.5:
                self._hold_here()
                self.mode = Mode.HOLD
            return vn, ve, vd
        if mode in (Mode.HOLD, Mode.POSCTL, Mode.MANUAL, Mode.ALTCTL):
            vn, ve, vd, _ = self._fly_to(
                self.target_n, self.target_e, self.target_alt, self.speed_mps
            )
            return vn, ve, vd
        if mode is Mode.ORBIT:
            return self._orbit()
        if mode is Mode.LAND:
            return self._land()
        if mode is Mode.RTL:
            return self._rtl()
        if mode is Mode.MISSION:
            return self._mission(dt_s)
        return 0.0, 0.0, 0.0

    def _auto_disarm(self) -> None:
        if self.landed_since_s is None:
            self.landed_since_s = self.sim_time_s
        elif self.sim_time_s - self.landed_since_s > self.params["COM_DISARM_LAND"] and (
            self.mode in (Mode.LAND, Mode.RTL)
        ):
            self.armed = False
            self._say(SEVERITY_INFO, "Disarmed by landing")
            self._hold_here()
            self.mode = Mode.HOLD
            if self.mission_state is MissionState.ACTIVE:
                self.mission_state = MissionState.COMPLETE

    def _orbit(self) -> tuple[float, float, float]:
        assert self.orbit is not None
        cn, ce, radius, v, alt = self.orbit
        pn, pe = self.n - cn, self.e - ce
        d = math.hypot(pn, pe)
        if d < 0.5:  # at the centre every direction is radial: head out northwards
            pn, pe, d = 0.5, 0.0, 0.5
        r = abs(radius)
        # clockwise for positive radius, seen from above with north up
        sign = 1.0 if radius >= 0 else -1.0
        tn, te = -pe / d * sign, pn / d * sign
        if d > r + 10.0:  # approach the circle first
            vn, ve, _, _ = self._fly_to(cn + pn / d * r, ce + pe / d * r, alt, self.speed_mps)
        else:
            k = max(-self.speed_mps, min(self.speed_mps, 0.5 * (r - d)))
            vn = tn * abs(v) + pn / d * k
            ve = te * abs(v) + pe / d * k
        return vn, ve, self._vz_to(alt)

    def _land(self) -> tuple[float, float, float]:
        vn, ve, _, _ = self._fly_to(self.target_n, self.target_e, self.alt, 2.0)
        self.landed = LandedState.LANDING
        speed = self.params["MPC_LAND_SPEED"] if self.alt < 8 else self.params["MPC_Z_VEL_MAX_DN"]
        return vn, ve, speed

    def _rtl(self) -> tuple[float, float, float]:
        rtl_alt = self.params["RTL_RETURN_ALT"]
        if self.rtl_phase == 0:
            self.target_alt = max(self.alt, rtl_alt)
            if math.hypot(self.n, self.e) < 5.0:
                self.rtl_phase = 2
            elif self.alt >= self.target_alt - 1.0:
                self.rtl_phase = 1
            return 0.0, 0.0, self._vz_to(self.target_alt)
        if self.rtl_phase == 1:
            vn, ve, vd, dist = self._fly_to(0.0, 0.0, self.target_alt, self.params["MPC_XY_CRUISE"])
            if dist < 1.5:
                self.rtl_phase = 2
            return vn, ve, vd
        self.target_n = self.target_e = 0.0
        return self._land()

    def _mission(self, dt_s: float) -> tuple[float, float, float]:
        if self.mission_state is not MissionState.ACTIVE:
            vn, ve, vd, _ = self._fly_to(
                self.target_n, self.target_e, self.target_alt, self.speed_mps
            )
            return vn, ve, vd
        # non-navigation items complete at once, as PX4's mission block does
        while self.mission_current < len(self.mission):
            it = self.mission[self.mission_current]
            if it.command == MAV_CMD_DO_CHANGE_SPEED:
                if it.param2 > 0:
                    self.speed_mps = min(it.param2, self.params["MPC_XY_VEL_MAX"])
                self._advance()
                continue
            if it.command == MAV_CMD_NAV_RETURN_TO_LAUNCH:
                self._reached(it.seq)
                self.mission_state = MissionState.COMPLETE
                self.rtl_phase = 0
                self.mode = Mode.RTL
                self.events.append(("mission_current",))
                return self._rtl()
            if it.command not in (
                MAV_CMD_NAV_WAYPOINT,
                MAV_CMD_NAV_LOITER_UNLIM,
                MAV_CMD_NAV_LOITER_TIME,
                MAV_CMD_NAV_LAND,
                MAV_CMD_NAV_TAKEOFF,
            ):
                self._advance()
                continue
            break
        else:
            self._mission_done()
            return 0.0, 0.0, 0.0
        it = self.mission[self.mission_current]
        n, e = self.frame.to_ne(it.x / 1e7, it.y / 1e7)
        if it.x == 0 and it.y == 0:
            n, e = self.n, self.e
        amsl = it.frame in (MAV_FRAME_GLOBAL, MAV_FRAME_GLOBAL_INT)
        alt = it.z - self.home_amsl_m if amsl else it.z
        if it.command == MAV_CMD_NAV_LAND:
            vn, ve, vd, dist = self._fly_to(n, e, self.alt, self.speed_mps)
            if dist < 2.0:
                self.target_n, self.target_e = n, e
                if self.landed is LandedState.ON_GROUND or self.alt <= 0.05:
                    self._reached(it.seq)
                    self.mission_state = MissionState.COMPLETE
                    self.mode = Mode.LAND
                return self._land()
            return vn, ve, vd
        vn, ve, vd, dist = self._fly_to(n, e, alt, self.speed_mps)
        accept = max(it.param2 if it.command == MAV_CMD_NAV_WAYPOINT else 0.0, 0.0)
        accept = accept or self.params["NAV_ACC_RAD"]
        if dist <= accept and abs(self.alt - alt) < 1.0:
            if it.command == MAV_CMD_NAV_LOITER_UNLIM:
                if self.hold_until_s is None:
                    self.hold_until_s = math.inf
                    self._reached(it.seq)
                return vn, ve, vd
            hold = it.param1 if it.command in (MAV_CMD_NAV_WAYPOINT, MAV_CMD_NAV_LOITER_TIME) else 0
            if self.hold_until_s is None:
                self.hold_until_s = self.sim_time_s + max(hold, 0.0)
            if self.sim_time_s >= self.hold_until_s:
                self.hold_until_s = None
                self._advance()
        return vn, ve, vd

    def _advance(self) -> None:
        it = self.mission[self.mission_current]
        self._reached(it.seq)
        self.mission_current += 1
        if self.mission_current < len(self.mission):
            self.events.append(("mission_current",))

    def _mission_done(self) -> None:
        # PX4 loiters at the last waypoint when a mission ends without RTL/land
        self.mission_current = len(self.mission) - 1
        self.mission_state = MissionState.COMPLETE
        self._hold_here()
        self.mode = Mode.HOLD
        self.events.append(("mission_current",))
        self._say(SEVERITY_INFO, "Mission finished, loitering")

    def _integrate(self, dt_s: float, want_n: float, want_e: float, want_d: float) -> None:
        acc = self.params["MPC_ACC_HOR"] * 1.5
        dvn, dve = want_n - self.vn, want_e - self.ve
        dv = math.hypot(dvn, dve)
        lim = acc * dt_s
        if dv > lim:
            dvn, dve = dvn / dv * lim, dve / dv * lim
        self.vn += dvn
        self.ve += dve
        dvd = want_d - self.vd
        lim_z = 3.0 * dt_s
        self.vd += max(-lim_z, min(lim_z, dvd))
        if self.in_air:
            # the position controller rejects most of the wind; a little gets through
            wn = 0.03 * (self.wind_n_mps + self._gust_n)
            we = 0.03 * (self.wind_e_mps + self._gust_e)
            self.n += (self.vn + wn) * dt_s
            self.e += (self.ve + we) * dt_s
            self.alt -= self.vd * dt_s
            if self.ground_speed_mps > 0.5:
                self.yaw_deg = heading_deg(self.vn, self.ve)
            if self.mode is Mode.ORBIT and self.orbit is not None:
                self.yaw_deg = heading_deg(self.orbit[0] - self.n, self.orbit[1] - self.e)
            if self.alt <= 0.0 and self.vd >= 0.0 and self.landed is not LandedState.TAKEOFF:
                self.alt = 0.0
                self.vn = self.ve = self.vd = 0.0
                self.landed = LandedState.ON_GROUND
                self.landed_since_s = self.sim_time_s
                if self.mission_state is MissionState.ACTIVE and self.mode is Mode.MISSION:
                    self.mission_state = MissionState.COMPLETE
        else:
            self.vn = self.ve = self.vd = 0.0

    def _drain_battery(self, dt_s: float) -> None:
        if not self.armed:
            return
        if not self.in_air:
            factor = 0.05
        else:
            an = self.vn - self.wind_n_mps - self._gust_n
            ae = self.ve - self.wind_e_mps - self._gust_e
            airspeed = math.hypot(an, ae)
            climb = max(-self.vd, 0.0)
            factor = (
                HOVER_POWER_FRACTION
                + (1 - HOVER_POWER_FRACTION) * (airspeed / 12.0) ** 2
                + 0.15 * climb / 3.0
            )
        self.battery = max(0.0, self.battery - dt_s * factor / CRUISE_ENDURANCE_S)

    @property
    def voltage_v(self) -> float:
        """4S LiPo, 16.8 V full to 13.6 V empty, a little sag under load."""
        sag = 0.3 if self.in_air else 0.0
        return 13.6 + 3.2 * self.battery - sag

    def wind(self) -> tuple[float, float]:
        return self.wind_n_mps + self._gust_n, self.wind_e_mps + self._gust_e
