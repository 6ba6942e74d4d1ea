"""Electronic-fence watch: a unit leaving its patrol zone, a drone nearing a no-fly zone.

Checked once a second over the live state (fences are reloaded every few seconds); each
crossing raises one event, not one per second, and is audited.
"""

from __future__ import annotations

import time
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fleet.domain import SYSTEM, Fence
from fleet.events import EventHub
from fleet.state import LiveState
from fleet.store.repo import Store
from fleet.types import FenceKind, UnitKind

_RELOAD_S = 5.0
_DEG_PER_M = 1 / 111_320  # metres to degrees of latitude (good enough for a proximity alarm)


class ZoneWatch:
    def __init__(
        self, *, store: Store, state: LiveState, events: EventHub, warn_distance_m: float
    ) -> None:
        self.store = store
        self.state = state
        self.events = events
        self.warn_distance_m = warn_distance_m
        self._zones: dict[str, tuple[Fence, BaseGeometry]] = {}
        self._no_fly: list[tuple[Fence, BaseGeometry]] = []
        self._home_zone: dict[str, str] = {}
        self._loaded_at = -1e9
        self.outside: set[str] = set()  # units currently outside their zone
        self.near: set[str] = set()  # drones currently near a no-fly zone

    async def _reload(self) -> None:
        fences = await self.store.list_fences(active=True)
        self._zones = {
            f.id: (f, shape(f.geometry))
            for f in fences
            if f.kind in (FenceKind.PATROL_ZONE, FenceKind.KEEP_IN)
        }
        self._no_fly = [(f, shape(f.geometry)) for f in fences if f.kind is FenceKind.NO_FLY]
        for g in [g for _, g in self._zones.values()] + [g for _, g in self._no_fly]:
            shapely.prepare(g)
        self._home_zone = {
            u.id: u.home_zone_id for u in await self.store.list_units() if u.home_zone_id
        }
        self._loaded_at = time.monotonic()

    async def check(self) -> list[dict[str, Any]]:
        """One pass; returns the events it raised."""
        if time.monotonic() - self._loaded_at > _RELOAD_S:
            await self._reload()
        raised: list[dict[str, Any]] = []
        for unit_id, zone_id in self._home_zone.items():
            live = self.state.get(unit_id)
            zone = self._zones.get(zone_id)
            if live is None or live.lon is None or live.lat is None or zone is None:
                continue
            inside = shapely.contains_xy(zone[1], live.lon, live.lat)
            if not inside and unit_id not in self.outside:
                self.outside.add(unit_id)
                raised.append(
                    await self._raise("unit.left_zone", unit_id, zone[0], live.lon, live.lat)
                )
            elif inside and unit_id in self.outside:
                self.outside.discard(unit_id)
                raised.append(
                    await self._raise("unit.back_in_zone", unit_id, zone[0], live.lon, live.lat)
                )
        if self._no_fly:
            for live in self.state.units.values():
                if live.kind is not UnitKind.DRONE or live.lon is None or live.lat is None:
                    continue
                close = next(
                    (
                        f
                        for f, g in self._no_fly
                        if shapely.dwithin(
                            g, shapely.Point(live.lon, live.lat), self.warn_distance_m * _DEG_PER_M
                        )
                    ),
                    None,
                )
                if close is not None and live.unit_id not in self.near:
                    self.near.add(live.unit_id)
                    raised.append(
                        await self._raise(
                            "drone.near_no_fly", live.unit_id, close, live.lon, live.lat
                        )
                    )
                elif close is None:
                    self.near.discard(live.unit_id)
        return raised

    async def _raise(
        self, kind: str, unit_id: str, fence: Fence, lon: float, lat: float
    ) -> dict[str, Any]:
        data = {
            "unit_id": unit_id,
            "fence_id": fence.id,
            "fence": fence.name,
            "lon": lon,
            "lat": lat,
        }
        self.events.publish(kind, data)
        await self.store.audit(SYSTEM, kind, "unit", unit_id, data)
        return data
