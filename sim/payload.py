"""Simulated payload companion: the computer on a drone that drives its loudspeaker and light.

It speaks the documented payload protocol, exactly as the real companion must:

* it subscribes to ``<root>/v1/drones/+/payload`` (QoS 1), where the service publishes a
  command ``{"command_id", "kind": "speak" | "clip" | "stop" | "spotlight", "payload": {...}}``;
* it answers on ``<root>/v1/drones/{id}/payload/state`` with ``accepted``, then ``playing``,
  then ``done`` (or ``failed`` with a ``reason``), each carrying the ``command_id``.

Where ``espeak-ng`` is installed it renders the spoken text to a WAV file (one per command)
in ``out_dir``, so a tester can listen to what the drone said.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt

from fleet.mqtt.topics import TopicKind, Topics
from sim._background import in_background

log = logging.getLogger(__name__)

# espeak-ng voice per language tag we get; anything else is passed through as given.
_VOICES = {"en": "en", "zh": "cmn", "fi": "fi", "sv": "sv"}


@dataclass
class PayloadCompanion:
    """Answers payload commands for a set of drones (or every drone)."""

    mqtt_url: str
    root: str = "patrolfleet"
    drones: frozenset[str] | None = None  # None: answer for every drone
    out_dir: Path | None = None
    seconds_per_word: float = 0.05  # how long "playing" lasts (scaled down for tests)
    handled: list[dict[str, object]] = field(default_factory=list)

    async def _answer(
        self,
        client: aiomqtt.Client,
        topics: Topics,
        drone_id: str,
        command_id: str,
        state: str,
        **extra: object,
    ) -> None:
        body = {"schema_version": 1, "command_id": command_id, "state": state, **extra}
        await client.publish(topics.payload_state(drone_id), json.dumps(body), qos=1)

    async def _render(self, command_id: str, text: str, language: str) -> str | None:
        if self.out_dir is None or shutil.which("espeak-ng") is None:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{command_id}.wav"
        proc = await asyncio.create_subprocess_exec(
            "espeak-ng",
            "-v",
            _VOICES.get(language, language),
            "-w",
            str(path),
            text,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return str(path) if await proc.wait() == 0 else None

    async def _handle(
        self, client: aiomqtt.Client, topics: Topics, drone_id: str, raw: bytes
    ) -> None:
        try:
            msg = json.loads(raw)
            command_id, kind = str(msg["command_id"]), str(msg["kind"])
            payload = dict(msg.get("payload") or {})
        except (ValueError, KeyError, TypeError):
            log.warning("payload.sim.bad_command", extra={"drone_id": drone_id})
            return
        self.handled.append(
            {"drone_id": drone_id, "command_id": command_id, "kind": kind, **payload}
        )
        if kind not in {"speak", "clip", "stop", "spotlight"}:
            await self._answer(
                client,
                topics,
                drone_id,
                command_id,
                "failed",
                reason=f"unknown payload command {kind!r}",
            )
            return
        await self._answer(client, topics, drone_id, command_id, "accepted")
        if kind in {"stop", "spotlight"}:
            await self._answer(client, topics, drone_id, command_id, "done")
            return
        text = str(payload.get("text") or payload.get("clip") or "")
        audio = await self._render(command_id, text, str(payload.get("language") or "en"))
        await self._answer(client, topics, drone_id, command_id, "playing", audio_file=audio)
        repeat = int(payload.get("repeat") or 1)
        await asyncio.sleep(self.seconds_per_word * max(1, len(text.split())) * repeat)
        await self._answer(client, topics, drone_id, command_id, "done", audio_file=audio)

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Serve until cancelled, reconnecting when the broker goes away."""
        while True:
            try:
                await self._serve(started)
            except* aiomqtt.MqttError as group:
                log.warning("payload.sim.disconnected", extra={"error": str(group.exceptions[0])})
            await asyncio.sleep(1.0)

    async def _serve(self, started: asyncio.Event | None) -> None:
        parts = urlsplit(self.mqtt_url)
        topics = Topics(self.root)
        async with aiomqtt.Client(
            parts.hostname or "127.0.0.1",
            parts.port or 1883,
            username=parts.username,
            password=parts.password,
        ) as client:
            await client.subscribe(f"{self.root}/v1/drones/+/payload", qos=1)
            if started is not None:
                started.set()
            async with asyncio.TaskGroup() as tg:
                async for message in client.messages:
                    parsed = topics.parse(message.topic.value)
                    if parsed is None or parsed.kind is not TopicKind.PAYLOAD:
                        continue
                    drone_id = parsed.unit_id or ""
                    if self.drones is not None and drone_id not in self.drones:
                        continue
                    raw = message.payload if isinstance(message.payload, bytes) else b""
                    tg.create_task(
                        self._handle(client, topics, drone_id, raw), name=f"sim[{drone_id}].payload"
                    )


@asynccontextmanager
async def run_companion(companion: PayloadCompanion) -> AsyncIterator[PayloadCompanion]:
    """Run a companion in the background until the block ends; it is subscribed on entry."""
    async with in_background(companion.run, name="sim.payload"):
        yield companion
