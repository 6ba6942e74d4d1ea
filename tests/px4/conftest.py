"""PX4 SITL suite: runs only when PATROLFLEET_PX4_URL names the MAVLink connection to listen on.

``PATROLFLEET_PX4_URL=udpin://0.0.0.0:14540 pytest -m px4 tests/px4`` against a PX4 SITL
instance (instance N sends to 14540+N as system id N+1). Without the variable these tests
are deselected at collection (not skipped): nothing here can run without PX4.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from fleet.control import DroneLinks, LinksConfig, Timeouts, open_drone_links
from tests.fleet.control.conftest import Recorder

PX4_URL = os.environ.get("PATROLFLEET_PX4_URL")
PX4_SYSID = int(os.environ.get("PATROLFLEET_PX4_SYSID", "1"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PX4_URL:
        return
    px4 = [i for i in items if i.get_closest_marker("px4")]
    if px4:
        config.hook.pytest_deselected(items=px4)
        items[:] = [i for i in items if not i.get_closest_marker("px4")]


@pytest.fixture
async def px4() -> AsyncIterator[tuple[DroneLinks, Recorder]]:
    """DroneLinks listening on PATROLFLEET_PX4_URL, with the PX4 vehicle discovered."""
    assert PX4_URL, "PATROLFLEET_PX4_URL is not set"
    config = LinksConfig(
        connections=(PX4_URL,),
        timeouts=Timeouts(command_s=10.0, takeoff_s=20.0, mission_upload_s=60.0),
    )
    async with open_drone_links(config) as links:
        rec = Recorder()
        links.add_listener(rec)
        await asyncio.wait_for(links.wait_discovered(PX4_SYSID), timeout=60)
        # PX4 refuses to arm until its estimator has a global position and home
        await rec.wait_for(
            lambda: (t := rec.latest(PX4_SYSID)) is not None and t.health_ok, timeout_s=120
        )
        yield links, rec
        tel = rec.latest(PX4_SYSID)
        if tel is not None and tel.in_air:  # leave the simulator on the ground
            await links.return_to_launch(PX4_SYSID)
            await rec.wait_for(lambda: not rec.latest(PX4_SYSID).armed, timeout_s=180)
