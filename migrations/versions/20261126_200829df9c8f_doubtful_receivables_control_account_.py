"""doubtful receivables control account, energy quantities, billed until

Revision ID: 200829df9c8f
Revises: 619d2792862e
Create Date: 2026-11-26 12:17:08.061515
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "200829df9c8f"
down_revision: str | None = "619d2792862e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("uq_posting_document_idempotency_key"), "posting_document", type_="unique")
    op.create_unique_constraint(
        op.f("uq_posting_document_tenant_id_idempotency_key"), "posting_document", ["tenant_id", "idempotency_key"]
    )
    op.add_column("contract", sa.Column("billed_until", sa.Date(), nullable=True))
    op.create_index(
        "ux_ledger_account_role",
        "ledger_account",
        ["tenant_id", "division", "gl_role"],
        unique=True,
        postgresql_where=sa.text("gl_role IS NOT NULL"),
    )
    op.add_column("posting_document", sa.Column("quantity_kwh", sa.Numeric(precision=18, scale=3), nullable=True))
    op.add_column("posting_line", sa.Column("control_account_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_posting_line_control_account_id_ledger_account"),
        "posting_line",
        "ledger_account",
        ["control_account_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_posting_document_tenant_id_idempotency_key"), "posting_document", type_="unique")
    op.create_unique_constraint(op.f("uq_posting_document_idempotency_key"), "posting_document", ["idempotency_key"])
    op.drop_constraint(op.f("fk_posting_line_control_account_id_ledger_account"), "posting_line", type_="foreignkey")
    op.drop_column("posting_line", "control_account_id")
    op.drop_column("posting_document", "quantity_kwh")
    op.drop_index(
        "ux_ledger_account_role", table_name="ledger_account", postgresql_where=sa.text("gl_role IS NOT NULL")
    )
    op.drop_column("contract", "billed_until")
