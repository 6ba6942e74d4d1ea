"""RFC 9457 problem+json for every error the API returns, validation errors included."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleet.errors import PatrolfleetError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://patrolfleet.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        **{k: v for k, v in extensions.items() if v is not None},
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # Drop the "body"/"query"/"path" head and pydantic's union-branch tags so the path reads
    # like the document the client sent: properties.category, geometry.coordinates.0
    parts = [str(p) for p in loc[1:] if not (isinstance(p, str) and "[" in p)]
    return ".".join(parts) or str(loc[0])


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field_path(tuple(e.get("loc", ()))),
            "in": str(e.get("loc", ("body",))[0]),
            "message": e.get("msg", "invalid"),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem(
        request,
        status=422,
        type_="validation-error",
        title="Request validation failed",
        detail=detail,
        field=first["field"],
        errors=errors,
    )


async def _fleet_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PatrolfleetError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(
        request,
        status=exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        headers=headers,
        **exc.extensions,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}
    return problem(
        request,
        status=exc.status_code,
        type_={404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error"),
        title=titles.get(exc.status_code, "HTTP error"),
        detail=str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("api.unhandled", extra={"path": request.url.path})
    return problem(
        request,
        status=500,
        type_="internal-error",
        title="Internal error",
        detail="the service failed to handle this request; it has been logged",
    )


def install(app: FastAPI) -> None:
    """Register the handlers; one per branch, resolved by MRO (Starlette)."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(PatrolfleetError, _fleet_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
