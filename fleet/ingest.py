"""Inbound MQTT: validate every message, apply telemetry to the live state, queue slow work.

`Ingest.handle` runs synchronously on the bus's receive loop for every message, so it does
only in-memory work; anything that touches the database (duty, acks, alerts) goes to a queue
served by the coordinator's workers. A message that cannot be accepted is counted, published
to the dead-letter topic with the reason, and dropped; the handler never raises.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fleet.errors import MessagingError
from fleet.events import EventHub
from fleet.metrics import Metrics
from fleet.mqtt import schemas
from fleet.mqtt.topics import TopicKind, Topics
from fleet.state import LiveState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    """A validated message that needs async work (database, outbox)."""

    kind: TopicKind
    unit_id: str | None
    message: Any
    received_at: datetime


class Ingest:
    def __init__(
        self,
        *,
        topics: Topics,
        state: LiveState,
        events: EventHub,
        metrics: Metrics,
        publish_nowait: Callable[[str, bytes], bool],
        max_payload_bytes: int,
    ) -> None:
        self.topics = topics
        self.state = state
        self.events = events
        self.metrics = metrics
        self._publish_nowait = publish_nowait
        self.max_payload_bytes = max_payload_bytes
        self.work: asyncio.Queue[Inbound] = asyncio.Queue()  # unbounded: never drop a record
        self.recent_dead_letters: collections.deque[schemas.DeadLetter] = collections.deque(
            maxlen=200
        )
        self.processed = 0
        # Telemetry age on arrival (receive time minus the unit's own `ts`), sampled only when
        # a benchmark or a diagnosis asks for it.
        self.lag_samples: collections.deque[float] | None = None
        self._seen_reasons: set[str] = set()
        self._telemetry_counter = metrics.messages_in.labels("telemetry")

    def dead_letter(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        self.metrics.dead_letters.labels(reason).inc()
        letter = schemas.DeadLetter(
            topic=topic,
            reason=reason,
            detail=detail[:500],
            size=len(payload),
            payload_excerpt=payload[:256].decode("utf-8", "replace"),
            received_at=datetime.now(UTC),
        )
        self.recent_dead_letters.append(letter)
        if reason not in self._seen_reasons:  # log each kind of failure once, not every time
            self._seen_reasons.add(reason)
            log.warning(
                "mqtt.deadletter", extra={"reason": reason, "topic": topic, "detail": detail}
            )
        self._publish_nowait(self.topics.deadletter(), letter.to_bytes())

    def handle(self, topic: str, payload: bytes) -> None:
        if len(payload) > self.max_payload_bytes:
            self.dead_letter(
                topic,
                payload,
                "oversized",
                f"{len(payload)} bytes exceeds the limit of {self.max_payload_bytes}",
            )
            return
        parsed = self.topics.parse(topic)
        if parsed is None:
            self.dead_letter(topic, payload, "unknown_topic", "topic outside the v1 layout")
            return
        kind = parsed.kind
        try:
            if kind is TopicKind.TELEMETRY:
                self._telemetry(parsed.unit_id or "", topic, payload)
                return
            self.metrics.messages_in.labels(kind.value).inc()
            if kind is TopicKind.DUTY:
                duty = schemas.parse(schemas.Duty, payload)
                if self._need_unit(parsed.unit_id, topic, payload):
                    self._queue(kind, parsed.unit_id, duty)
            elif kind is TopicKind.ACKS:
                self._queue(kind, parsed.unit_id, schemas.parse(schemas.Ack, payload))
            elif kind is TopicKind.STATE:
                presence = schemas.parse(schemas.Presence, payload)
                if self._need_unit(parsed.unit_id, topic, payload):
                    live = self.state.set_online(parsed.unit_id or "", presence.online)
                    if live is not None:
                        self.events.publish("unit.presence", live.to_dict())
            elif kind is TopicKind.PAYLOAD_STATE:
                self._queue(kind, parsed.unit_id, payload)
            elif kind is TopicKind.ALERTS:
                self._queue(kind, None, schemas.parse(schemas.Alert, payload))
            else:
                self.dead_letter(topic, payload, "unexpected_topic", f"{kind} is outbound only")
        except MessagingError as exc:
            self.dead_letter(topic, payload, exc.type, exc.detail)

    def _telemetry(self, unit_id: str, topic: str, payload: bytes) -> None:
        self._telemetry_counter.inc()
        if unit_id not in self.state.units:
            self.dead_letter(topic, payload, "unknown_unit", f"unit {unit_id!r} is not registered")
            return
        t = schemas.parse(schemas.Telemetry, payload)
        self.state.apply_position(
            unit_id,
            t.lon,
            t.lat,
            alt_m=t.alt_m,
            speed_mps=t.speed_mps,
            heading_deg=t.heading_deg,
            battery_pct=t.battery_pct,
            status=t.status,
            at=t.ts,
        )
        self.processed += 1
        if self.lag_samples is not None and t.ts is not None:
            self.lag_samples.append(time.time() - t.ts.timestamp())

    def _need_unit(self, unit_id: str | None, topic: str, payload: bytes) -> bool:
        if unit_id and unit_id in self.state.units:
            return True
        self.dead_letter(topic, payload, "unknown_unit", f"unit {unit_id!r} is not registered")
        return False

    def _queue(self, kind: TopicKind, unit_id: str | None, message: Any) -> None:
        self.work.put_nowait(Inbound(kind, unit_id, message, datetime.now(UTC)))
