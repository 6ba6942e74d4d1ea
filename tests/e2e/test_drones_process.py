"""The service as a process with simulated drones as another process, over UDP MAVLink."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_service_process import ServiceProcess
from tests.helpers import free_tcp_port, free_udp_port


def _admin(data_dir: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {(data_dir / 'admin.token').read_text().strip()}"}


def _wait(predicate, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout_s} s")


@pytest.fixture
def sim_drones() -> Iterator[callable]:  # type: ignore[valid-type]
    procs: list[subprocess.Popen[bytes]] = []

    def start(count: int, udp_port: int, time_scale: float) -> None:
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "fleet",
                    "sim",
                    "drones",
                    "--count",
                    str(count),
                    "--connect",
                    f"udp://127.0.0.1:{udp_port}",
                    "--time-scale",
                    str(time_scale),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    yield start
    for p in procs:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


def test_up_with_sim_drones_lists_them_with_live_positions_within_10_s(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_tcp_port()
    env = {
        **os.environ,
        "PATROLFLEET_MQTT_ROOT": f"e2ed{os.getpid()}",
        "PATROLFLEET_DRONE_CONNECTIONS": f"udpin://127.0.0.1:{free_udp_port()}",
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleet",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--sim-drones",
            "3",
            "--mqtt",
            os.environ.get("PATROLFLEET_TEST_MQTT_URL", "mqtt://127.0.0.1:1883"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listed() -> list | None:  # type: ignore[type-arg]
            try:
                body = httpx.get(
                    f"http://127.0.0.1:{port}/v1/drones", headers=_admin(data), timeout=1
                ).json()
            except (httpx.HTTPError, FileNotFoundError, ValueError):
                return None
            located = [d for d in body.get("data", []) if d["live"]["lon"] is not None]
            return located if len(located) == 3 else None

        drones = _wait(listed, 10, "3 drones with positions")
        elapsed = time.monotonic() - started
        assert elapsed < 10
        assert sorted(d["id"] for d in drones) == ["drone-1", "drone-2", "drone-3"]
        assert all(abs(d["live"]["lat"] - 60.17) < 0.01 for d in drones)  # central Helsinki
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    # The simulators died with the service.
    time.sleep(0.5)
    ps = subprocess.run(
        [
            "pgrep",
            "-f",
            f"connect udp://127.0.0.1:{env['PATROLFLEET_DRONE_CONNECTIONS'].rsplit(':', 1)[1]}",
        ],
        capture_output=True,
        text=True,
    )
    assert ps.stdout.strip() == ""


def test_kill_9_with_five_drones_flying_reattaches_all_and_keeps_missions(
    tmp_path: Path, mqtt_url: str, sim_drones
) -> None:
    udp = free_udp_port()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PATROLFLEET_MQTT_ROOT": f"e2ek{os.getpid()}",
        "PATROLFLEET_DRONE_CONNECTIONS": f"udpin://127.0.0.1:{udp}",
    }
    svc = ServiceProcess(["--data-dir", str(data), "--mqtt", mqtt_url], env, free_tcp_port())
    svc.start()
    sim_drones(5, udp, 4.0)
    h = _admin(data)
    with httpx.Client(base_url=svc.base_url, headers=h, timeout=30) as c:

        def five() -> list | None:  # type: ignore[type-arg]
            ds = c.get("/v1/drones").json()["data"]
            ok = [d for d in ds if d["live"]["battery_pct"] is not None]
            return ok if len(ok) == 5 else None

        drones = _wait(five, 20, "5 drones")
        missions = {}
        for d in drones:
            lon, lat = d["live"]["lon"], d["live"]["lat"]
            dlon = 600 / (111_320 * math.cos(math.radians(lat)))
            body = {
                "waypoints": {
                    "type": "LineString",
                    "coordinates": [
                        [lon + dlon, lat, 40],
                        [lon + dlon, lat + 0.004, 40],
                        [lon, lat + 0.004, 40],
                    ],
                },
                "speed_m_s": 10,
            }
            m = c.post(f"/v1/drones/{d['id']}/missions", json=body).json()
            assert c.post(f"/v1/drones/{d['id']}/missions/{m['id']}/start").status_code == 202
            missions[d["id"]] = m["id"]
        _wait(
            lambda: all(x["live"]["alt_m"] > 10 for x in c.get("/v1/drones").json()["data"]),
            30,
            "all airborne",
        )
    svc.kill9()
    time.sleep(1.0)
    svc.start()
    with httpx.Client(base_url=svc.base_url, headers=h, timeout=30) as c:

        def reattached() -> list | None:  # type: ignore[type-arg]
            ds = c.get("/v1/drones").json()["data"]
            up = [d for d in ds if d["drone"].get("link_up") and d["live"]["online"]]
            return up if len(up) == 5 else None

        again = _wait(reattached, 10, "5 drones re-attached")
        assert sorted(d["id"] for d in again) == sorted(missions)
        assert len(c.get("/v1/drones").json()["data"]) == 5  # no duplicate identities
        for did, mid in missions.items():
            m = c.get(f"/v1/drones/{did}/missions/{mid}").json()
            assert m["status"] in {"running", "completed"}, m
        # The missions go on being tracked after the restart, to their end.
        _wait(
            lambda: all(
                c.get(f"/v1/drones/{did}/missions/{mid}").json()["status"] == "completed"
                for did, mid in missions.items()
            ),
            90,
            "missions completed",
        )
        for did, mid in missions.items():
            m = c.get(f"/v1/drones/{did}/missions/{mid}").json()
            assert m["started_at"] and m["ended_at"] and m["current_item"] >= m["total_items"] - 1
    svc.stop()
