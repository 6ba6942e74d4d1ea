"""`patrolfleet up` as a real process: first start, embedded broker, kill -9 and restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.publish
import pytest

from fleet.settings import EMBEDDED_MQTT_PORT
from tests.helpers import free_tcp_port, reachable


class ServiceProcess:
    def __init__(self, args: list[str], env: dict[str, str], port: int) -> None:
        self.args, self.env, self.port = args, env, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet", "up", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited: {self.proc.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("service not ready within 30 s")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> float:
        assert self.proc is not None
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        return time.monotonic() - start


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    started: list[ServiceProcess] = []

    def make(*args: str, **env: str) -> ServiceProcess:
        full_env = {**os.environ, "PATROLFLEET_MQTT_ROOT": f"e2e{os.getpid()}", **env}
        svc = ServiceProcess(
            ["--data-dir", str(tmp_path / "data"), *args], full_env, free_tcp_port()
        )
        started.append(svc)
        return svc

    yield make
    for svc in started:
        if svc.proc and svc.proc.poll() is None:
            svc.proc.kill()
            svc.proc.wait(10)


def test_first_start_prints_an_admin_token_and_embedded_broker_telemetry_shows_in_1s(
    spawn, tmp_path: Path
) -> None:
    assert not reachable("127.0.0.1", EMBEDDED_MQTT_PORT), "port 1884 is taken by another process"
    svc = spawn()
    svc.start()
    token = (tmp_path / "data" / "admin.token").read_text().strip()
    h = {"Authorization": f"Bearer {token}"}
    assert httpx.get(svc.base_url + "/healthz").status_code == 200
    assert (
        httpx.post(
            svc.base_url + "/v1/units", json={"id": "bike-1", "kind": "bicycle"}, headers=h
        ).status_code
        == 201
    )
    paho.mqtt.publish.single(
        f"e2e{os.getpid()}/v1/units/bike-1/telemetry",
        json.dumps({"lon": 24.93, "lat": 60.17}),
        hostname="127.0.0.1",
        port=EMBEDDED_MQTT_PORT,
    )
    sent = time.monotonic()
    while time.monotonic() - sent < 1.0:
        live = httpx.get(svc.base_url + "/v1/units/bike-1", headers=h).json()["live"]
        if live["lon"] == 24.93:
            break
        time.sleep(0.02)
    else:
        raise AssertionError("position not visible within 1 s")
    assert svc.stop() < 5.0  # SIGTERM: clean shutdown within 5 s
    assert "admin token was created" in (
        svc.proc.stdout.read() if svc.proc and svc.proc.stdout else ""
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_loses_no_unit_incident_or_command(
    spawn, backend: str, mqtt_url: str, request: pytest.FixtureRequest
) -> None:
    args = ["--mqtt", mqtt_url]
    if backend == "postgresql":
        args += ["--db", request.getfixturevalue("pg_url")]
    svc = spawn(*args)
    svc.start()
    token = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fleet",
                "token",
                "create",
                "--role",
                "dispatcher",
                *args[2:],
                "--data-dir",
                svc.args[1],
            ],
            env=svc.env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    h = {"Authorization": f"Bearer {token}"}
    created_incidents = []
    with httpx.Client(base_url=svc.base_url, headers=h) as c:
        for i in range(10):
            assert c.post("/v1/units", json={"id": f"car-{i}", "kind": "car"}).status_code == 201
            r = c.post(
                "/v1/incidents",
                json={
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [24.9 + i / 100, 60.1]},
                    "properties": {"category": "theft"},
                },
            )
            created_incidents.append(r.json()["id"])
        cmd = c.post("/v1/units/car-0/commands", json={"kind": "message", "timeout_s": 600}).json()
    svc.kill9()
    svc.start()
    with httpx.Client(base_url=svc.base_url, headers=h) as c:
        units = c.get("/v1/units").json()
        assert sorted(u["id"] for u in units["data"]) == sorted(f"car-{i}" for i in range(10))
        listed = c.get("/v1/incidents", params={"limit": 100}).json()
        assert sorted(f["id"] for f in listed["features"]) == sorted(created_incidents)
        assert c.get(f"/v1/commands/{cmd['id']}").json()["status"] in {"pending", "sent"}
    svc.stop()
