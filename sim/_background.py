"""Run a simulator's `run(started)` coroutine in the background for the length of a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def in_background(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    name: str,
    ready_timeout_s: float = 15.0,
) -> AsyncIterator[None]:
    """Start `run(started)`, wait until it sets `started`, and cancel it when the block ends.

    Raises
    ------
    TimeoutError
        When the simulator did not get ready in time (e.g. no broker).
    """
    started = asyncio.Event()
    task = asyncio.create_task(run(started), name=name)
    try:
        async with asyncio.timeout(ready_timeout_s):
            done, _ = await asyncio.wait(
                {task, asyncio.ensure_future(started.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
        if task in done:
            task.result()  # it failed before it was ready: raise that
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
