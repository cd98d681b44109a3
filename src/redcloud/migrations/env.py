"""Alembic environment: runs on the connection that redcloud.migrate hands over."""

from __future__ import annotations

from alembic import context

from redcloud.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `redcloud db upgrade`, which supplies the connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
