"""The root lifecycle: `run(settings)` opens engine, broker link and workers, and yields the
`Coordinator` that the API and the CLI use. Nothing here is global; stopping the context
stops everything it started, in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from fleet.control import LinksConfig, open_drone_links
from fleet.dispatch.service import Dispatcher
from fleet.domain import SYSTEM, Principal
from fleet.drones import DroneService
from fleet.errors import ConfigError, NotFound, PatrolfleetError
from fleet.events import EventHub, FleetEvent
from fleet.ingest import Inbound, Ingest
from fleet.metrics import Metrics
from fleet.mqtt import schemas
from fleet.mqtt.broker import embedded_broker
from fleet.mqtt.client import BrokerAddress, Bus
from fleet.mqtt.topics import TopicKind, Topics
from fleet.outbox import Outbox
from fleet.patrols.service import PatrolService
from fleet.settings import EMBEDDED_MQTT_PORT, Settings
from fleet.state import LiveState
from fleet.store.db import open_engine
from fleet.store.patrols import PatrolStore
from fleet.store.repo import Store
from fleet.zones import ZoneWatch

log = logging.getLogger(__name__)

# Events that are mirrored onto MQTT `events/...`; unit updates are not (units publish their
# own telemetry, and mirroring it would double the broker's load).
_MQTT_EVENT_PREFIXES = (
    "incident.",
    "assignment.",
    "command.",
    "fence.",
    "duty.",
    "mission.",
    "drone.",
    "warning.",
    "unit.offline",
    "unit.online",
    "unit.left_zone",
    "unit.back_in_zone",
    "unit.on_scene",
    "patrol.",
)

InboundHandler = Callable[[Inbound], Awaitable[None]]


@dataclass
class Coordinator:
    """The running service: its parts, for the API and the CLI to call."""

    settings: Settings
    store: Store
    state: LiveState
    events: EventHub
    metrics: Metrics
    bus: Bus
    topics: Topics
    ingest: Ingest
    outbox: Outbox
    payload_outbox: Outbox
    drones: DroneService | None = None
    dispatcher: Dispatcher | None = None
    patrols: PatrolService | None = None
    started_at: float = field(default_factory=time.monotonic)
    inbound_handlers: dict[TopicKind, InboundHandler] = field(default_factory=dict)

    async def readiness(self) -> dict[str, dict[str, object]]:
        """Is each dependency reachable right now?"""
        checks: dict[str, dict[str, object]] = {}
        try:
            async with asyncio.timeout(2):
                await self.store.ping()
            checks["database"] = {"ok": True}
        except Exception as exc:  # any driver error means "not ready"
            checks["database"] = {"ok": False, "error": str(exc)[:200]}
        checks["mqtt"] = {
            "ok": self.bus.connected,
            **({} if self.bus.connected else {"error": self.bus.last_error or "not connected"}),
        }
        return checks

    async def register_unit_live(self, unit_id: str) -> None:
        unit = await self.store.get_unit(unit_id)
        self.state.register(unit)
        self.metrics.units_known.set(len(self.state.units))

    # --- inbound work (database side of MQTT messages) --------------------------------

    async def _handle_duty(self, item: Inbound) -> None:
        duty: schemas.Duty = item.message
        uid = item.unit_id or ""
        actor = Principal(name=f"unit:{uid}", role=SYSTEM.role)
        try:
            if duty.action == "check_in":
                session = await self.store.check_in(
                    actor, uid, team_size=duty.team_size, source="mqtt", note=duty.note
                )
                self.state.set_duty(uid, True, session.team_size)
                self.events.publish(
                    "duty.check_in", {"unit_id": uid, "team_size": session.team_size}
                )
            else:
                await self.store.check_out(actor, uid)
                self.state.set_duty(uid, False)
                self.events.publish("duty.check_out", {"unit_id": uid})
        except NotFound as exc:
            log.info("duty.ignored", extra={"unit_id": uid, "reason": exc.detail})

    async def _handle_ack(self, item: Inbound) -> None:
        await self.outbox.on_ack(item.unit_id, item.message)

    async def _handle_payload_state(self, item: Inbound) -> None:
        answer = schemas.parse(schemas.PayloadState, item.message)
        await self.payload_outbox.on_answer(
            item.unit_id,
            answer.command_id,
            ok=answer.state != "failed",
            reason=answer.reason,
            result={
                "state": answer.state,
                "reason": answer.reason,
                "audio_file": answer.audio_file,
            },
        )

    def require_drones(self) -> DroneService:
        if self.drones is None:
            raise ConfigError(
                "drone links are off: set PATROLFLEET_DRONE_CONNECTIONS (e.g. "
                "udpin://0.0.0.0:14540)"
            )
        return self.drones

    async def _handle_alert(self, item: Inbound) -> None:
        alert: schemas.Alert = item.message
        actor = Principal(name=f"alert:{alert.source}", role=SYSTEM.role)
        assert self.dispatcher is not None
        duplicate = await self.dispatcher.find_duplicate(alert.category, alert.lon, alert.lat)
        if duplicate is not None:
            merged = await self.store.merge_alert(
                actor, duplicate.id, alert.model_dump(mode="json")
            )
            self.events.publish(
                "incident.merged",
                {
                    "id": merged.id,
                    "source": alert.source,
                    "alerts": len(merged.properties["alerts"]),
                },
            )
            return
        incident = await self.store.create_incident(
            actor,
            category=alert.category,
            lon=alert.lon,
            lat=alert.lat,
            priority=alert.priority,
            description=alert.description,
            source=alert.source,
            external_ref=alert.external_ref,
        )
        self.events.publish(
            "incident.created",
            {
                "id": incident.id,
                "category": incident.category,
                "lon": incident.lon,
                "lat": incident.lat,
                "priority": incident.priority,
                "state": incident.state.value,
                "source": incident.source,
            },
        )
        if self.settings.auto_dispatch:
            self.dispatcher.submit(incident.id)

    async def _work(self) -> None:
        """Serve queued inbound messages one by one, so their records are written in order."""
        handlers: dict[TopicKind, InboundHandler] = {
            TopicKind.DUTY: self._handle_duty,
            TopicKind.ACKS: self._handle_ack,
            TopicKind.ALERTS: self._handle_alert,
            TopicKind.PAYLOAD_STATE: self._handle_payload_state,
            **self.inbound_handlers,
        }
        while True:
            item = await self.ingest.work.get()
            handler = handlers.get(item.kind)
            if handler is None:
                continue
            try:
                await handler(item)
            except PatrolfleetError as exc:
                log.warning("inbound.rejected", extra={"kind": item.kind, "detail": exc.detail})
            except Exception:
                # Keep the worker alive; the message is logged with its kind for follow-up.
                log.exception("inbound.failed", extra={"kind": item.kind})

    async def _flush_positions(self) -> None:
        while True:
            await asyncio.sleep(self.settings.position_flush_interval_s)
            await self.flush_positions()

    async def flush_positions(self) -> None:
        batch = self.state.drain_history()
        if not batch:
            return
        try:
            await self.store.add_positions(batch)
            self.metrics.positions_written.inc(len(batch))
        except Exception:
            self.state.requeue_history(batch)
            log.warning("positions.flush.failed", extra={"rows": len(batch)}, exc_info=True)

    async def _stream_units(self) -> None:
        """One "units.updated" event per interval with every unit that changed (and none at
        all while nobody listens): 500 units moving every second cost a browser one frame."""
        interval = max(self.settings.stream_unit_interval_s, 0.05)
        while True:
            await asyncio.sleep(interval)
            changed = self.state.drain_dirty()
            if changed and self.events.subscriber_count:
                self.events.publish("units.updated", {"units": [u.to_dict() for u in changed]})

    async def _watch(self) -> None:
        """Offline sweep, fence watch and gauges, once a second."""
        was_connected = False
        zones = ZoneWatch(
            store=self.store,
            state=self.state,
            events=self.events,
            warn_distance_m=self.settings.nofly_warn_distance_m,
        )
        while True:
            await asyncio.sleep(1.0)
            try:
                await zones.check()
            except Exception:  # a fence-watch failure must not stop the offline sweep
                log.exception("zones.check.failed")
            for live in self.state.sweep_offline():
                self.events.publish("unit.offline", live.to_dict())
            self.metrics.units_online.set(self.state.online_count())
            connected = self.bus.connected
            self.metrics.mqtt_connected.set(1 if connected else 0)
            if connected != was_connected:
                self.events.publish("service.mqtt", {"connected": connected})
                was_connected = connected

    def _mirror_event(self, event: FleetEvent) -> None:
        if event.type.startswith(_MQTT_EVENT_PREFIXES):
            msg = schemas.Event(type=event.type, at=event.at, data=event.data)
            self.bus.publish_nowait(self.topics.event(event.type), msg.to_bytes(), qos=1)


@asynccontextmanager
async def run(settings: Settings) -> AsyncIterator[Coordinator]:
    """Start the service on `settings`; yields a ready `Coordinator`.

    Raises
    ------
    ConfigError
        For an unusable database or MQTT URL.
    """
    async with AsyncExitStack() as stack:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        mqtt_url = settings.mqtt_url
        if not mqtt_url:
            mqtt_url = await stack.enter_async_context(
                embedded_broker("127.0.0.1", EMBEDDED_MQTT_PORT)
            )
        engine = await stack.enter_async_context(open_engine(settings.effective_database_url))
        store = Store(engine)
        topics = Topics(settings.mqtt_root)
        state = LiveState(
            offline_after_s=settings.offline_after_s,
            history_min_interval_s=settings.position_history_min_interval_s,
        )
        for unit in await store.list_units():
            state.register(unit)
        for session in (await store.open_duty_sessions()).values():
            state.set_duty(session.unit_id, True, session.team_size)
        for position in (await store.last_positions()).values():
            state.seed_position(position)
        events = EventHub()
        metrics = Metrics()
        metrics.units_known.set(len(state.units))

        ingest_ref: list[Ingest] = []
        bus = Bus(
            BrokerAddress.from_url(mqtt_url),
            client_id=settings.mqtt_client_id,
            subscriptions=topics.subscriptions(),
            on_message=lambda topic, payload: ingest_ref[0].handle(topic, payload),
            will=(topics.service_state(), b'{"schema_version":1,"online":false}'),
            birth=(topics.service_state(), b'{"schema_version":1,"online":true}'),
        )
        ingest = Ingest(
            topics=topics,
            state=state,
            events=events,
            metrics=metrics,
            publish_nowait=lambda t, p: bus.publish_nowait(t, p, qos=1),
            max_payload_bytes=settings.max_payload_bytes,
        )
        ingest_ref.append(ingest)
        outbox = Outbox(
            store=store,
            bus=bus,
            topics=topics,
            events=events,
            metrics=metrics,
            default_timeout_s=settings.command_timeout_s,
        )
        payload_outbox = Outbox(
            store=store,
            bus=bus,
            topics=topics,
            events=events,
            metrics=metrics,
            default_timeout_s=settings.warning_timeout_s,
            channel="payload",
            topic_for=topics.payload,
        )
        coordinator = Coordinator(
            settings=settings,
            store=store,
            state=state,
            events=events,
            metrics=metrics,
            bus=bus,
            topics=topics,
            ingest=ingest,
            outbox=outbox,
            payload_outbox=payload_outbox,
        )
        if settings.drone_connections:
            links = await stack.enter_async_context(
                open_drone_links(LinksConfig(connections=tuple(settings.drone_connections)))
            )
            coordinator.drones = DroneService(
                settings=settings,
                store=store,
                state=state,
                events=events,
                links=links,
                payload_outbox=payload_outbox,
            )
            links.add_listener(coordinator.drones.on_event)
            await coordinator.drones.load()
        coordinator.dispatcher = Dispatcher(
            settings=settings,
            store=store,
            state=state,
            events=events,
            outbox=outbox,
            drones=coordinator.drones,
        )
        coordinator.patrols = PatrolService(
            settings=settings,
            store=store,
            patrols=PatrolStore(engine),
            state=state,
            events=events,
            outbox=outbox,
            drones=coordinator.drones,
        )
        events.add_listener(coordinator._mirror_event)
        await outbox.load_unfinished()
        await payload_outbox.load_unfinished()

        tasks: list[asyncio.Task[None]] = []
        async with asyncio.TaskGroup() as tg:
            connected = asyncio.Event()
            tasks.append(tg.create_task(bus.run(connected), name="fleet.mqtt"))
            tasks.append(tg.create_task(coordinator._work(), name="fleet.inbound"))
            tasks.append(tg.create_task(coordinator._flush_positions(), name="fleet.positions"))
            tasks.append(tg.create_task(coordinator._watch(), name="fleet.watch"))
            tasks.append(tg.create_task(coordinator._stream_units(), name="fleet.stream"))
            tasks.append(tg.create_task(outbox.run(), name="fleet.outbox"))
            tasks.append(tg.create_task(payload_outbox.run(), name="fleet.payload_outbox"))
            if coordinator.drones is not None:
                tasks.append(tg.create_task(coordinator.drones.run(), name="fleet.drones"))
            tasks.append(tg.create_task(coordinator.dispatcher.run(), name="fleet.dispatch"))
            tasks.append(tg.create_task(coordinator.patrols.run(), name="fleet.patrols"))
            # Strict on the first connect only briefly: the service starts (and /readyz says
            # why it is not ready) even when the broker is down; the bus keeps retrying.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await connected.wait()
            log.info("service.started", extra={"mqtt": mqtt_url, "units": len(state.units)})
            try:
                yield coordinator
            finally:
                for task in tasks:
                    task.cancel()
        # Cleanup with its own short deadline: the last positions reach the store.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(3):
                await coordinator.flush_positions()
        log.info("service.stopped")
