"""smpp: bind leases, workers' live state, carrier ids of parts, inbound parts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "smpp_binds",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("connector", "slot", name=op.f("pk_smpp_binds")),
    )
    op.create_table(
        "smpp_members",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "holder", name=op.f("pk_smpp_members")),
    )
    op.create_table(
        "smpp_parts",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("carrier_id", sa.String(length=72), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("part", sa.Integer(), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=True),
        sa.Column("stat", sa.String(length=16), nullable=True),
        sa.Column("err", sa.String(length=16), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("connector", "carrier_id", name=op.f("pk_smpp_parts")),
    )
    op.create_index("ix_smpp_parts_message", "smpp_parts", ["message_id"])
    op.create_table(
        "smpp_inbound_parts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("destination", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_inbound_parts")),
        sa.UniqueConstraint(
            "connector",
            "source",
            "destination",
            "reference",
            "seq",
            name="uq_smpp_inbound_parts_part",
        ),
    )
    op.create_index("ix_smpp_inbound_parts_received", "smpp_inbound_parts", ["received_at"])


def downgrade() -> None:
    op.drop_table("smpp_inbound_parts")
    op.drop_index("ix_smpp_parts_message", table_name="smpp_parts")
    op.drop_table("smpp_parts")
    op.drop_table("smpp_members")
    op.drop_table("smpp_binds")
