"""tenant deferral limit

Revision ID: b183e2b9986d
Revises: 234ffdc4ab3d
Create Date: 2026-11-26 14:14:49.686490
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b183e2b9986d"
down_revision: str | None = "234ffdc4ab3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenant", sa.Column("max_deferral_days", sa.Integer(), nullable=False, server_default="90"))


def downgrade() -> None:
    op.drop_column("tenant", "max_deferral_days")
