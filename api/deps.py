"""FastAPI dependencies: the running coordinator and the caller's role."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, WebSocket

from fleet.domain import Principal
from fleet.errors import Forbidden, Unauthenticated
from fleet.service import Coordinator
from fleet.store.repo import hash_token
from fleet.types import Role

_TOKEN_CACHE_S = 30.0  # a revoked token stops working within this long


def get_coordinator(request: Request) -> Coordinator:
    return request.app.state.coordinator  # type: ignore[no-any-return]


class TokenCache:
    """Resolved tokens for a short while, so a request costs no database round-trip."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(self, coordinator: Coordinator, token: str) -> Principal | None:
        key = hash_token(token)
        hit = self._entries.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = await coordinator.store.resolve_token(token)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + _TOKEN_CACHE_S, principal)
        return principal


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(coordinator: Coordinator, cache: TokenCache, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = await cache.resolve(coordinator, token)
    if principal is None:
        raise Unauthenticated("unknown or revoked token")
    return principal


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold at least `role`."""

    async def dependency(request: Request) -> Principal:
        coordinator = get_coordinator(request)
        token = _bearer(request.headers.get("authorization"))
        principal = await authenticate(coordinator, request.app.state.tokens, token)
        if principal.role < role:
            raise Forbidden(
                f"this needs the {role.name.lower()} role; your token has "
                f"{principal.role.name.lower()}",
                required_role=role.name.lower(),
            )
        request.state.principal = principal
        return principal

    return dependency


async def websocket_principal(websocket: WebSocket) -> Principal:
    """Browsers cannot set headers on a WebSocket, so the token may come as ?token=."""
    coordinator: Coordinator = websocket.app.state.coordinator
    token = _bearer(websocket.headers.get("authorization")) or websocket.query_params.get("token")
    return await authenticate(coordinator, websocket.app.state.tokens, token)


CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Dispatcher = Annotated[Principal, Depends(require(Role.DISPATCHER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
