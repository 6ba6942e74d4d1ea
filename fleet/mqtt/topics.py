"""Every MQTT topic of the service, built and parsed in one place (`<root>/v1/...`).

The root is configurable (default ``patrolfleet``) so that several deployments, or several
test runs, can share one broker without hearing each other.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

VERSION = "v1"
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class TopicKind(enum.StrEnum):
    """What a topic carries; inbound kinds are subscribed by the service."""

    TELEMETRY = "telemetry"  # in: units/{id}/telemetry
    DUTY = "duty"  # in: units/{id}/duty
    COMMANDS = "commands"  # out: units/{id}/commands (QoS 1)
    ACKS = "acks"  # in: units/{id}/acks
    STATE = "state"  # in: units/{id}/state, retained presence (Will on disconnect)
    PAYLOAD = "payload"  # out: drones/{id}/payload (QoS 1)
    PAYLOAD_STATE = "payload_state"  # in: drones/{id}/payload/state
    ALERTS = "alerts"  # in: alerts
    EVENTS = "events"  # out: events/{type}
    DEADLETTER = "deadletter"  # out: deadletter


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    kind: TopicKind
    unit_id: str | None = None
    event: str | None = None


def valid_id(unit_id: str) -> bool:
    return bool(_ID.match(unit_id))


class Topics:
    """Topic builder and parser for one root."""

    __slots__ = ("_prefix", "_prefix_len", "root")

    def __init__(self, root: str = "patrolfleet") -> None:
        if not root or any(c in root for c in "+#/"):
            raise ValueError(f"invalid MQTT topic root {root!r}")
        self.root = root
        self._prefix = f"{root}/{VERSION}/"
        self._prefix_len = len(self._prefix)

    # builders
    def telemetry(self, unit_id: str) -> str:
        return f"{self._prefix}units/{unit_id}/telemetry"

    def duty(self, unit_id: str) -> str:
        return f"{self._prefix}units/{unit_id}/duty"

    def commands(self, unit_id: str) -> str:
        return f"{self._prefix}units/{unit_id}/commands"

    def acks(self, unit_id: str) -> str:
        return f"{self._prefix}units/{unit_id}/acks"

    def state(self, unit_id: str) -> str:
        return f"{self._prefix}units/{unit_id}/state"

    def payload(self, drone_id: str) -> str:
        return f"{self._prefix}drones/{drone_id}/payload"

    def payload_state(self, drone_id: str) -> str:
        return f"{self._prefix}drones/{drone_id}/payload/state"

    def alerts(self) -> str:
        return f"{self._prefix}alerts"

    def event(self, event_type: str) -> str:
        return f"{self._prefix}events/{event_type.replace('.', '/')}"

    def deadletter(self) -> str:
        return f"{self._prefix}deadletter"

    def service_state(self) -> str:
        return f"{self._prefix}service/state"

    def subscriptions(self) -> list[tuple[str, int]]:
        """Topic filters the service subscribes to, with their QoS."""
        p = self._prefix
        return [
            (f"{p}units/+/telemetry", 0),
            (f"{p}units/+/duty", 1),
            (f"{p}units/+/acks", 1),
            (f"{p}units/+/state", 1),
            (f"{p}drones/+/payload/state", 1),
            (f"{p}alerts", 1),
        ]

    def parse(self, topic: str) -> ParsedTopic | None:
        """Parse an inbound topic; None for anything outside the layout."""
        if not topic.startswith(self._prefix):
            return None
        parts = topic[self._prefix_len :].split("/")
        n = len(parts)
        if n == 3 and parts[0] == "units" and valid_id(parts[1]):
            try:
                kind = TopicKind(parts[2])
            except ValueError:
                return None
            if kind in (
                TopicKind.TELEMETRY,
                TopicKind.DUTY,
                TopicKind.ACKS,
                TopicKind.STATE,
                TopicKind.COMMANDS,
            ):
                return ParsedTopic(kind, parts[1])
            return None
        if parts[0] == "drones" and n >= 3 and valid_id(parts[1]) and parts[2] == "payload":
            if n == 3:
                return ParsedTopic(TopicKind.PAYLOAD, parts[1])
            if n == 4 and parts[3] == "state":
                return ParsedTopic(TopicKind.PAYLOAD_STATE, parts[1])
            return None
        if n == 1 and parts[0] == "alerts":
            return ParsedTopic(TopicKind.ALERTS)
        if n == 1 and parts[0] == "deadletter":
            return ParsedTopic(TopicKind.DEADLETTER)
        if n >= 2 and parts[0] == "events":
            return ParsedTopic(TopicKind.EVENTS, event=".".join(parts[1:]))
        return None
