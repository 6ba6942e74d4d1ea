"""Ingest benchmark: a separate process floods telemetry for N units through a real broker;
the service processes it into the live state. Prints one JSON object.

    patrolfleet bench ingest --units 10000 --messages 300000 --json [--mqtt mqtt://127.0.0.1:1883]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho


def _publisher(
    host: str,
    port: int,
    root: str,
    units: int,
    messages: int,
    rate: float,
    ready: mp.Event,
    go: mp.Event,
    result: mp.Queue,
) -> None:  # type: ignore[type-arg]
    """Runs in its own process: publish `messages` telemetry messages round-robin."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{root}")
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=60)
    client.loop_start()
    topics = [f"{root}/v1/units/u{i:05d}/telemetry".encode() for i in range(units)]
    ready.set()
    go.wait()
    start = time.perf_counter()
    interval = 1.0 / rate if rate > 0 else 0.0
    for n in range(messages):
        i = n % units
        now = time.time()
        payload = (
            f'{{"lon":{24.9 + (i % 100) / 1000:.5f},"lat":{60.15 + (i // 100) / 10000:.5f},'
            f'"speed_mps":5.0,"battery_pct":80,"ts":{now:.6f}}}'
        )
        client.publish(topics[i].decode(), payload, qos=0)
        if interval and n % 100 == 0:
            ahead = start + n * interval - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    elapsed = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    result.put({"sent": messages, "publish_s": elapsed})


async def _run(args: argparse.Namespace) -> dict[str, object]:
    from fleet.domain import SYSTEM, Unit
    from fleet.mqtt.client import BrokerAddress
    from fleet.service import run
    from fleet.settings import Settings
    from fleet.types import UnitKind

    root = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            mqtt_url=args.mqtt,
            mqtt_root=root,
            mqtt_client_id=f"bench-svc-{root}",
            env="test",
        )
        async with run(settings) as svc:
            now = datetime.now(UTC)
            await svc.store.import_units(
                SYSTEM,
                [
                    Unit(id=f"u{i:05d}", kind=UnitKind.FOOT, name=f"u{i}", created_at=now)
                    for i in range(args.units)
                ],
            )
            for unit in await svc.store.list_units():
                svc.state.register(unit)
            svc.ingest.lag_samples = __import__("collections").deque(maxlen=1_000_000)
            addr = BrokerAddress.from_url(args.mqtt)
            ctx = mp.get_context("spawn")
            ready, go, result = ctx.Event(), ctx.Event(), ctx.Queue()
            proc = ctx.Process(
                target=_publisher,
                args=(
                    addr.host,
                    addr.port,
                    root,
                    args.units,
                    args.messages,
                    args.rate,
                    ready,
                    go,
                    result,
                ),
            )
            proc.start()
            await asyncio.to_thread(ready.wait, 30)
            base = svc.ingest.processed
            t0 = time.perf_counter()
            go.set()
            pub = await asyncio.to_thread(result.get, True, 600)
            # Drain: wait until nothing more arrives for 2 s.
            last, idle_since = -1, time.perf_counter()
            while time.perf_counter() - idle_since < 2.0:
                await asyncio.sleep(0.1)
                if svc.ingest.processed != last:
                    last, idle_since = svc.ingest.processed, time.perf_counter()
            processed = svc.ingest.processed - base
            t_end = idle_since
            await asyncio.to_thread(proc.join, 10)
            lags = sorted(svc.ingest.lag_samples)
            duration = t_end - t0
            return {
                "benchmark": "ingest",
                "units": args.units,
                "sent": pub["sent"],
                "processed": processed,
                "lost": pub["sent"] - processed,
                "msgs_per_s": round(processed / duration, 1),
                "publish_msgs_per_s": round(pub["sent"] / pub["publish_s"], 1),
                "p50_lag_ms": round(1000 * statistics.median(lags), 1) if lags else None,
                "p99_lag_ms": round(1000 * lags[int(0.99 * (len(lags) - 1))], 1) if lags else None,
                "max_lag_ms": round(1000 * lags[-1], 1) if lags else None,
                "duration_s": round(duration, 2),
                "broker": args.mqtt,
                "rate_limit": args.rate or None,
                "dead_letters": sum(
                    sample.value
                    for metric in svc.metrics.dead_letters.collect()
                    for sample in metric.samples
                    if sample.name.endswith("_total")
                ),
            }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="patrolfleet bench ingest", description=__doc__)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--rate", type=float, default=0.0, help="msg/s cap (0: as fast as it can)")
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    args = parser.parse_args(argv)
    out = asyncio.run(_run(args))
    sys.stdout.write(json.dumps(out) + "\n")
    return 0
