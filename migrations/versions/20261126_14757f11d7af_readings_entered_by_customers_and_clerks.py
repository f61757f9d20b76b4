"""readings entered by customers and clerks

Revision ID: 14757f11d7af
Revises: 3dc3b47c9875
Create Date: 2026-11-26 12:30:00.560357
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "14757f11d7af"
down_revision: str | None = "3dc3b47c9875"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("meter_reading", sa.Column("source", sa.String(length=20), nullable=False, server_default="mscons"))
    op.add_column(
        "meter_reading",
        sa.Column("entered_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=""),
    )
    op.alter_column("meter_reading", "message_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    op.alter_column("meter_reading", "message_id", existing_type=sa.INTEGER(), nullable=False)
    op.drop_column("meter_reading", "entered_by")
    op.drop_column("meter_reading", "source")
