"""PX4's flight-mode encoding on the wire (HEARTBEAT.custom_mode and MAV_CMD_DO_SET_MODE).

PX4 packs ``px4_custom_mode`` as ``{uint16 reserved; uint8 main_mode; uint8 sub_mode}``, so a
HEARTBEAT's ``custom_mode`` is ``main << 16 | sub << 24`` (PX4 ``src/modules/commander/
px4_custom_mode.h``). MAVSDK decodes flight modes from exactly this when the autopilot
field is MAV_AUTOPILOT_PX4.
"""

from __future__ import annotations

import enum

# main modes
MAIN_MANUAL = 1
MAIN_ALTCTL = 2
MAIN_POSCTL = 3
MAIN_AUTO = 4
MAIN_ACRO = 5
MAIN_OFFBOARD = 6
MAIN_STABILIZED = 7

# AUTO sub modes
SUB_AUTO_READY = 1
SUB_AUTO_TAKEOFF = 2
SUB_AUTO_LOITER = 3
SUB_AUTO_MISSION = 4
SUB_AUTO_RTL = 5
SUB_AUTO_LAND = 6

# POSCTL sub modes
SUB_POSCTL_POSCTL = 0
SUB_POSCTL_ORBIT = 1


class Mode(enum.Enum):
    """The flight modes the simulated autopilot implements, with their PX4 (main, sub)."""

    MANUAL = (MAIN_MANUAL, 0)  # pilot in control: the sim holds position
    ALTCTL = (MAIN_ALTCTL, 0)  # altitude control: the sim holds position
    POSCTL = (MAIN_POSCTL, SUB_POSCTL_POSCTL)  # position control: hold
    ORBIT = (MAIN_POSCTL, SUB_POSCTL_ORBIT)  # circling a point (MAV_CMD_DO_ORBIT)
    HOLD = (MAIN_AUTO, SUB_AUTO_LOITER)  # loiter / reposition target
    TAKEOFF = (MAIN_AUTO, SUB_AUTO_TAKEOFF)  # climbing to the takeoff altitude
    MISSION = (MAIN_AUTO, SUB_AUTO_MISSION)  # flying the uploaded mission
    RTL = (MAIN_AUTO, SUB_AUTO_RTL)  # return to launch and land
    LAND = (MAIN_AUTO, SUB_AUTO_LAND)  # descend and land here

    @property
    def custom_mode(self) -> int:
        main, sub = self.value
        return (main << 16) | (sub << 24)

    @classmethod
    def from_main_sub(cls, main: int, sub: int) -> Mode | None:
        """Map a DO_SET_MODE request to a mode; None when the sim does not support it."""
        if main == MAIN_AUTO:
            for mode in cls:
                if mode.value == (main, sub):
                    return mode
            return None
        if main in (MAIN_POSCTL,):
            return cls.ORBIT if sub == SUB_POSCTL_ORBIT else cls.POSCTL
        if main in (MAIN_MANUAL, MAIN_STABILIZED, MAIN_ACRO):
            return cls.MANUAL
        if main == MAIN_ALTCTL:
            return cls.ALTCTL
        return None
