"""Customer data versions and grid operators' master data

Revision ID: d25c73552323
Revises: 7262c99d07eb
Create Date: 2026-11-26 15:36:07.352636
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "d25c73552323"
down_revision: str | None = "7262c99d07eb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("business_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("market_state", sa.String(length=20), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_customer_version_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_customer_version_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_version")),
        sa.UniqueConstraint("tenant_id", "business_key", name=op.f("uq_customer_version_tenant_id_business_key")),
    )
    op.create_index(op.f("ix_customer_version_customer_id"), "customer_version", ["customer_id"], unique=False)
    op.create_index(op.f("ix_customer_version_tenant_id"), "customer_version", ["tenant_id"], unique=False)
    op.create_table(
        "grid_master_data",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("pruefidentifikator", sa.String(length=5), nullable=False),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("malo_id", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["market_message.id"], name=op.f("fk_grid_master_data_message_id_market_message")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_grid_master_data_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_master_data")),
        sa.UniqueConstraint("message_id", "malo_id", name=op.f("uq_grid_master_data_message_id_malo_id")),
    )
    op.create_index(op.f("ix_grid_master_data_malo_id"), "grid_master_data", ["malo_id"], unique=False)
    op.create_index(op.f("ix_grid_master_data_tenant_id"), "grid_master_data", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_grid_master_data_tenant_id"), table_name="grid_master_data")
    op.drop_index(op.f("ix_grid_master_data_malo_id"), table_name="grid_master_data")
    op.drop_table("grid_master_data")
    op.drop_index(op.f("ix_customer_version_tenant_id"), table_name="customer_version")
    op.drop_index(op.f("ix_customer_version_customer_id"), table_name="customer_version")
    op.drop_table("customer_version")
