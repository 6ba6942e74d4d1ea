"""Prometheus metrics, one registry per running service (no module-global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter(
            "patrolfleet_mqtt_messages_in", "MQTT messages received", ["kind"], registry=r
        )
        self.dead_letters = Counter(
            "patrolfleet_mqtt_dead_letters", "MQTT messages dead-lettered", ["reason"], registry=r
        )
        self.api_latency = Histogram(
            "patrolfleet_api_request_seconds",
            "API request latency",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.units_online = Gauge("patrolfleet_units_online", "Units online", registry=r)
        self.units_known = Gauge("patrolfleet_units_known", "Units registered", registry=r)
        self.commands = Counter(
            "patrolfleet_commands", "Command outcomes", ["channel", "status"], registry=r
        )
        self.mqtt_connected = Gauge(
            "patrolfleet_mqtt_connected", "1 while the MQTT broker is connected", registry=r
        )
        self.positions_written = Counter(
            "patrolfleet_positions_written", "Position history rows written", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
