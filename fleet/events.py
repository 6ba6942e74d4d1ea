"""The event stream: what changed in the fleet, fanned out to WebSocket clients and MQTT.

Each subscriber has a bounded queue; a slow consumer loses its oldest events (and is told how
many) rather than slowing the fleet down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FleetEvent:
    type: str  # e.g. "unit.updated", "incident.created", "duty.check_in", "fence.created"
    data: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "at": self.at.isoformat(), "data": self.data}


class Subscription:
    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[FleetEvent] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, event: FleetEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.queue.get_nowait()
            self.dropped += 1
            self.queue.put_nowait(event)

    async def get(self) -> FleetEvent:
        return await self.queue.get()


class EventHub:
    """In-process publish/subscribe of fleet events."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._listeners: list[Callable[[FleetEvent], None]] = []

    def publish(self, type_: str, data: dict[str, Any]) -> FleetEvent:
        event = FleetEvent(type_, data)
        for sub in self._subscribers:
            sub.offer(event)
        for listener in self._listeners:
            listener(event)
        return event

    def add_listener(self, listener: Callable[[FleetEvent], None]) -> Callable[[], None]:
        """Call `listener` synchronously for every event; returns the unsubscribe callable."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @asynccontextmanager
    async def subscribe(self, maxsize: int = 1000) -> AsyncIterator[Subscription]:
        sub = Subscription(maxsize)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
