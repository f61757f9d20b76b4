"""Partner communication data

Revision ID: d85ddef8956f
Revises: ae022ef35c4e
Create Date: 2026-11-26 15:50:32.302997
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "d85ddef8956f"
down_revision: str | None = "ae022ef35c4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_communication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["market_partner.id"], name=op.f("fk_partner_communication_partner_id_market_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_communication")),
        sa.UniqueConstraint("partner_id", "valid_from", name=op.f("uq_partner_communication_partner_id_valid_from")),
    )
    op.create_index(op.f("ix_partner_communication_partner_id"), "partner_communication", ["partner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_communication_partner_id"), table_name="partner_communication")
    op.drop_table("partner_communication")
