"""MQTT payloads: pydantic models with `schema_version`, JSON bytes on the wire (STYLE.md §6).

Inbound models ignore unknown fields (adding a field keeps the version); a wrong type, a
missing field or a bad value raises `PayloadInvalid`, an unknown version
`UnsupportedSchemaVersion`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleet.errors import PayloadInvalid, UnsupportedSchemaVersion
from fleet.types import UnitStatus

SCHEMA_VERSION = 1


class _Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_version: Literal[1] = 1


class _Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class Telemetry(_Inbound):
    """`units/{id}/telemetry`: where a unit is and how it is."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    alt_m: float | None = None
    speed_mps: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    status: UnitStatus | None = None
    ts: datetime | None = None  # when the unit measured it; default: when we received it


class Duty(_Inbound):
    """`units/{id}/duty`: on-duty check-in or check-out of a unit or a team."""

    action: Literal["check_in", "check_out"]
    team_size: int | None = Field(default=None, ge=1, le=10_000)
    note: str | None = Field(default=None, max_length=500)


class Presence(_Inbound):
    """`units/{id}/state` (retained): the unit app's own online/offline (its MQTT Will)."""

    online: bool


class CommandMessage(_Outbound):
    """`units/{id}/commands` (QoS 1): an assignment or a group command for a unit."""

    command_id: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)
    issued_at: datetime
    timeout_s: float


class Ack(_Inbound):
    """`units/{id}/acks`: a unit's answer to a command."""

    command_id: str = Field(min_length=1, max_length=64)
    status: Literal["accepted", "rejected", "done"]
    reason: str | None = Field(default=None, max_length=500)


class PayloadState(_Inbound):
    """`drones/{id}/payload/state`: the payload companion's answer to a payload command
    (published on `drones/{id}/payload` as a `CommandMessage` with kind `speak`, `clip`,
    `stop` or `spotlight`)."""

    command_id: str = Field(min_length=1, max_length=64)
    state: Literal["accepted", "playing", "done", "failed"]
    reason: str | None = Field(default=None, max_length=500)
    audio_file: str | None = Field(default=None, max_length=500)


class Alert(_Inbound):
    """`alerts`: a sensor or call-centre alert that becomes (or merges into) an incident."""

    source: str = Field(min_length=1, max_length=64)  # camera, fence, call_centre, ...
    category: str = Field(min_length=1, max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    priority: int = Field(default=3, ge=1, le=5)
    description: str = Field(default="", max_length=2000)
    external_ref: str | None = Field(default=None, max_length=200)
    ts: datetime | None = None


class Event(_Outbound):
    """`events/...`: what changed in the fleet (mirrors the WebSocket stream)."""

    type: str
    at: datetime
    data: dict[str, Any]


class DeadLetter(_Outbound):
    """`deadletter`: a message the service could not accept, and why."""

    topic: str
    reason: str
    detail: str
    size: int
    payload_excerpt: str
    received_at: datetime


M = TypeVar("M", bound=_Inbound)


def parse(model: type[M], payload: bytes) -> M:
    """Validate `payload` as `model`.

    Raises
    ------
    UnsupportedSchemaVersion
        When the message declares a schema version this service does not speak.
    PayloadInvalid
        When the bytes are not JSON or do not fit the model; the message names the field.
    """
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        if loc == "schema_version" and err["type"] == "literal_error":
            raise UnsupportedSchemaVersion(
                f"schema_version {err.get('input')!r} is not supported (expected 1)",
                field="schema_version",
            ) from None
        raise PayloadInvalid(f"{loc}: {err['msg']}", field=loc) from None


def event(type_: str, data: dict[str, Any]) -> Event:
    return Event(type=type_, at=datetime.now(UTC), data=json.loads(json.dumps(data, default=str)))
