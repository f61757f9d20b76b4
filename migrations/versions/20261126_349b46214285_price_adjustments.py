"""Price adjustments

Revision ID: 349b46214285
Revises: 0f82fccf5be7
Create Date: 2026-11-26 15:43:10.484939
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "349b46214285"
down_revision: str | None = "0f82fccf5be7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("announced_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariff.id"], name=op.f("fk_price_adjustment_tariff_id_tariff")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_price_adjustment_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_adjustment")),
        sa.UniqueConstraint("tariff_id", "valid_from", name=op.f("uq_price_adjustment_tariff_id_valid_from")),
    )
    op.create_index(op.f("ix_price_adjustment_tenant_id"), "price_adjustment", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_price_adjustment_tenant_id"), table_name="price_adjustment")
    op.drop_table("price_adjustment")
