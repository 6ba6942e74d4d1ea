"""Admin: the audit log and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from api.deps import Admin, CoordinatorDep
from api.schemas import AuditPublic, Page, TokenCreate, TokenCreated
from fleet.types import Role

router = APIRouter(prefix="/v1", tags=["admin"])


@router.get("/audit", response_model=Page[AuditPublic])
async def audit_log(
    c: CoordinatorDep,
    _: Admin,
    actor: str | None = None,
    action: str | None = Query(None, description="prefix, e.g. incident."),
    target_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> Page[AuditPublic]:
    entries, total = await c.store.list_audit(
        actor=actor, action=action, target_id=target_id, limit=limit, offset=offset
    )
    return Page[AuditPublic](data=[AuditPublic.from_domain(e) for e in entries], count=total)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(body: TokenCreate, c: CoordinatorDep, who: Admin) -> TokenCreated:
    token_id, token = await c.store.create_token(who, name=body.name, role=Role.parse(body.role))
    return TokenCreated(id=token_id, name=body.name, role=body.role, token=token)
