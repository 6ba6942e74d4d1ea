"""Alembic environment: runs on the connection the service hands over (see fleet.store.db)."""

from __future__ import annotations

from alembic import context

from fleet.store import patrol_rows  # noqa: F401  (registers the patrol tables)
from fleet.store.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `patrolfleet db upgrade` (fleet.store.db.upgrade)")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
