"""Event overwatch over real MAVLink: three simulated drones with little battery relieve each
other over one position; coverage is measured here, independently, from live telemetry."""

from __future__ import annotations

import asyncio
import math
import time

from fleet.settings import Settings
from tests.fleet.drone_rig import drone_rig
from tests.helpers import wait_for

SCALE = 30.0


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    )


def dist_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    kx = 111_320 * math.cos(math.radians(a[1]))
    return math.hypot((a[0] - b[0]) * kx, (a[1] - b[1]) * 111_320)


async def test_overwatch_with_draining_batteries_hands_over_twice_and_never_leaves_the_position(
    settings: Settings,
) -> None:
    t0 = time.monotonic()
    async with drone_rig(settings, 3, time_scale=SCALE) as rig, rig.client() as c:
        c_ = rig.coordinator
        for sysid in (1, 2, 3):
            # About 4 minutes of flight each (simulated): no single drone can hold 10 minutes.
            rig.swarm.handle_control({"op": "drain_battery", "sysid": sysid, "percent": 40})
        await wait_for(
            lambda: all(
                (u := c_.state.get(f"drone-{i}")) is not None and (u.battery_pct or 100) < 42
                for i in (1, 2, 3)
            ),
            timeout_s=10,
        )
        live = c_.state.get("drone-1")
        assert live is not None and live.lon is not None and live.lat is not None
        station = offset(live.lon, live.lat, 200, 150)
        radius = 50.0
        r = await c.post(
            "/v1/operations/overwatch",
            json={
                "geometry": {"type": "Point", "coordinates": list(station)},
                "alt_m": 40,
                "radius_m": radius,
                "duration_s": 600,
                "handover_s": 30,
                "clock_scale": SCALE,
            },
        )
        assert r.status_code == 201, r.text
        op = r.json()
        assert op["plan"]["drones"] >= 1 and op["plan"]["shifts"]

        # Our own measurement from the service's live telemetry, every 50 ms of wall time.
        samples: list[bool] = []
        first = None
        while True:
            status = (await c.get(f"/v1/operations/overwatch/{op['id']}")).json()["status"]
            if status != "running":
                break
            covered = False
            for i in (1, 2, 3):
                u = c_.state.get(f"drone-{i}")
                if (
                    u
                    and u.lon is not None
                    and u.lat is not None
                    and (u.alt_m or 0) > 5
                    and dist_m((u.lon, u.lat), station) <= radius + 40
                ):
                    covered = True
            if covered and first is None:
                first = time.monotonic()
            if first is not None:
                samples.append(covered)
            await asyncio.sleep(0.05)
            assert time.monotonic() - t0 < 90, "overwatch did not end"
        final = (await c.get(f"/v1/operations/overwatch/{op['id']}")).json()
        assert final["status"] == "completed", final
        report = final["report"]
        handovers = report["handovers"]
        assert len(handovers) >= 2, report
        # Never uncovered between the first arrival and the end (our samples stop a little
        # after the service's end, when drones are already heading home: drop that tail).
        gaps = [k for k, ok in enumerate(samples) if not ok]
        share = sum(samples) / len(samples)
        assert report["coverage_share"] == 1.0, report
        assert not gaps or min(gaps) > 0.97 * len(samples), (share, len(samples), gaps[:5])
        async with rig.client(rig.admin_token) as admin:
            audit = (
                await admin.get(
                    "/v1/audit", params={"action": "overwatch.handover", "target_id": op["id"]}
                )
            ).json()
        assert audit["count"] == len(handovers)
        assert {(a["detail"]["from"], a["detail"]["to"]) for a in audit["data"]} == {
            (h["from"], h["to"]) for h in handovers
        }
        print(
            "overwatch: share",
            report["coverage_share"],
            "own share",
            round(share, 4),
            "samples",
            len(samples),
            "handovers",
            [(h["from"], h["to"], h["plan_s"]) for h in handovers],
            "launches",
            report["launches"],
            "runtime",
            round(time.monotonic() - t0, 1),
        )
        # everyone comes home
        for i in (1, 2, 3):
            await wait_for(
                lambda i=i: not c_.require_drones().drones[f"drone-{i}"].in_air, timeout_s=30
            )
