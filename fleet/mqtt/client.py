"""The service's MQTT connection: aiomqtt 2.x behind one class, reconnecting with backoff.

aiomqtt is pinned below 3.0 (an incompatible alpha); nothing outside this module imports it,
and its errors leave as `MessagingError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt

from fleet.errors import ConfigError, MessagingError

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """Parse ``mqtt://[user:pass@]host[:port]``.

        Raises
        ------
        ConfigError
            For another scheme or a URL without a host.
        """
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ConfigError(f"MQTT URL must look like mqtt://host:port, got {url!r}")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)


class Bus:
    """One MQTT session for the whole service.

    Inbound messages are handed, in order, to one synchronous handler (the ingest), which
    must not block: anything slow is queued by the handler itself. `publish` raises
    `MessagingError` while the broker is unreachable, so callers (the outbox) keep the
    record and retry after `wait_connected()`.
    """

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        subscriptions: list[tuple[str, int]],
        on_message: MessageHandler,
        will: tuple[str, bytes] | None = None,
        birth: tuple[str, bytes] | None = None,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.address = address
        self._client_id = client_id
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._will = will
        self._birth = birth
        self._max_backoff_s = max_backoff_s
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self.connects = 0
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Connect, subscribe, and dispatch messages forever; reconnect on any loss."""
        attempt = 0
        while True:
            try:
                will = (
                    aiomqtt.Will(self._will[0], self._will[1], qos=1, retain=True)
                    if self._will
                    else None
                )
                async with aiomqtt.Client(
                    self.address.host,
                    self.address.port,
                    username=self.address.username,
                    password=self.address.password,
                    identifier=self._client_id,
                    # A persistent session: QoS 1 acks, alerts and check-ins sent while the
                    # service restarts are queued by the broker and delivered on reconnect.
                    clean_session=False,
                    keepalive=10,
                    will=will,
                    timeout=10,
                    max_queued_incoming_messages=200_000,
                ) as client:
                    await client.subscribe(self._subscriptions)
                    if self._birth:
                        await client.publish(self._birth[0], self._birth[1], qos=1, retain=True)
                    self._client = client
                    self._connected.set()
                    self.connects += 1
                    if attempt:
                        log.info("mqtt.reconnected", extra={"attempts": attempt})
                    attempt = 0
                    self.last_error = None
                    if started is not None:
                        started.set()
                    handler = self._on_message
                    async for message in client.messages:
                        payload = message.payload
                        if not isinstance(payload, bytes | bytearray):
                            payload = b"" if payload is None else str(payload).encode()
                        try:
                            handler(message.topic.value, bytes(payload))
                        except Exception:  # a handler bug must never stop the bus
                            log.exception(
                                "mqtt.handler.failed", extra={"topic": str(message.topic)}
                            )
            except aiomqtt.MqttError as exc:
                self._connected.clear()
                self._client = None
                if attempt == 0:
                    log.warning("mqtt.disconnected", extra={"error": str(exc)})
                self.last_error = str(exc)
                attempt += 1
                # Jittered exponential backoff so a fleet of services does not stampede a
                # restarted broker.
                delay = min(self._max_backoff_s, 0.2 * 2 ** min(attempt, 6))
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
            finally:
                self._connected.clear()
                self._client = None

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; with QoS 1 this returns once the broker has acknowledged the message.

        Raises
        ------
        MessagingError
            When not connected, or the broker did not acknowledge in time.
        """
        client = self._client
        if client is None:
            raise MessagingError("MQTT broker not connected", broker=self.address.host)
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=5)
        except aiomqtt.MqttError as exc:
            raise MessagingError(f"MQTT publish failed: {exc}") from exc

    def publish_nowait(self, topic: str, payload: bytes, *, qos: int = 0) -> bool:
        """Fire a best-effort message (events, dead letters); False if not connected."""
        client = self._client
        if client is None:
            return False
        # paho's own publish queues the packet without waiting for an ack.
        info = client._client.publish(topic, payload, qos=qos)
        return info.rc == 0
