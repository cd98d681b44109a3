"""consent: opt-outs, automatic reply texts, messages flagged for review; a client's scope

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "optouts",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "recipient", name=op.f("pk_optouts")),
    )
    op.create_index("ix_optouts_recipient", "optouts", ["recipient"])
    op.create_index("ix_optouts_client", "optouts", ["api_client_id"])
    op.create_table(
        "consent_replies",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "kind", name=op.f("pk_consent_replies")),
    )
    op.create_table(
        "consent_reviews",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=False),
        sa.Column("number_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("treated_as_opt_out", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_reviews")),
    )
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(
            sa.Column("optout_scope", sa.String(length=8), nullable=False, server_default="number")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("optout_scope")
    op.drop_table("consent_reviews")
    op.drop_table("consent_replies")
    op.drop_index("ix_optouts_client", table_name="optouts")
    op.drop_index("ix_optouts_recipient", table_name="optouts")
    op.drop_table("optouts")
