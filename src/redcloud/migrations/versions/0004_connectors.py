"""connectors: carrier links as data, the sandbox built in; a number's connector

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connectors = op.create_table(
        "connectors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_connectors")),
    )
    now = dt.datetime.now(dt.UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC, as redcloud.db.UTCDateTime does
    op.bulk_insert(
        connectors,
        [
            {
                "name": "sandbox",
                "kind": "sandbox",
                "status": "enabled",
                "is_default": True,
                "settings": {},
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    op.add_column("numbers", sa.Column("connector", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        batch.drop_column("connector")
    op.drop_table("connectors")
