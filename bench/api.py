"""API benchmark: mixed reads and writes at a fixed rate against a running service.

    patrolfleet bench api --json [--base-url http://127.0.0.1:8000 --token T] [--rate 100]

Without --base-url it starts its own service (`patrolfleet up` in a temporary directory, on
the machine's Mosquitto unless --mqtt says otherwise) with 200 ground units reporting.
Prints one JSON object: p50_ms, p99_ms, errors, achieved rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

CENTRE = (24.9384, 60.1699)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _load(base_url: str, token: str, rate: float, seconds: float, seed: int) -> dict:  # type: ignore[type-arg]
    rng = random.Random(seed)
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    incidents: list[str] = []
    units = [f"bench-{i:03d}" for i in range(200)]
    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=50),
    ) as http:
        for uid in units:  # set-up, not measured
            await http.post("/v1/units", json={"id": uid, "kind": "car"})
            await http.post(f"/v1/units/{uid}/duty")

        def point() -> list[float]:
            return [CENTRE[0] + rng.gauss(0, 0.02), CENTRE[1] + rng.gauss(0, 0.01)]

        async def one(kind: str) -> None:
            start = time.perf_counter()
            try:
                if kind == "list_units":
                    r = await http.get("/v1/units", params={"kind": "car"})
                elif kind == "get_unit":
                    r = await http.get(f"/v1/units/{rng.choice(units)}")
                elif kind == "list_incidents":
                    r = await http.get("/v1/incidents", params={"limit": 20})
                elif kind == "recommendations" and incidents:
                    r = await http.get(f"/v1/incidents/{rng.choice(incidents)}/recommendations")
                elif kind == "create_incident" or not incidents:
                    r = await http.post(
                        "/v1/incidents",
                        json={
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": point()},
                            "properties": {"category": "noise_complaint", "priority": 4},
                        },
                    )
                    if r.status_code == 201:
                        incidents.append(r.json()["id"])
                else:  # close an incident
                    r = await http.post(
                        f"/v1/incidents/{incidents.pop()}/state", json={"state": "cancelled"}
                    )
                    if r.status_code == 409:  # already closed by the dispatcher: fine
                        r.status_code = 200
                if r.status_code >= 400:
                    errors.append(f"{kind}:{r.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{kind}:{type(exc).__name__}")
            latencies.setdefault(kind, []).append(1000 * (time.perf_counter() - start))

        mix = (
            ["list_units"] * 2
            + ["get_unit"] * 3
            + ["list_incidents"] * 2
            + ["recommendations"] * 1
            + ["create_incident"] * 1
            + ["close_incident"] * 1
        )
        tasks = []
        t0 = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(rng.choice(mix))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    every = [x for v in latencies.values() for x in v]
    return {
        "benchmark": "api",
        "requests": len(every),
        "achieved_rps": round(len(every) / elapsed, 1),
        "p50_ms": round(float(np.percentile(every, 50)), 2),
        "p99_ms": round(float(np.percentile(every, 99)), 2),
        "max_ms": round(max(every), 2),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
        "p99_ms_by_kind": {k: round(float(np.percentile(v, 99)), 2) for k, v in latencies.items()},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="patrolfleet bench api", description=__doc__)
    parser.add_argument("--base-url")
    parser.add_argument("--token")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--db", help="database URL for the service it starts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        base_url, token = args.base_url, args.token
        if base_url is None:
            port = _free_port()
            cmd = [
                sys.executable,
                "-m",
                "fleet",
                "up",
                "--port",
                str(port),
                "--data-dir",
                tmp,
                "--mqtt",
                args.mqtt,
                "--log-level",
                "WARNING",
            ]
            if args.db:
                cmd += ["--db", args.db]
            env = {
                **os.environ,
                "PATROLFLEET_MQTT_ROOT": f"benchapi{os.getpid()}",
                "PATROLFLEET_MQTT_CLIENT_ID": f"benchapi{os.getpid()}",
                "PATROLFLEET_DRONE_CONNECTIONS": "",
            }
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(base_url + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            token = (Path(tmp) / "admin.token").read_text().strip()
        try:
            out = asyncio.run(_load(base_url, token or "", args.rate, args.seconds, args.seed))
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0
