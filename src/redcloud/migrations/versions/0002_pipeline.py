"""pipeline: webhook delivery state, attempts, sandbox capture, unrouted inbound

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:31:01.704284
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sandbox_submissions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("from_e164", sa.String(length=16), nullable=False),
        sa.Column("to_e164", sa.String(length=16), nullable=False),
        sa.Column("message_type", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_submissions")),
    )
    with op.batch_alter_table("sandbox_submissions", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_submissions_message", ["message_id"], unique=False)
        batch_op.create_index("ix_sandbox_submissions_to", ["to_e164"], unique=False)

    op.create_table(
        "unrouted_inbound",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("from_e164", sa.String(length=16), nullable=False),
        sa.Column("to_e164", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unrouted_inbound")),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("response_excerpt", sa.String(length=500), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["message_events.id"],
            name=op.f("fk_webhook_attempts_event_id_message_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_attempts_event_id"), ["event_id"], unique=False
        )

    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "delivery_status", sa.String(length=16), nullable=False, server_default="pending"
            )
        )
        batch_op.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_message_events_client_delivery",
            ["api_client_id", "delivery_status", "occurred_at_ms"],
            unique=False,
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_status_updated", ["status", "updated_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_updated")

    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_index("ix_message_events_client_delivery")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery_attempts")
        batch_op.drop_column("delivery_status")

    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempts_event_id"))

    op.drop_table("webhook_attempts")
    op.drop_table("unrouted_inbound")
    with op.batch_alter_table("sandbox_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_submissions_to")
        batch_op.drop_index("ix_sandbox_submissions_message")

    op.drop_table("sandbox_submissions")
