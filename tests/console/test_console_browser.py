"""The console in real Chromium: the service with simulated drones and 500 ground units, driven
by tests/console/console.spec.mjs (npm's playwright-core and Debian's /usr/bin/chromium)."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest

from fleet.mqtt.topics import Topics
from tests.helpers import free_tcp_port, free_udp_port

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "console" / "console.spec.mjs"
CHROMIUM = os.environ.get("PATROLFLEET_CHROMIUM", "/usr/bin/chromium")
GROUND_UNITS = 500
KINDS = ["car"] * 3 + ["foot"] * 3 + ["motorbike", "bicycle"] + ["team"] * 2


def _require_browser_tools() -> str:
    """Fail (never skip) with the command that installs what is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: apt-get install -y nodejs npm (then npm ci)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.fail(f"npm's playwright-core is missing: cd {ROOT} && npm ci")
    if not (ROOT / "api" / "static" / "console" / "index.html").is_file():
        pytest.fail(f"the console is not built: cd {ROOT} && npm ci && npm run build")
    return node


class GroundFleet:
    """500 ground units reporting over MQTT once a second, like their apps would."""

    def __init__(self, mqtt_url: str, root: str, bounds: tuple[float, ...]) -> None:
        host, _, port = mqtt_url.removeprefix("mqtt://").rpartition(":")
        self.topics = Topics(root)
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{root}-units")
        self.client.connect(host, int(port))
        self.client.loop_start()
        rng = random.Random(7)
        w, s, e, n = bounds
        self.units = [
            {
                "id": f"u{i:03d}",
                "kind": KINDS[i % len(KINDS)],
                "lon": rng.uniform(w, e),
                "lat": rng.uniform(s, n),
                "heading_deg": rng.uniform(0, 360),
            }
            for i in range(GROUND_UNITS)
        ]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="console-test.units", daemon=True)

    def register(self, base_url: str, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
            for u in self.units:
                body = {"id": u["id"], "kind": u["kind"], "name": u["id"].upper()}
                if u["kind"] == "team":
                    body["team_size"] = 4
                http.post("/v1/units", json=body).raise_for_status()
        for u in self.units:
            duty = {"action": "check_in", "team_size": 4 if u["kind"] == "team" else 1}
            self.client.publish(self.topics.duty(u["id"]), json.dumps(duty), qos=1)

    def _run(self) -> None:
        while not self.stop.is_set():
            tick = time.monotonic()
            for u in self.units:
                # A few metres a second along a slowly turning heading.
                u["heading_deg"] = (u["heading_deg"] + random.uniform(-15, 15)) % 360
                a = math.radians(u["heading_deg"])
                u["lon"] += 4e-5 * math.sin(a) / math.cos(math.radians(u["lat"]))
                u["lat"] += 4e-5 * math.cos(a)
                msg = {
                    "lon": round(u["lon"], 6),
                    "lat": round(u["lat"], 6),
                    "heading_deg": round(u["heading_deg"], 1),
                    "speed_mps": 4.0,
                    "battery_pct": 80.0,
                    "status": "available",
                }
                self.client.publish(self.topics.telemetry(u["id"]), json.dumps(msg))
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(5)
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def service(tmp_path: Path, mqtt_url: str) -> Iterator[tuple[str, Path, str]]:
    """The service as `patrolfleet up --sim-drones 3`, on its own port, topics and UDP port."""
    data = tmp_path / "data"
    port = free_tcp_port()
    root = f"console{os.getpid()}"
    env = {
        **os.environ,
        "PATROLFLEET_MQTT_ROOT": root,
        "PATROLFLEET_MQTT_CLIENT_ID": f"svc-{root}",
        "PATROLFLEET_DRONE_CONNECTIONS": f"udpin://127.0.0.1:{free_udp_port()}",
    }
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet", "up", "--port", str(port), "--data-dir", str(data),
         "--mqtt", mqtt_url, "--sim-drones", "3", "--log-level", "WARNING"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            if proc.poll() is not None:
                pytest.fail(f"service exited: {(tmp_path / 'service.log').read_text()[-2000:]}")
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("service not ready within 40 s")
            time.sleep(0.2)
        yield base, data, root
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_console_in_chromium_with_500_units_stays_smooth_and_offline(
    service: tuple[str, Path, str], mqtt_url: str, tmp_path: Path
) -> None:
    node = _require_browser_tools()
    base, data, root = service
    token = (data / "admin.token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    meta = httpx.get(f"{base}/v1/map", headers=headers, timeout=30).json()
    assert meta["attribution"] == "© OpenStreetMap contributors"
    bounds = tuple(meta["bounds"])
    units = GroundFleet(mqtt_url, root, bounds)
    try:
        units.register(base, headers)
        units.thread.start()
        started = time.monotonic()
        run = subprocess.run(
            [node, str(SPEC)],
            cwd=ROOT,
            env={
                **os.environ,
                "BASE_URL": base,
                "TOKEN": token,
                "EXPECT_UNITS": str(GROUND_UNITS + 3),
                "CHROMIUM": CHROMIUM,
                "SCREENSHOT_DIR": str(ROOT / "screenshots" / "console"),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        elapsed = time.monotonic() - started
    finally:
        units.close()
    print(run.stdout[-4000:], run.stderr[-2000:])
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"the browser test printed no result:\n{run.stdout}\n{run.stderr}"
    result = json.loads(lines[-1])
    assert run.returncode == 0 and result["ok"], result.get("error", run.stderr)
    assert result["requests_outside"] == 0
    assert result["units_in_page"] >= GROUND_UNITS + 3
    assert result["frames"]["p95_ms"] < 50
    print(f"console browser test: {elapsed:.1f} s, frames {result['frames']}")
