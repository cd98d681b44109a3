"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 02:01:14.860618
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "inventory_blocks",
        sa.Column("npa", sa.String(length=3), nullable=False),
        sa.Column("nxx", sa.String(length=3), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("rate_center", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("npa", "nxx", name=op.f("pk_inventory_blocks")),
    )
    with op.batch_alter_table("inventory_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_inventory_blocks_rate_center", ["rate_center"], unique=False)
        batch_op.create_index("ix_inventory_blocks_state_city", ["state", "city"], unique=False)

    op.create_table(
        "inventory_zip_codes",
        sa.Column("zip_code", sa.String(length=5), nullable=False),
        sa.Column("npa", sa.String(length=3), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("zip_code", "npa", name=op.f("pk_inventory_zip_codes")),
    )
    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_run_at", ["status", "run_at"], unique=False)

    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("inbound_webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("delivery_webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("webhook_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_clients_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
    )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_clients_account_id"), ["account_id"], unique=False)

    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_static", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name=op.f("fk_access_tokens_api_client_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_tokens")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_tokens_api_client_id"), ["api_client_id"], unique=False
        )
        batch_op.create_index("ix_access_tokens_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column("api_client_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name=op.f("fk_idempotency_records_api_client_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("api_client_id", "key", name=op.f("pk_idempotency_records")),
    )
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_records_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "numbers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=True),
        sa.Column("campaign_reg_id", sa.String(length=64), nullable=True),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("mms_enabled", sa.Boolean(), nullable=False),
        sa.Column("webhook_inbound_override", sa.String(length=2048), nullable=True),
        sa.Column("webhook_delivery_override", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"], ["api_clients.id"], name=op.f("fk_numbers_api_client_id_api_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numbers")),
        sa.UniqueConstraint("e164", name=op.f("uq_numbers_e164")),
    )
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.create_index("ix_numbers_client_status", ["api_client_id", "status"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=False),
        sa.Column("number_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("message_type", sa.String(length=3), nullable=False),
        sa.Column("send_from", sa.String(length=16), nullable=False),
        sa.Column("to", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("external_reference", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("provider_message_ref", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name=op.f("fk_messages_api_client_id_api_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["number_id"], ["numbers.id"], name=op.f("fk_messages_number_id_numbers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_client_created", ["api_client_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_messages_client_external_reference",
            ["api_client_id", "external_reference"],
            unique=False,
        )
        batch_op.create_index(
            "ix_messages_provider_message_ref", ["provider_message_ref"], unique=False
        )

    op.create_table(
        "message_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name=op.f("fk_message_events_api_client_id_api_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_events_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
        sa.UniqueConstraint(
            "message_id", "sequence", name=op.f("uq_message_events_message_id_sequence")
        ),
    )


def downgrade() -> None:

    op.drop_table("message_events")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_provider_message_ref")
        batch_op.drop_index("ix_messages_client_external_reference")
        batch_op.drop_index("ix_messages_client_created")

    op.drop_table("messages")
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_index("ix_numbers_client_status")

    op.drop_table("numbers")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_records_expires_at")

    op.drop_table("idempotency_records")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_access_tokens_expires_at")
        batch_op.drop_index(batch_op.f("ix_access_tokens_api_client_id"))

    op.drop_table("access_tokens")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_clients_account_id"))

    op.drop_table("api_clients")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_run_at")

    op.drop_table("jobs")
    op.drop_table("inventory_zip_codes")
    with op.batch_alter_table("inventory_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_blocks_state_city")
        batch_op.drop_index("ix_inventory_blocks_rate_center")

    op.drop_table("inventory_blocks")
    op.drop_table("accounts")
