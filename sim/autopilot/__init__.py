"""Simulated PX4-like MAVLink autopilots (product code: they speak real MAVLink 2 over UDP).

Why pymavlink and not MAVSDK's server plugins: the ground-station side must be accepted by
MAVSDK's *client* plugins (action, mission, mission_raw, geofence, telemetry) exactly as PX4
is, and that needs control of details the mavsdk 4.x servers do not expose: PX4 custom-mode
encoding in HEARTBEAT and DO_SET_MODE, fence and rally mission types with polygon/circle
items, EXTENDED_SYS_STATE, MISSION_CURRENT with totals and state, STATUSTEXT on failsafes,
DO_ORBIT/DO_REPOSITION/ILLUMINATOR acks. Each MAVSDK server is also a whole ``Mavsdk``
instance with its own threads, which is the wrong shape for fifty autopilots on two cores;
pymavlink's generated encoder/parser used without its socket layer costs ~4 us per message
and lets all drones share one asyncio loop (see :mod:`sim.autopilot.swarm`).

Modules: :mod:`~sim.autopilot.vehicle` (kinematics, battery, modes, mission, failsafes; no
I/O), :mod:`~sim.autopilot.endpoint` (one drone's MAVLink socket), :mod:`~sim.autopilot.swarm`
(many drones, the time-scale, the JSON-over-UDP control port), :mod:`~sim.autopilot.px4`.
"""

from sim.autopilot.px4 import Mode
from sim.autopilot.swarm import ControlClient, SimDrone, Swarm, SwarmConfig, run_swarm
from sim.autopilot.vehicle import Vehicle

__all__ = ["ControlClient", "Mode", "SimDrone", "Swarm", "SwarmConfig", "Vehicle", "run_swarm"]
