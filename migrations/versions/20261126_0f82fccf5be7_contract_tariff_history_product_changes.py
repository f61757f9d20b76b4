"""Contract tariff history (product changes)

Revision ID: 0f82fccf5be7
Revises: d25c73552323
Create Date: 2026-11-26 15:40:13.648874
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0f82fccf5be7"
down_revision: str | None = "d25c73552323"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract_tariff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_contract_tariff_contract_id_contract")),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariff.id"], name=op.f("fk_contract_tariff_tariff_id_tariff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_tariff")),
        sa.UniqueConstraint("contract_id", "valid_from", name=op.f("uq_contract_tariff_contract_id_valid_from")),
    )
    op.create_index(op.f("ix_contract_tariff_contract_id"), "contract_tariff", ["contract_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_tariff_contract_id"), table_name="contract_tariff")
    op.drop_table("contract_tariff")
