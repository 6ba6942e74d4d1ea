"""The live picture: every unit's latest position and status, in memory, with a spatial index.

Telemetry lands here at tens of thousands of messages per second, so the hot path is a dict
lookup and a few attribute writes. The spatial index is a set of flat numpy arrays (one slot
per unit) updated in place: at these update rates a vectorised scan over 10,000 units (tens of
microseconds) beats rebuilding a KD-tree on every change.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from fleet.domain import Position, Unit
from fleet.types import UnitKind, UnitStatus

EARTH_RADIUS_M = 6_371_008.8


@dataclass(slots=True)
class LiveUnit:
    """Mutable live record of one unit (owned by `LiveState`; copy it to hand it out)."""

    unit_id: str
    kind: UnitKind
    name: str
    slot: int
    lon: float | None = None
    lat: float | None = None
    alt_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    battery_pct: float | None = None
    reported_status: UnitStatus | None = None
    on_duty: bool = False
    team_size: int = 1
    online: bool = False
    last_seen: datetime | None = None
    last_seen_mono: float = -math.inf
    last_history_mono: float = -math.inf
    messages: int = 0

    @property
    def status(self) -> UnitStatus:
        if not self.online:
            return UnitStatus.OFFLINE if self.last_seen is not None else UnitStatus.UNKNOWN
        return self.reported_status or UnitStatus.AVAILABLE

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.unit_id,
            "kind": self.kind.value,
            "name": self.name,
            "lon": self.lon,
            "lat": self.lat,
            "alt_m": self.alt_m,
            "speed_mps": self.speed_mps,
            "heading_deg": self.heading_deg,
            "battery_pct": self.battery_pct,
            "status": self.status.value,
            "on_duty": self.on_duty,
            "team_size": self.team_size,
            "online": self.online,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }


class LiveState:
    """Latest state of every registered unit, plus buffered history for the store."""

    def __init__(
        self, *, offline_after_s: float = 30.0, history_min_interval_s: float = 5.0
    ) -> None:
        self.offline_after_s = offline_after_s
        self.history_min_interval_s = history_min_interval_s
        self.units: dict[str, LiveUnit] = {}
        self._capacity = 1024
        self._lon = np.full(self._capacity, np.nan)
        self._lat = np.full(self._capacity, np.nan)
        self._ids: list[str | None] = [None] * self._capacity
        self._history: list[Position] = []
        # Units changed since the last stream batch; the coordinator turns them into one
        # "units.updated" event per interval instead of one event per message.
        self.dirty: set[str] = set()

    # --- registry ---------------------------------------------------------------------

    def register(self, unit: Unit) -> LiveUnit:
        """Make a unit known (telemetry from unknown units is dead-lettered)."""
        live = self.units.get(unit.id)
        if live is not None:
            return live
        slot = len(self.units)
        if slot >= self._capacity:
            self._grow()
        live = LiveUnit(
            unit_id=unit.id, kind=unit.kind, name=unit.name, slot=slot, team_size=unit.team_size
        )
        self.units[unit.id] = live
        self._ids[slot] = unit.id
        return live

    def _grow(self) -> None:
        extra = self._capacity
        self._lon = np.concatenate([self._lon, np.full(extra, np.nan)])
        self._lat = np.concatenate([self._lat, np.full(extra, np.nan)])
        self._ids.extend([None] * extra)
        self._capacity += extra

    def seed_position(self, p: Position) -> None:
        """Restore the last stored position after a restart (the unit stays offline until
        it speaks again)."""
        live = self.units.get(p.unit_id)
        if live is None:
            return
        live.lon, live.lat, live.alt_m = p.lon, p.lat, p.alt_m
        live.speed_mps, live.heading_deg, live.battery_pct = (
            p.speed_mps,
            p.heading_deg,
            p.battery_pct,
        )
        live.last_seen = p.at
        self._lon[live.slot] = p.lon
        self._lat[live.slot] = p.lat

    # --- updates (hot path) -----------------------------------------------------------

    def apply_position(
        self,
        unit_id: str,
        lon: float,
        lat: float,
        *,
        alt_m: float | None = None,
        speed_mps: float | None = None,
        heading_deg: float | None = None,
        battery_pct: float | None = None,
        status: UnitStatus | None = None,
        at: datetime | None = None,
        now_mono: float | None = None,
    ) -> LiveUnit | None:
        """Apply one position report; returns the live record, or None for an unknown unit.

        A unit that comes back from silence is marked online here; the caller publishes the
        event when `came_online` is reported through `LiveUnit.online` flipping.
        """
        live = self.units.get(unit_id)
        if live is None:
            return None
        mono = time.monotonic() if now_mono is None else now_mono
        when = at or datetime.now(UTC)
        live.lon = lon
        live.lat = lat
        if alt_m is not None:
            live.alt_m = alt_m
        if speed_mps is not None:
            live.speed_mps = speed_mps
        if heading_deg is not None:
            live.heading_deg = heading_deg
        if battery_pct is not None:
            live.battery_pct = battery_pct
        if status is not None:
            live.reported_status = status
        live.last_seen = when
        live.last_seen_mono = mono
        live.online = True
        live.messages += 1
        self.dirty.add(unit_id)
        self._lon[live.slot] = lon
        self._lat[live.slot] = lat
        if mono - live.last_history_mono >= self.history_min_interval_s:
            live.last_history_mono = mono
            self._history.append(
                Position(
                    unit_id,
                    when,
                    lon,
                    lat,
                    live.alt_m,
                    live.speed_mps,
                    live.heading_deg,
                    live.battery_pct,
                )
            )
        return live

    def set_duty(
        self, unit_id: str, on_duty: bool, team_size: int | None = None
    ) -> LiveUnit | None:
        live = self.units.get(unit_id)
        if live is None:
            return None
        live.on_duty = on_duty
        if team_size is not None:
            live.team_size = team_size
        return live

    def set_online(self, unit_id: str, online: bool) -> LiveUnit | None:
        live = self.units.get(unit_id)
        if live is None:
            return None
        live.online = online
        return live

    def sweep_offline(self, now_mono: float | None = None) -> list[LiveUnit]:
        """Mark units silent for longer than `offline_after_s` offline; returns those that
        changed."""
        now = time.monotonic() if now_mono is None else now_mono
        limit = now - self.offline_after_s
        gone = [u for u in self.units.values() if u.online and u.last_seen_mono < limit]
        for u in gone:
            u.online = False
        return gone

    def drain_dirty(self) -> list[LiveUnit]:
        ids, self.dirty = self.dirty, set()
        return [self.units[i] for i in ids]

    def drain_history(self) -> list[Position]:
        batch, self._history = self._history, []
        return batch

    def requeue_history(self, batch: Iterable[Position]) -> None:
        """Put back a batch the store could not take, so no position is dropped."""
        self._history[:0] = list(batch)

    # --- queries ----------------------------------------------------------------------

    def get(self, unit_id: str) -> LiveUnit | None:
        return self.units.get(unit_id)

    def online_count(self) -> int:
        return sum(1 for u in self.units.values() if u.online)

    def nearest(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 10,
        within_m: float | None = None,
        kinds: Iterable[UnitKind] | None = None,
        online_only: bool = True,
    ) -> list[tuple[str, float]]:
        """The `k` nearest units to (lon, lat) as (unit_id, metres), nearest first."""
        n = len(self.units)
        if n == 0 or k <= 0:
            return []
        d = haversine_m(lon, lat, self._lon[:n], self._lat[:n])
        mask = ~np.isnan(d)
        if within_m is not None:
            mask &= d <= within_m
        if kinds is not None or online_only:
            kind_set = set(kinds) if kinds is not None else None
            keep = np.fromiter(
                (
                    (kind_set is None or u.kind in kind_set) and (not online_only or u.online)
                    for u in self.units.values()
                ),
                dtype=bool,
                count=n,
            )
            mask &= keep
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return []
        if idx.size > k:
            part = np.argpartition(d[idx], k - 1)[:k]
            idx = idx[part]
        idx = idx[np.argsort(d[idx], kind="stable")]
        return [(self._ids[i], float(d[i])) for i in idx]  # type: ignore[misc]


def haversine_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres from one point to many (vectorised)."""
    lon1, lat1 = math.radians(lon), math.radians(lat)
    lon2, lat2 = np.radians(lons), np.radians(lats)
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
