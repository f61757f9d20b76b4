"""budget plans replaced after a bill, instalment requests booked

Revision ID: c22960c64158
Revises: c1b9456d2c74
Create Date: 2026-11-26 12:37:56.104679
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c22960c64158"
down_revision: str | None = "c1b9456d2c74"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("budget_instalment", sa.Column("posting_document_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_budget_instalment_posting_document_id_posting_document"),
        "budget_instalment",
        "posting_document",
        ["posting_document_id"],
        ["id"],
    )
    op.add_column("budget_plan", sa.Column("ended_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("budget_plan", "ended_on")
    op.drop_constraint(
        op.f("fk_budget_instalment_posting_document_id_posting_document"), "budget_instalment", type_="foreignkey"
    )
    op.drop_column("budget_instalment", "posting_document_id")
