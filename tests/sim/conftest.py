"""Fixtures for the simulated autopilots: free UDP ports."""

from __future__ import annotations

import pytest

from tests import helpers


@pytest.fixture
def udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago (anyio ``free_udp_port`` style)."""
    return helpers.free_udp_port()
