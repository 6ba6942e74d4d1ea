"""Recurring patrols: when a schedule's next window opens (pure functions over a clock)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fleet.patrols.domain import PatrolSchedule

__all__ = ["due_window", "parse_hhmm"]


def parse_hhmm(value: str) -> time:
    """``"17:00"`` -> 17:00.

    Raises
    ------
    ValueError
        For anything but HH:MM.
    """
    hh, _, mm = value.partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise ValueError(f"expected HH:MM, got {value!r}")
    return time(int(hh), int(mm))


def due_window(schedule: PatrolSchedule, now: datetime) -> tuple[datetime, datetime] | None:
    """The window to start now, or None.

    A window is due when today (local to the schedule's time zone) is one of its ISO
    weekdays, the local time is within ``[start, end)``, and no patrol was started for it
    today (``last_run_on``). A window whose end is not after its start runs past midnight.
    Starting late (the service was down at the start) still runs the rest of the window.
    """
    if not schedule.active:
        return None
    tz = ZoneInfo(schedule.timezone)
    local = now.astimezone(tz)
    start_t, end_t = parse_hhmm(schedule.start_time), parse_hhmm(schedule.end_time)
    for day_offset in (0, -1):  # yesterday's window may still be open past midnight
        day = local.date() + timedelta(days=day_offset)
        if day.isoweekday() not in schedule.days:
            continue
        start = datetime.combine(day, start_t, tzinfo=tz)
        end = datetime.combine(day, end_t, tzinfo=tz)
        if end <= start:
            end += timedelta(days=1)
        if start <= local < end and schedule.last_run_on != day.isoformat():
            return start, end
    return None
