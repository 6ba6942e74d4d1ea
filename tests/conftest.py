"""Shared fixtures: real PostgreSQL, real Mosquitto, free ports, unique topic roots.

Services are never mocked and never skipped: a missing PostgreSQL or Mosquitto fails the
tests that need it, with the command that starts it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from fleet.settings import Settings
from tests.helpers import PrivateMosquitto, reachable
from tests.live_api import live_api  # noqa: F401  (fixture)

PG_URL = os.environ.get(
    "PATROLFLEET_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
MQTT_URL = os.environ.get("PATROLFLEET_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """The machine's Mosquitto (CI: 127.0.0.1:1883); fails loudly when it is not running."""
    from fleet.mqtt.client import BrokerAddress

    addr = BrokerAddress.from_url(MQTT_URL)
    if not reachable(addr.host, addr.port):
        pytest.fail(
            f"MQTT broker {MQTT_URL} unreachable: start it with "
            "`mosquitto -d -c /etc/mosquitto/mosquitto.conf`",
            pytrace=False,
        )
    return MQTT_URL


@pytest.fixture
def topic_root() -> str:
    """A topic root of our own, so tests sharing the broker never hear each other."""
    return f"pft{uuid.uuid4().hex[:10]}"


def _pg_dsn(url: str, database: str | None = None) -> str:
    u = make_url(url)
    if database:
        u = u.set(database=database)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    url = make_url(PG_URL)
    if not reachable(url.host or "127.0.0.1", url.port or 5432):
        pytest.fail(
            f"PostgreSQL {PG_URL} unreachable: start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`",
            pytrace=False,
        )
    name = f"pft_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def setup() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        from fleet.store.db import open_engine

        async with open_engine(url.set(database=name).render_as_string(hide_password=False)):
            pass

    asyncio.run(setup())
    yield name

    async def teardown() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(teardown())


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test (sync: set up outside the loop)."""
    name = f"pft_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store suite runs once per backend: SQLite (embedded) and PostgreSQL (production)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fleet.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(tmp_path: Path, mqtt_url: str, topic_root: str) -> Settings:
    """Service settings on SQLite in tmp_path and the machine's Mosquitto, isolated by root."""
    return Settings(
        data_dir=tmp_path / "data",
        mqtt_url=mqtt_url,
        mqtt_root=topic_root,
        mqtt_client_id=f"svc-{topic_root}",
        offline_after_s=2.0,
        position_flush_interval_s=0.2,
        position_history_min_interval_s=0.0,
        stream_unit_interval_s=0.0,
        drone_connections=[],
        env="test",
    )


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.fail("the mosquitto binary is needed (apt-get install mosquitto)", pytrace=False)
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()
