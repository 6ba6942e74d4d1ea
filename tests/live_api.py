"""A real HTTP server (uvicorn on a free port) around the app, and tokens for each role.

The `live_api` fixture is registered in tests/conftest.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from api.app import create_app
from fleet.domain import SYSTEM
from fleet.service import Coordinator
from fleet.settings import Settings
from fleet.types import Role
from tests.helpers import free_tcp_port, wait_for


@dataclass
class LiveApi:
    base_url: str
    coordinator: Coordinator
    tokens: dict[Role, str]

    def client(self, role: Role | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)


@pytest.fixture
async def live_api(settings: Settings) -> AsyncIterator[LiveApi]:
    """The service with its API on 127.0.0.1:<free port>, started and stopped per test."""
    port = free_tcp_port()
    app = create_app(settings.model_copy(update={"port": port}))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="test.uvicorn")
    await wait_for(lambda: server.started or task.done(), timeout_s=20)
    if task.done():
        task.result()
    coordinator: Coordinator = app.state.coordinator
    await wait_for(lambda: coordinator.bus.connected)
    tokens = {}
    for role in Role:
        _, tokens[role] = await coordinator.store.create_token(
            SYSTEM, name=f"test-{role.name.lower()}", role=role
        )
    yield LiveApi(f"http://127.0.0.1:{port}", coordinator, tokens)
    server.should_exit = True
    await task
