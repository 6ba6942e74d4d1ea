"""A command's record: when it was sent and what came of it."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CoordinatorDep, Viewer
from api.schemas import CommandPublic

router = APIRouter(prefix="/v1/commands", tags=["commands"])


@router.get("/{command_id}", response_model=CommandPublic)
async def get_command(command_id: str, c: CoordinatorDep, _: Viewer) -> CommandPublic:
    return CommandPublic.from_domain(await c.store.get_command(command_id))
