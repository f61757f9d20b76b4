"""Grid invoices and price sheets, partner bank details, quantity tolerance

Revision ID: 7262c99d07eb
Revises: 61f3e9ec6adf
Create Date: 2026-11-26 15:24:17.388146
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "7262c99d07eb"
down_revision: str | None = "61f3e9ec6adf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("article_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("price_unit", sa.String(length=5), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["market_partner.id"], name=op.f("fk_price_sheet_partner_id_market_partner")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_price_sheet_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_sheet")),
        sa.UniqueConstraint(
            "tenant_id",
            "partner_id",
            "article_id",
            "valid_from",
            name=op.f("uq_price_sheet_tenant_id_partner_id_article_id_valid_from"),
        ),
    )
    op.create_index(op.f("ix_price_sheet_tenant_id"), "price_sheet", ["tenant_id"], unique=False)
    op.create_table(
        "grid_invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("invoice_number", sqlmodel.sql.sqltypes.AutoString(length=70), nullable=False),
        sa.Column("pruefidentifikator", sa.String(length=5), nullable=False),
        sa.Column("category", sa.String(length=5), nullable=False),
        sa.Column("invoice_type", sa.String(length=5), nullable=False),
        sa.Column("division", sa.String(length=10), nullable=False),
        sa.Column("malo_id", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=True),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("due_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("vat", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("cancels", sqlmodel.sql.sqltypes.AutoString(length=70), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("answer_pid", sa.String(length=5), nullable=False),
        sa.Column("rejection_code", sa.String(length=5), nullable=False),
        sa.Column("rejection_list", sa.String(length=10), nullable=False),
        sa.Column("rejection_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rejected_position", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("posting_document_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["market_message.id"], name=op.f("fk_grid_invoice_message_id_market_message")
        ),
        sa.ForeignKeyConstraint(
            ["posting_document_id"],
            ["posting_document.id"],
            name=op.f("fk_grid_invoice_posting_document_id_posting_document"),
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_grid_invoice_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_invoice")),
        sa.UniqueConstraint("message_id", "invoice_number", name=op.f("uq_grid_invoice_message_id_invoice_number")),
    )
    op.create_index(op.f("ix_grid_invoice_invoice_number"), "grid_invoice", ["invoice_number"], unique=False)
    op.create_index(op.f("ix_grid_invoice_malo_id"), "grid_invoice", ["malo_id"], unique=False)
    op.create_index(op.f("ix_grid_invoice_state"), "grid_invoice", ["state"], unique=False)
    op.create_index(op.f("ix_grid_invoice_tenant_id"), "grid_invoice", ["tenant_id"], unique=False)
    op.add_column(
        "market_partner",
        sa.Column("iban", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False, server_default=""),
    )
    op.add_column(
        "market_partner",
        sa.Column("bic", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False, server_default=""),
    )
    op.add_column(
        "tenant",
        sa.Column("invoice_quantity_tolerance", sa.Numeric(precision=5, scale=2), nullable=False, server_default="1.0"),
    )


def downgrade() -> None:
    op.drop_column("tenant", "invoice_quantity_tolerance")
    op.drop_column("market_partner", "bic")
    op.drop_column("market_partner", "iban")
    op.drop_index(op.f("ix_grid_invoice_tenant_id"), table_name="grid_invoice")
    op.drop_index(op.f("ix_grid_invoice_state"), table_name="grid_invoice")
    op.drop_index(op.f("ix_grid_invoice_malo_id"), table_name="grid_invoice")
    op.drop_index(op.f("ix_grid_invoice_invoice_number"), table_name="grid_invoice")
    op.drop_table("grid_invoice")
    op.drop_index(op.f("ix_price_sheet_tenant_id"), table_name="price_sheet")
    op.drop_table("price_sheet")
