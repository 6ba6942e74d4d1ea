"""The embedded MQTT broker (amqtt) for the zero-install default; production uses Mosquitto."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


@asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1", port: int = 1884) -> AsyncIterator[str]:
    """Run an in-process MQTT 3.1.1 broker; yields its ``mqtt://host:port`` URL.

    It moved about 600 msg/s on this project's 2-core machine: fine for a demo and a handful
    of units, not for load (use Mosquitto there).

    Raises
    ------
    OSError
        When the port is taken.
    """
    from amqtt.broker import Broker  # imported lazily: production never loads it

    # amqtt logs every packet at INFO through its logging plugins; we do not load them.
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker.start()
    log.info("mqtt.embedded.started", extra={"host": host, "port": port})
    try:
        yield f"mqtt://{host}:{port}"
    finally:
        await broker.shutdown()
