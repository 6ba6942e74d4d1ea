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
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.client as mqtt

from fleet.errors import ConfigError, MessagingError

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]

# paho returns this from _packet_read when the socket has nothing more to give.
_PAHO_AGAIN = mqtt.MQTT_ERR_AGAIN
_MAX_PACKETS_PER_WAKE = 2000  # bounded, so a telemetry flood cannot starve other tasks


class _BufferedSocket:
    """A socket whose recv() serves from one large read.

    paho reads every packet header with recv(1) (one syscall per byte); at 20,000+ msg/s
    those syscalls, not our code, were the service's ceiling. Everything but recv is the
    real socket's.
    """

    __slots__ = ("_buf", "_pos", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._buf):
            data = self._sock.recv(1 << 18)  # BlockingIOError propagates: paho expects it
            if not data:
                return b""
            self._buf, self._pos = data, 0
        start = self._pos
        self._pos = min(start + bufsize, len(self._buf))
        return self._buf[start : self._pos]

    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DirectClient(aiomqtt.Client):
    """aiomqtt.Client that hands each PUBLISH straight to a synchronous handler.

    aiomqtt queues a `Message` per packet and reads one packet per event-loop wake-up;
    measured here that capped ingest near 12,000 msg/s on 2 cores. This subclass keeps
    aiomqtt's connection life cycle, subscribe and publish, and replaces only the read path:
    all buffered packets are parsed per wake-up and delivered without a queue. It relies on
    aiomqtt 2.x / paho 2.x internals, which is why both are pinned and nothing else in the
    code base touches them.
    """

    def __init__(self, *args: Any, handler: MessageHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._direct_handler = handler

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._direct_handler(message.topic, message.payload)
        except Exception:  # a handler bug must never stop the bus
            log.exception("mqtt.handler.failed", extra={"topic": message.topic})

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        buffered = _BufferedSocket(sock)
        client._sock = buffered

        def read() -> None:
            try:
                for _ in range(_MAX_PACKETS_PER_WAKE):
                    if client._sock is None:
                        return
                    rc = client._packet_read()
                    if rc == _PAHO_AGAIN:
                        return
                    if rc > 0:
                        client._loop_rc_handle(rc)
                        return
                # Budget used up with data still buffered: the socket may not signal
                # readable again for it, so come back on the next loop iteration.
                if buffered.buffered():
                    self._loop.call_soon(read)
            except Exception as exc:
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        def create_misc_task() -> None:
            self._misc_task = self._loop.create_task(self._misc_loop())

        self._loop.call_soon_threadsafe(self._loop.add_reader, sock.fileno(), read)
        self._loop.call_soon_threadsafe(create_misc_task)


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
                async with _DirectClient(
                    self.address.host,
                    self.address.port,
                    handler=self._on_message,
                    username=self.address.username,
                    password=self.address.password,
                    identifier=self._client_id,
                    # A persistent session: QoS 1 acks, alerts and check-ins sent while the
                    # service restarts are queued by the broker and delivered on reconnect.
                    clean_session=False,
                    keepalive=10,
                    will=will,
                    timeout=10,
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
                    # Messages go to the handler directly; this only waits for the
                    # disconnect, which the iterator raises as MqttError.
                    async for _ in client.messages:
                        pass
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
