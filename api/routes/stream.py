"""`/v1/stream`: the live event stream over WebSocket (token in the header or ?token=)."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import websocket_principal
from fleet.errors import AuthError
from fleet.service import Coordinator

router = APIRouter(tags=["stream"])


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    coordinator: Coordinator = websocket.app.state.coordinator
    try:
        principal = await websocket_principal(websocket)
    except AuthError as exc:
        # Accept, then close with 4401/4403 (4000 + the HTTP status) and the same words a
        # REST call would get: a handshake refused with a bare 403 tells a browser nothing.
        await websocket.accept()
        await websocket.close(code=4000 + exc.status, reason=exc.detail[:120])
        return
    await websocket.accept()
    async with coordinator.events.subscribe(maxsize=5000) as sub:
        await websocket.send_json(
            {
                "type": "snapshot",
                "data": {
                    "role": principal.role.name.lower(),
                    "units": [u.to_dict() for u in coordinator.state.units.values()],
                },
            }
        )
        receiver = asyncio.create_task(_drain_client(websocket), name="api.stream.receiver")
        try:
            while True:
                getter = asyncio.create_task(sub.get(), name="api.stream.next")
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:  # the client went away
                    getter.cancel()
                    break
                # Batch what is queued so a busy fleet costs one frame, not thousands.
                batch = [getter.result().to_dict()]
                while not sub.queue.empty() and len(batch) < 500:
                    batch.append(sub.queue.get_nowait().to_dict())
                await websocket.send_json(
                    {"type": "events", "events": batch, "dropped": sub.dropped}
                )
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) client frames so a close is noticed promptly."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
