"""demand price, concession fee, metering

Revision ID: c1b9456d2c74
Revises: 14757f11d7af
Create Date: 2026-11-26 12:35:44.790992
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c1b9456d2c74"
down_revision: str | None = "14757f11d7af"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract", sa.Column("metering", sa.String(length=10), nullable=False, server_default="slp"))
    op.add_column(
        "tariff_price", sa.Column("demand_price_per_kw_year", sa.Numeric(precision=18, scale=6), nullable=True)
    )
    op.add_column("tariff_price", sa.Column("concession_fee", sa.Numeric(precision=18, scale=6), nullable=True))


def downgrade() -> None:
    op.drop_column("tariff_price", "concession_fee")
    op.drop_column("tariff_price", "demand_price_per_kw_year")
    op.drop_column("contract", "metering")
