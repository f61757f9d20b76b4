"""disconnection of basic supply

Revision ID: 234ffdc4ab3d
Revises: 7cbbcc375a4d
Create Date: 2026-11-26 13:45:26.640267
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "234ffdc4ab3d"
down_revision: str | None = "7cbbcc375a4d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract", sa.Column("basic_supply", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column(
        "tenant", sa.Column("disconnect_basic_supply", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("tenant", "disconnect_basic_supply")
    op.drop_column("contract", "basic_supply")
