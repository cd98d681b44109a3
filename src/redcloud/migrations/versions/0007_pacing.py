"""pacing: throughput caps per number and per campaign, and the clock that spaces them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_caps",
        sa.Column("campaign_reg_id", sa.String(length=64), nullable=False),
        sa.Column("segments_per_second", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_reg_id", name=op.f("pk_campaign_caps")),
    )
    op.create_table(
        "sender_pacing",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sender_pacing")),
    )
    op.add_column("numbers", sa.Column("segments_per_second", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        batch.drop_column("segments_per_second")
    op.drop_table("sender_pacing")
    op.drop_table("campaign_caps")
