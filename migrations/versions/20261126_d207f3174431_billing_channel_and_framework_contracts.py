"""Billing channel and framework contracts

Revision ID: d207f3174431
Revises: d85ddef8956f
Create Date: 2026-11-26 16:02:05.389392
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "d207f3174431"
down_revision: str | None = "d85ddef8956f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "framework_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_framework_contract_document_id_document")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["market_partner.id"], name=op.f("fk_framework_contract_partner_id_market_partner")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_framework_contract_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_contract")),
    )
    op.create_index(op.f("ix_framework_contract_partner_id"), "framework_contract", ["partner_id"], unique=False)
    op.create_index(op.f("ix_framework_contract_tenant_id"), "framework_contract", ["tenant_id"], unique=False)
    op.add_column("customer", sa.Column("billing_channel", sa.String(length=10), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("customer", "billing_channel")
    op.drop_index(op.f("ix_framework_contract_tenant_id"), table_name="framework_contract")
    op.drop_index(op.f("ix_framework_contract_partner_id"), table_name="framework_contract")
    op.drop_table("framework_contract")
