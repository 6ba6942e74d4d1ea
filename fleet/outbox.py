"""Commands over MQTT (to ground units, and to drone payloads): recorded before sending,
outcome recorded after.

The outbox is the only sender. `submit` writes the command (status pending) and wakes the
sender loop; the loop publishes with QoS 1 while the broker is up (status sent once the broker
acknowledges), matches acks from `units/{id}/acks`, and times out what is not acknowledged.
After a restart it reloads every unfinished command from the store, so a broker outage or a
killed process loses none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fleet.domain import Command, Principal
from fleet.errors import MessagingError, NotFound
from fleet.events import EventHub
from fleet.metrics import Metrics
from fleet.mqtt import schemas
from fleet.mqtt.client import Bus
from fleet.mqtt.topics import Topics
from fleet.store.repo import Store
from fleet.types import TERMINAL_COMMAND_STATES, CommandStatus

log = logging.getLogger(__name__)


class Outbox:
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        topics: Topics,
        events: EventHub,
        metrics: Metrics,
        default_timeout_s: float,
        channel: str = "mqtt",
        topic_for: Callable[[str], str] | None = None,
    ) -> None:
        self.channel = channel
        self._topic_for = topic_for or topics.commands
        self.store = store
        self.bus = bus
        self.topics = topics
        self.events = events
        self.metrics = metrics
        self.default_timeout_s = default_timeout_s
        self._pending: dict[str, Command] = {}  # recorded, not yet accepted by the broker
        self._deadlines: dict[str, float] = {}  # sent, waiting for an ack: monotonic deadline
        self._waiters: dict[str, list[asyncio.Future[Command]]] = {}
        self._wake = asyncio.Event()

    async def submit(
        self,
        actor: Principal,
        unit_id: str,
        kind: str,
        payload: dict[str, object],
        *,
        timeout_s: float | None = None,
        correlation_id: str | None = None,
    ) -> Command:
        """Record a command and queue it for sending; returns the pending record."""
        cmd = await self.store.record_command(
            actor,
            unit_id=unit_id,
            channel=self.channel,
            kind=kind,
            payload=payload,
            timeout_s=timeout_s or self.default_timeout_s,
            correlation_id=correlation_id,
        )
        self._pending[cmd.id] = cmd
        self._wake.set()
        return cmd

    async def wait_outcome(self, command_id: str) -> Command:
        """Wait until the command is acked, failed or timed out (the caller bounds the wait)."""
        cmd = await self.store.get_command(command_id)
        if cmd.status in TERMINAL_COMMAND_STATES:
            return cmd
        fut: asyncio.Future[Command] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(command_id, []).append(fut)
        return await fut

    async def load_unfinished(self) -> int:
        """Reload pending and sent commands after a restart."""
        unfinished = await self.store.list_commands(
            channel=self.channel,
            statuses=[CommandStatus.PENDING, CommandStatus.SENT],
            limit=100_000,
        )
        now_wall = datetime.now(UTC)
        now = time.monotonic()
        for cmd in unfinished:
            if cmd.status is CommandStatus.PENDING:
                self._pending[cmd.id] = cmd
            else:
                sent = cmd.sent_at or cmd.created_at
                remaining = cmd.timeout_s - (now_wall - sent).total_seconds()
                self._deadlines[cmd.id] = now + remaining
        if unfinished:
            self._wake.set()
        return len(unfinished)

    async def run(self) -> None:
        """The sender loop: publish pending commands, expire unanswered ones."""
        while True:
            try:
                async with asyncio.timeout(0.5):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._pending and self.bus.connected:
                batch = list(self._pending.values())[:500]
                await asyncio.gather(*(self._publish(cmd) for cmd in batch))
            await self._expire()

    async def _publish(self, cmd: Command) -> None:
        message = schemas.CommandMessage(
            command_id=cmd.id,
            kind=cmd.kind,
            payload=cmd.payload,
            issued_at=cmd.created_at,
            timeout_s=cmd.timeout_s,
        )
        try:
            await self.bus.publish(self._topic_for(cmd.unit_id), message.to_bytes(), qos=1)
        except MessagingError:
            return  # stays pending; retried when the broker is back
        self._pending.pop(cmd.id, None)
        # The deadline is set before the store write so that a fast ack is still matched.
        self._deadlines[cmd.id] = time.monotonic() + cmd.timeout_s
        updated = await self.store.update_command(cmd.id, CommandStatus.SENT, attempt=True)
        if updated.status is CommandStatus.SENT:
            self.metrics.commands.labels(self.channel, "sent").inc()
            self.events.publish("command.sent", _command_event(updated))

    async def _expire(self) -> None:
        now = time.monotonic()
        for cid in [cid for cid, deadline in self._deadlines.items() if deadline <= now]:
            self._deadlines.pop(cid, None)
            await self._finish(
                cid, CommandStatus.TIMED_OUT, error="no acknowledgement within the timeout"
            )

    async def on_ack(self, unit_id: str | None, ack: schemas.Ack) -> None:
        """Record a unit's answer to a command."""
        await self.on_answer(
            unit_id,
            ack.command_id,
            ok=ack.status != "rejected",
            reason=ack.reason,
            result={"status": ack.status, "reason": ack.reason},
        )

    async def on_answer(
        self,
        unit_id: str | None,
        command_id: str,
        *,
        ok: bool,
        reason: str | None,
        result: dict[str, object],
    ) -> None:
        """Record an answer: the first one decides the outcome (acked or failed); later ones
        (a warning going from accepted to playing to done) only add to its result.
        Answers for unknown commands, or from another unit, are ignored."""
        try:
            cmd = await self.store.get_command(command_id)
        except NotFound:
            log.warning("outbox.ack.unknown", extra={"command_id": command_id})
            return
        if cmd.unit_id != unit_id or cmd.channel != self.channel:
            log.warning("outbox.ack.wrong_unit", extra={"command_id": cmd.id, "unit_id": unit_id})
            return
        self._pending.pop(cmd.id, None)
        self._deadlines.pop(cmd.id, None)
        if cmd.status in TERMINAL_COMMAND_STATES:
            if cmd.status is CommandStatus.ACKED:
                updated = await self.store.note_command_result(cmd.id, result)
                self.events.publish(f"command.{self.channel}.progress", _command_event(updated))
            return
        if ok:
            await self._finish(cmd.id, CommandStatus.ACKED, result=result)
        else:
            await self._finish(cmd.id, CommandStatus.FAILED, error=reason or "rejected")

    async def _finish(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        error: str | None = None,
        result: dict[str, object] | None = None,
    ) -> None:
        cmd = await self.store.update_command(command_id, status, error=error, result=result)
        self.metrics.commands.labels(self.channel, cmd.status.value).inc()
        self.events.publish(f"command.{cmd.status.value}", _command_event(cmd))
        for fut in self._waiters.pop(command_id, []):
            if not fut.done():
                fut.set_result(cmd)

    @property
    def in_flight(self) -> int:
        return len(self._pending) + len(self._deadlines)


def _command_event(cmd: Command) -> dict[str, object]:
    return {
        "id": cmd.id,
        "unit_id": cmd.unit_id,
        "kind": cmd.kind,
        "status": cmd.status.value,
        "correlation_id": cmd.correlation_id,
        "error": cmd.error,
        "result": cmd.result,
        "channel": cmd.channel,
    }
