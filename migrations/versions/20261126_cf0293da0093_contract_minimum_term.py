"""contract minimum term

Revision ID: cf0293da0093
Revises: c22960c64158
Create Date: 2026-11-26 13:16:32.879199
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cf0293da0093"
down_revision: str | None = "c22960c64158"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract", sa.Column("minimum_term_until", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("contract", "minimum_term_until")
