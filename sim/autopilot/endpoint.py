"""One simulated autopilot's MAVLink 2 side: its UDP socket, streams, commands and transfers.

Encoding and parsing use pymavlink's generated dialect (``common``) without its socket
layer: the endpoint is an :class:`asyncio.DatagramProtocol`, so fifty autopilots share one
event loop and no thread. It answers a ground station the way PX4 does: HEARTBEAT with
MAV_AUTOPILOT_PX4 and PX4 custom modes, COMMAND_ACK for every COMMAND_LONG/COMMAND_INT, the
mission protocol (MISSION_COUNT -> MISSION_REQUEST_INT -> MISSION_ITEM_INT -> MISSION_ACK)
for missions, fences and rally points, and the parameter protocol.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from pymavlink.dialects.v20 import common as mav

from sim.autopilot.px4 import Mode
from sim.autopilot.vehicle import MissionItem, MissionState, Vehicle

log = logging.getLogger(__name__)

INT32_MAX = 2**31 - 1
FORCE_MAGIC = 21196.0

MSG_HEARTBEAT = 0
MSG_SYS_STATUS = 1
MSG_GPS_RAW_INT = 24
MSG_ATTITUDE = 30
MSG_GLOBAL_POSITION_INT = 33
MSG_MISSION_CURRENT = 42
MSG_VFR_HUD = 74
MSG_AUTOPILOT_VERSION = 148
MSG_BATTERY_STATUS = 147
MSG_HOME_POSITION = 242
MSG_EXTENDED_SYS_STATE = 245

SENSORS = (
    mav.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | mav.MAV_SYS_STATUS_SENSOR_3D_MAG
    | mav.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | mav.MAV_SYS_STATUS_SENSOR_GPS
    | mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | mav.MAV_SYS_STATUS_AHRS
    | mav.MAV_SYS_STATUS_SENSOR_BATTERY
    | mav.MAV_SYS_STATUS_PREARM_CHECK
)

CAPABILITIES = (
    mav.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
    | mav.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | mav.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_BYTEWISE
    | mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
    | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY
)

# default stream rates in Hz (wall clock), close to PX4's "normal" MAVLink mode on UDP;
# GLOBAL_POSITION_INT and ATTITUDE use telemetry_hz
DEFAULT_RATES = {
    MSG_HEARTBEAT: 1.0,
    MSG_SYS_STATUS: 1.0,
    MSG_BATTERY_STATUS: 1.0,
    MSG_GPS_RAW_INT: 1.0,
    MSG_VFR_HUD: 2.0,
    MSG_EXTENDED_SYS_STATE: 1.0,
    MSG_HOME_POSITION: 0.5,
    MSG_MISSION_CURRENT: 1.0,
}

TRANSFER_RETRY_S = 0.5
TRANSFER_MAX_RETRIES = 6


@dataclass(slots=True)
class _Upload:
    """An in-progress upload from the ground station."""

    mission_type: int
    count: int
    gcs: tuple[int, int]
    items: list[MissionItem] = field(default_factory=list)
    last_request_s: float = 0.0
    retries: int = 0


class Endpoint(asyncio.DatagramProtocol):
    """The MAVLink face of one :class:`Vehicle` on its own UDP socket.

    Parameters
    ----------
    vehicle : Vehicle
        The simulated airframe.
    remote : tuple[str, int]
        Where the ground station listens (``udpin`` on its side).
    telemetry_hz : float
        Rate of GLOBAL_POSITION_INT and ATTITUDE.
    phase : float
        0..1, where in each stream's period this drone sends; independent autopilots are
        not synchronised, and fifty drones sending in the same tick arrive as one burst
        that MAVSDK's callback queue drops from.
    """

    def __init__(
        self,
        vehicle: Vehicle,
        remote: tuple[str, int],
        *,
        telemetry_hz: float = 5.0,
        phase: float = 0.0,
    ) -> None:
        self.vehicle = vehicle
        self.remote = remote
        self.transport: Any = None
        self.link_up = True
        self.uplink_up = True  # False: deaf to the ground station, still streaming
        self._enc = mav.MAVLink(None, srcSystem=vehicle.sysid, srcComponent=1)
        self._dec = mav.MAVLink(None, srcSystem=vehicle.sysid, srcComponent=1)
        self._dec.robust_parsing = True
        self._boot = time.monotonic()
        rates = dict(DEFAULT_RATES)
        rates[MSG_GLOBAL_POSITION_INT] = telemetry_hz
        rates[MSG_ATTITUDE] = telemetry_hz
        self.intervals = {k: 1.0 / v for k, v in rates.items()}
        # golden-ratio steps give every stream of this drone its own offset in its period
        self._next_due = {
            k: self._boot + ((phase + 0.618 * i) % 1.0) * self.intervals[k]
            for i, k in enumerate(self.intervals)
        }
        self._upload: _Upload | None = None
        self._gcs: tuple[int, int] = (0, 0)
        self.sent = 0
        self.received = 0
        self.commands_seen: list[int] = []
        self.gcs_seen_at: float | None = None

    # ------------------------------------------------------------ DatagramProtocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        # announce ourselves at once, as PX4 does at boot; the schedule then staggers
        self._send_stream(MSG_HEARTBEAT)
        self._send_stream(MSG_GLOBAL_POSITION_INT)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while the ground station is down: keep going, like PX4
        log.debug("sim.mavlink.error", extra={"sysid": self.vehicle.sysid, "error": str(exc)})

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not (self.link_up and self.uplink_up):
            return
        try:
            msgs = self._dec.parse_buffer(data) or []
        except mav.MAVError:
            return
        for msg in msgs:
            self.received += 1
            try:
                self._handle(msg)
            except Exception:  # a bad packet must never kill the autopilot
                log.exception("sim.mavlink.handler_failed", extra={"sysid": self.vehicle.sysid})

    # ------------------------------------------------------------ sending
    def send(self, msg: Any) -> None:
        if not self.link_up or self.transport is None:
            return
        buf = msg.pack(self._enc)
        self._enc.seq = (self._enc.seq + 1) % 256
        self.transport.sendto(buf, self.remote)
        self.sent += 1

    def _ms(self) -> int:
        return int((time.monotonic() - self._boot) * 1000) & 0xFFFFFFFF

    def statustext(self, severity: int, text: str) -> None:
        self.send(self._enc.statustext_encode(severity, text.encode()[:50]))

    def flush_events(self) -> None:
        v = self.vehicle
        events, v.events = v.events, []
        for ev in events:
            if ev[0] == "statustext":
                self.statustext(ev[1], ev[2])
            elif ev[0] == "reached":
                self.send(self._enc.mission_item_reached_encode(ev[1]))
            elif ev[0] == "mission_current":
                self._send_stream(MSG_MISSION_CURRENT)

    def send_due(self, now: float) -> None:
        """Send every stream whose interval has elapsed; called from the swarm tick."""
        if self.gcs_seen_at is not None:
            self.vehicle.gcs_silent_s = now - self.gcs_seen_at
        for msg_id, due in self._next_due.items():
            if now >= due:
                interval = self.intervals[msg_id]
                if interval <= 0:
                    self._next_due[msg_id] = math.inf
                    continue
                self._send_stream(msg_id)
                nxt = due + interval
                self._next_due[msg_id] = nxt if nxt > now else now + interval
        self._transfer_timeouts(now)

    def _send_stream(self, msg_id: int) -> None:
        v = self.vehicle
        e = self._enc
        if msg_id == MSG_HEARTBEAT:
            base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            if v.armed:
                base |= mav.MAV_MODE_FLAG_SAFETY_ARMED
            main = v.mode.value[0]
            if main in (3, 4):
                base |= mav.MAV_MODE_FLAG_STABILIZE_ENABLED | mav.MAV_MODE_FLAG_GUIDED_ENABLED
            if main == 4:
                base |= mav.MAV_MODE_FLAG_AUTO_ENABLED
            if v.battery_warned >= 2 or v.datalink_lost:
                status = mav.MAV_STATE_CRITICAL
            else:
                status = mav.MAV_STATE_ACTIVE if v.armed else mav.MAV_STATE_STANDBY
            self.send(
                e.heartbeat_encode(
                    mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_PX4, base, v.mode.custom_mode, status
                )
            )
        elif msg_id == MSG_GLOBAL_POSITION_INT:
            lat, lon = v.latlon
            self.send(
                e.global_position_int_encode(
                    self._ms(),
                    round(lat * 1e7),
                    round(lon * 1e7),
                    round(v.amsl_m * 1000),
                    round(v.alt * 1000),
                    round(v.vn * 100),
                    round(v.ve * 100),
                    round(v.vd * 100),
                    round(v.yaw_deg * 100) % 36000,
                )
            )
        elif msg_id == MSG_ATTITUDE:
            yaw = math.radians(v.yaw_deg)
            if yaw > math.pi:
                yaw -= 2 * math.pi
            pitch = -0.02 * v.ground_speed_mps
            self.send(e.attitude_encode(self._ms(), 0.0, pitch, yaw, 0.0, 0.0, 0.0))
        elif msg_id == MSG_VFR_HUD:
            wn, we = v.wind()
            air = math.hypot(v.vn - wn, v.ve - we)
            thr = 50 if v.in_air else 0
            self.send(
                e.vfr_hud_encode(
                    air, v.ground_speed_mps, int(v.yaw_deg) % 360, thr, v.amsl_m, -v.vd
                )
            )
        elif msg_id == MSG_SYS_STATUS:
            health = SENSORS
            if not v.gps_ok:
                health &= ~(mav.MAV_SYS_STATUS_SENSOR_GPS | mav.MAV_SYS_STATUS_PREARM_CHECK)
            if v.battery < v.params["BAT_LOW_THR"]:
                health &= ~mav.MAV_SYS_STATUS_PREARM_CHECK
            self.send(
                e.sys_status_encode(
                    SENSORS,
                    SENSORS,
                    health,
                    250,
                    round(v.voltage_v * 1000),
                    1800 if v.in_air else 50,
                    round(v.battery * 100),
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                )
            )
        elif msg_id == MSG_BATTERY_STATUS:
            volts = [round(v.voltage_v * 1000)] + [65535] * 9
            consumed = round((1.0 - v.battery) * 5000)
            self.send(
                e.battery_status_encode(
                    0,
                    mav.MAV_BATTERY_FUNCTION_ALL,
                    mav.MAV_BATTERY_TYPE_LIPO,
                    2500,
                    volts,
                    1800 if v.in_air else 50,
                    consumed,
                    -1,
                    round(v.battery * 100),
                )
            )
        elif msg_id == MSG_GPS_RAW_INT:
            lat, lon = v.latlon
            fix, sats = (3, 14) if v.gps_ok else (1, 0)
            self.send(
                e.gps_raw_int_encode(
                    int(time.time() * 1e6),
                    fix,
                    round(lat * 1e7),
                    round(lon * 1e7),
                    round(v.amsl_m * 1000),
                    80 if v.gps_ok else 9999,
                    120 if v.gps_ok else 9999,
                    round(v.ground_speed_mps * 100),
                    round(v.yaw_deg * 100) % 36000,
                    sats,
                )
            )
        elif msg_id == MSG_EXTENDED_SYS_STATE:
            self.send(e.extended_sys_state_encode(0, int(v.landed)))
        elif msg_id == MSG_HOME_POSITION:
            self.send(
                e.home_position_encode(
                    round(v.home_lat * 1e7),
                    round(v.home_lon * 1e7),
                    round(v.home_amsl_m * 1000),
                    0.0,
                    0.0,
                    0.0,
                    [1.0, 0.0, 0.0, 0.0],
                    0.0,
                    0.0,
                    0.0,
                )
            )
        elif msg_id == MSG_MISSION_CURRENT:
            total = len(v.mission)
            seq = min(v.mission_current, max(total - 1, 0))
            state = v.mission_state if total else MissionState.NO_MISSION
            self.send(
                e.mission_current_encode(seq, total, int(state), 1 if v.mode is Mode.MISSION else 0)
            )
        elif msg_id == MSG_AUTOPILOT_VERSION:
            # PX4 v1.15.0 release: major.minor.patch.type
            version = (1 << 24) | (15 << 16) | (0 << 8) | 255
            self.send(
                e.autopilot_version_encode(
                    CAPABILITIES,
                    version,
                    0,
                    0,
                    0,
                    [0] * 8,
                    [0] * 8,
                    [0] * 8,
                    0x26AC,
                    0x11,
                    v.sysid,
                )
            )

    # ------------------------------------------------------------ receiving
    def _handle(self, msg: Any) -> None:
        t = msg.get_type()
        target = getattr(msg, "target_system", None)
        if target not in (None, 0, self.vehicle.sysid):
            return
        if t == "HEARTBEAT":
            if msg.type == mav.MAV_TYPE_GCS:
                self.gcs_seen_at = time.monotonic()
                self.vehicle.gcs_heartbeat()
            return
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        self._gcs = src
        if t in ("COMMAND_LONG", "COMMAND_INT"):
            self._command(msg, t == "COMMAND_INT", src)
        elif t == "MISSION_COUNT":
            self._mission_count(msg, src)
        elif t in ("MISSION_ITEM_INT", "MISSION_ITEM"):
            self._mission_item(msg, t == "MISSION_ITEM_INT", src)
        elif t == "MISSION_REQUEST_LIST":
            items = self._items(msg.mission_type)
            self.send(self._enc.mission_count_encode(*src, len(items), msg.mission_type))
        elif t in ("MISSION_REQUEST_INT", "MISSION_REQUEST"):
            self._send_item(msg.seq, msg.mission_type, src)
        elif t == "MISSION_CLEAR_ALL":
            self._clear(msg.mission_type)
            self.send(
                self._enc.mission_ack_encode(*src, mav.MAV_MISSION_ACCEPTED, msg.mission_type)
            )
        elif t == "MISSION_SET_CURRENT":
            self.vehicle.set_mission_current(msg.seq)
            self._send_stream(MSG_MISSION_CURRENT)
        elif t == "PARAM_REQUEST_READ":
            self._param_read(msg.param_id, msg.param_index)
        elif t == "PARAM_REQUEST_LIST":
            for i in range(len(self.vehicle.params.values)):
                self._param_read("", i)
        elif t == "PARAM_SET":
            name = _param_name(msg.param_id)
            self.vehicle.params.values[name] = float(msg.param_value)
            self._param_read(name, -1)
        elif t == "TIMESYNC" and msg.tc1 == 0:
            self.send(self._enc.timesync_encode(time.monotonic_ns(), msg.ts1))

    def _param_read(self, param_id: Any, index: int) -> None:
        values = self.vehicle.params.values
        names = list(values)
        name = _param_name(param_id)
        if index >= 0:
            if index >= len(names):
                return
            name = names[index]
        elif name not in values:
            return  # PX4 stays silent for unknown names; the client times out
        idx = names.index(name)
        self.send(
            self._enc.param_value_encode(
                name.encode(), values[name], mav.MAV_PARAM_TYPE_REAL32, len(names), idx
            )
        )

    # ------------------------------------------------------------ commands
    def _command(self, msg: Any, is_int: bool, src: tuple[int, int]) -> None:
        cmd = msg.command
        self.commands_seen.append(cmd)
        result, after = self._execute(msg, is_int)
        self.send(self._enc.command_ack_encode(cmd, result, 0, 0, src[0], src[1]))
        for fn in after:
            fn()

    def _execute(self, m: Any, is_int: bool) -> tuple[int, list]:
        v = self.vehicle
        cmd = m.command
        ok, denied = mav.MAV_RESULT_ACCEPTED, mav.MAV_RESULT_DENIED
        after: list = []
        if cmd == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            force = abs(m.param2 - FORCE_MAGIC) < 0.5
            if m.param1 >= 0.5:
                good, why = v.arm(force)
                if not good:
                    after.append(lambda: self.statustext(4, why))
                return (ok if good else denied), after
            return (ok if v.disarm(force) else denied), after
        if cmd == mav.MAV_CMD_NAV_TAKEOFF:
            alt = m.z if is_int else m.param7
            rel = None if (alt is None or math.isnan(alt)) else alt - v.home_amsl_m
            good, why = v.takeoff(rel)
            if not good:
                after.append(lambda: self.statustext(4, why))
            return (ok if good else denied), after
        if cmd == mav.MAV_CMD_NAV_LAND:
            v.set_mode(Mode.LAND)
            return ok, after
        if cmd == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            v.set_mode(Mode.RTL)
            return ok, after
        if cmd == mav.MAV_CMD_DO_SET_MODE:
            if not int(m.param1) & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
                return mav.MAV_RESULT_UNSUPPORTED, after
            mode = Mode.from_main_sub(int(m.param2), int(m.param3))
            if mode is None:
                return mav.MAV_RESULT_UNSUPPORTED, after
            return (ok if v.set_mode(mode) else denied), after
        if cmd == mav.MAV_CMD_DO_REPOSITION:
            lat, lon, alt_rel = self._target(m, is_int)
            n, e = v.frame.to_ne(lat, lon)
            speed = m.param1 if m.param1 > 0 else None
            if not v.reposition(n, e, alt_rel, speed):
                return mav.MAV_RESULT_TEMPORARILY_REJECTED, after
            return ok, after
        if cmd == mav.MAV_CMD_DO_ORBIT:
            lat, lon, alt_rel = self._target(m, is_int)
            # DO_ORBIT's altitude is MSL whatever the frame field says (common.xml; MAVSDK
            # sends COMMAND_INT with its default GLOBAL_RELATIVE_ALT frame and an AMSL z)
            z = m.z if is_int else m.param7
            if z is not None and not math.isnan(z):
                alt_rel = z - v.home_amsl_m
            n, e = v.frame.to_ne(lat, lon)
            radius = m.param1 if not math.isnan(m.param1) and m.param1 != 0 else 20.0
            vel = m.param2 if not math.isnan(m.param2) and m.param2 != 0 else 5.0
            if not v.start_orbit(n, e, radius, vel, alt_rel):
                return mav.MAV_RESULT_TEMPORARILY_REJECTED, after
            return ok, after
        if cmd == mav.MAV_CMD_MISSION_START:
            if not v.mission:
                return denied, after
            first = int(m.param1) if not math.isnan(m.param1) else 0
            v.set_mission_current(first if 0 <= first < len(v.mission) else 0)
            return (ok if v.set_mode(Mode.MISSION) else denied), after
        if cmd == mav.MAV_CMD_DO_PAUSE_CONTINUE:
            if int(m.param1) == 0:
                v.set_mode(Mode.HOLD)
                return ok, after
            return (ok if v.set_mode(Mode.MISSION) else denied), after
        if cmd == mav.MAV_CMD_DO_SET_MISSION_CURRENT:
            seq = int(m.param1) if not math.isnan(m.param1) else -1
            if seq >= 0 and not v.set_mission_current(seq):
                return denied, after
            if int(m.param2) == 1:
                v.set_mission_current(0)
            after.append(lambda: self._send_stream(MSG_MISSION_CURRENT))
            return ok, after
        if cmd == mav.MAV_CMD_DO_CHANGE_SPEED:
            if m.param2 > 0:
                v.speed_mps = min(m.param2, v.params["MPC_XY_VEL_MAX"])
            return ok, after
        if cmd == mav.MAV_CMD_ILLUMINATOR_ON_OFF:
            v.illuminator_on = m.param1 >= 0.5
            return ok, after
        if cmd == mav.MAV_CMD_SET_MESSAGE_INTERVAL:
            msg_id, interval_us = int(m.param1), m.param2
            if msg_id not in self.intervals:
                return denied, after
            if interval_us < 0:
                self.intervals[msg_id] = 0.0
            elif interval_us > 0:
                self.intervals[msg_id] = interval_us / 1e6
            self._next_due[msg_id] = time.monotonic()
            return ok, after
        if cmd == mav.MAV_CMD_REQUEST_MESSAGE:
            msg_id = int(m.param1)
            if msg_id not in self.intervals and msg_id != MSG_AUTOPILOT_VERSION:
                return denied, after
            after.append(lambda: self._send_stream(msg_id))
            return ok, after
        if cmd == mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            after.append(lambda: self._send_stream(MSG_AUTOPILOT_VERSION))
            return ok, after
        return mav.MAV_RESULT_UNSUPPORTED, after

    def _target(self, m: Any, is_int: bool) -> tuple[float, float, float]:
        """(lat, lon, alt above home) of a positional command; NaN/INT32_MAX keep current."""
        v = self.vehicle
        cur_lat, cur_lon = v.latlon
        if is_int:
            lat = cur_lat if m.x in (0, INT32_MAX) else m.x / 1e7
            lon = cur_lon if m.y in (0, INT32_MAX) else m.y / 1e7
            alt, frame = m.z, m.frame
        else:
            lat = cur_lat if math.isnan(m.param5) or m.param5 == 0 else m.param5
            lon = cur_lon if math.isnan(m.param6) or m.param6 == 0 else m.param6
            alt, frame = m.param7, mav.MAV_FRAME_GLOBAL
        if alt is None or math.isnan(alt):
            alt_rel = v.alt
        elif frame in (mav.MAV_FRAME_GLOBAL, mav.MAV_FRAME_GLOBAL_INT):
            alt_rel = alt - v.home_amsl_m
        else:
            alt_rel = alt
        return lat, lon, alt_rel

    # ------------------------------------------------------------ mission protocol
    def _items(self, mission_type: int) -> list[MissionItem]:
        v = self.vehicle
        if mission_type == mav.MAV_MISSION_TYPE_FENCE:
            return v.fence_items
        if mission_type == mav.MAV_MISSION_TYPE_RALLY:
            return v.rally_items
        return v.mission

    def _clear(self, mission_type: int) -> None:
        v = self.vehicle
        if mission_type in (mav.MAV_MISSION_TYPE_MISSION, mav.MAV_MISSION_TYPE_ALL):
            v.set_mission([])
        if mission_type in (mav.MAV_MISSION_TYPE_FENCE, mav.MAV_MISSION_TYPE_ALL):
            v.set_fence([])
        if mission_type in (mav.MAV_MISSION_TYPE_RALLY, mav.MAV_MISSION_TYPE_ALL):
            v.rally_items = []

    def _mission_count(self, msg: Any, src: tuple[int, int]) -> None:
        if msg.count == 0:
            self._clear(msg.mission_type)
            self.send(
                self._enc.mission_ack_encode(*src, mav.MAV_MISSION_ACCEPTED, msg.mission_type)
            )
            return
        self._upload = _Upload(msg.mission_type, msg.count, src)
        self._request_next()

    def _request_next(self) -> None:
        up = self._upload
        assert up is not None
        up.last_request_s = time.monotonic()
        self.send(self._enc.mission_request_int_encode(*up.gcs, len(up.items), up.mission_type))

    def _mission_item(self, msg: Any, is_int: bool, src: tuple[int, int]) -> None:
        up = self._upload
        if up is None or msg.mission_type != up.mission_type:
            return
        if msg.seq != len(up.items):
            self._request_next()  # duplicate or out of order: ask again for the one we need
            return
        x, y = (msg.x, msg.y) if is_int else (round(msg.x * 1e7), round(msg.y * 1e7))
        up.items.append(
            MissionItem(
                msg.seq,
                msg.frame,
                msg.command,
                msg.param1,
                msg.param2,
                msg.param3,
                msg.param4,
                x,
                y,
                msg.z,
                msg.autocontinue,
                msg.mission_type,
            )
        )
        up.retries = 0
        if len(up.items) < up.count:
            self._request_next()
            return
        self._upload = None
        result = self._store(up)
        self.send(self._enc.mission_ack_encode(*src, result, up.mission_type))
        if result == mav.MAV_MISSION_ACCEPTED and up.mission_type == mav.MAV_MISSION_TYPE_MISSION:
            self._send_stream(MSG_MISSION_CURRENT)

    def _store(self, up: _Upload) -> int:
        v = self.vehicle
        if up.mission_type == mav.MAV_MISSION_TYPE_FENCE:
            # PX4 rejects polygons with fewer than three vertices
            for it in up.items:
                if it.command in (5001, 5002) and int(it.param1) < 3:
                    return mav.MAV_MISSION_INVALID_PARAM1
            v.set_fence(up.items)
        elif up.mission_type == mav.MAV_MISSION_TYPE_RALLY:
            v.rally_items = up.items
        else:
            v.set_mission(up.items)
        return mav.MAV_MISSION_ACCEPTED

    def _send_item(self, seq: int, mission_type: int, src: tuple[int, int]) -> None:
        items = self._items(mission_type)
        if not 0 <= seq < len(items):
            self.send(
                self._enc.mission_ack_encode(*src, mav.MAV_MISSION_INVALID_SEQUENCE, mission_type)
            )
            return
        it = items[seq]
        self.send(
            self._enc.mission_item_int_encode(
                *src,
                it.seq,
                it.frame,
                it.command,
                1 if seq == self.vehicle.mission_current else 0,
                it.autocontinue,
                it.param1,
                it.param2,
                it.param3,
                it.param4,
                it.x,
                it.y,
                it.z,
                mission_type,
            )
        )

    def _transfer_timeouts(self, now: float) -> None:
        up = self._upload
        if up is None or now - up.last_request_s < TRANSFER_RETRY_S:
            return
        up.retries += 1
        if up.retries > TRANSFER_MAX_RETRIES:
            self._upload = None
            self.send(
                self._enc.mission_ack_encode(
                    *up.gcs, mav.MAV_MISSION_OPERATION_CANCELLED, up.mission_type
                )
            )
            return
        self._request_next()


def _param_name(raw: Any) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    return str(raw).rstrip("\x00")
