"""market message raw stored uncompressed

Inbound processing reads ``raw`` in slices (``activities/stored_raw.py``). PostgreSQL decompresses a compressed
value from its start for every slice, so reading a large interchange took time quadratic in its size; stored
out of line without compression, a slice reads only its own TOAST chunks. Rows stored before keep their
compression until they are rewritten.

Revision ID: 8ac9fe8154b2
Revises: a886af91360c
Create Date: 2026-11-26 11:09:04.095219
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8ac9fe8154b2"
down_revision: str | None = "a886af91360c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE market_message ALTER COLUMN raw SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE market_message ALTER COLUMN raw SET STORAGE EXTENDED")
