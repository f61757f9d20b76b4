"""payments: runs, direct debits, bank statements, item holds

Revision ID: 7cbbcc375a4d
Revises: cf0293da0093
Create Date: 2026-11-26 13:19:22.697011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "7cbbcc375a4d"
down_revision: str | None = "cf0293da0093"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_bank_statement_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement")),
        sa.UniqueConstraint("tenant_id", "sha256", name=op.f("uq_bank_statement_tenant_id_sha256")),
    )
    op.create_table(
        "bank_transaction",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("bank_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("credit", sa.Boolean(), nullable=False),
        sa.Column("end_to_end_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
        sa.Column("mandate_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
        sa.Column("remittance", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("counterparty_name", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("counterparty_iban", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
        sa.Column("return_reason", sa.String(length=4), nullable=True),
        sa.Column("charges", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("posting_document_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_account.id"], name=op.f("fk_bank_transaction_account_id_ledger_account")
        ),
        sa.ForeignKeyConstraint(
            ["posting_document_id"],
            ["posting_document.id"],
            name=op.f("fk_bank_transaction_posting_document_id_posting_document"),
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"], ["bank_statement.id"], name=op.f("fk_bank_transaction_statement_id_bank_statement")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_bank_transaction_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transaction")),
        sa.UniqueConstraint("tenant_id", "bank_key", name=op.f("uq_bank_transaction_tenant_id_bank_key")),
    )
    op.create_index(op.f("ix_bank_transaction_statement_id"), "bank_transaction", ["statement_id"], unique=False)
    op.create_index(op.f("ix_bank_transaction_tenant_id"), "bank_transaction", ["tenant_id"], unique=False)
    op.create_table(
        "item_hold",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["posting_line.id"], name=op.f("fk_item_hold_line_id_posting_line")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_item_hold_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_hold")),
    )
    op.create_index(op.f("ix_item_hold_line_id"), "item_hold", ["line_id"], unique=False)
    op.create_table(
        "payment_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("run_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("debits", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_payment_run_document_id_document")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_payment_run_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_run")),
        sa.UniqueConstraint("tenant_id", "run_key", name=op.f("uq_payment_run_tenant_id_run_key")),
    )
    op.create_table(
        "direct_debit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("mandate_id", sa.Integer(), nullable=False),
        sa.Column("end_to_end_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("sequence", sa.String(length=4), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("posting_document_id", sa.BigInteger(), nullable=True),
        sa.Column("return_reason", sa.String(length=4), nullable=True),
        sa.Column("retry_of_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_account.id"], name=op.f("fk_direct_debit_account_id_ledger_account")
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"], ["sepa_mandate.id"], name=op.f("fk_direct_debit_mandate_id_sepa_mandate")
        ),
        sa.ForeignKeyConstraint(
            ["posting_document_id"],
            ["posting_document.id"],
            name=op.f("fk_direct_debit_posting_document_id_posting_document"),
        ),
        sa.ForeignKeyConstraint(
            ["retry_of_id"], ["direct_debit.id"], name=op.f("fk_direct_debit_retry_of_id_direct_debit")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["payment_run.id"], name=op.f("fk_direct_debit_run_id_payment_run")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_direct_debit_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_debit")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_direct_debit_end_to_end_id")),
    )
    op.create_index(op.f("ix_direct_debit_account_id"), "direct_debit", ["account_id"], unique=False)
    op.create_index(op.f("ix_direct_debit_mandate_id"), "direct_debit", ["mandate_id"], unique=False)
    op.create_index(op.f("ix_direct_debit_run_id"), "direct_debit", ["run_id"], unique=False)
    op.create_index(op.f("ix_direct_debit_tenant_id"), "direct_debit", ["tenant_id"], unique=False)
    op.add_column("sepa_mandate", sa.Column("first_collected_on", sa.Date(), nullable=True))
    op.add_column("sepa_mandate", sa.Column("returns", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "sepa_mandate",
        sa.Column("stopped_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=""),
    )
    op.add_column(
        "tenant",
        sa.Column("creditor_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False, server_default=""),
    )
    op.add_column(
        "tenant", sa.Column("iban", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False, server_default="")
    )
    op.add_column(
        "tenant", sa.Column("bic", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False, server_default="")
    )
    op.add_column(
        "tenant", sa.Column("reminder_fee", sa.Numeric(precision=14, scale=2), nullable=False, server_default="0")
    )
    op.add_column("tenant", sa.Column("dunning_grace_days", sa.Integer(), nullable=False, server_default="14"))


def downgrade() -> None:
    op.drop_column("tenant", "dunning_grace_days")
    op.drop_column("tenant", "reminder_fee")
    op.drop_column("tenant", "bic")
    op.drop_column("tenant", "iban")
    op.drop_column("tenant", "creditor_id")
    op.drop_column("sepa_mandate", "stopped_reason")
    op.drop_column("sepa_mandate", "returns")
    op.drop_column("sepa_mandate", "first_collected_on")
    op.drop_index(op.f("ix_direct_debit_tenant_id"), table_name="direct_debit")
    op.drop_index(op.f("ix_direct_debit_run_id"), table_name="direct_debit")
    op.drop_index(op.f("ix_direct_debit_mandate_id"), table_name="direct_debit")
    op.drop_index(op.f("ix_direct_debit_account_id"), table_name="direct_debit")
    op.drop_table("direct_debit")
    op.drop_table("payment_run")
    op.drop_index(op.f("ix_item_hold_line_id"), table_name="item_hold")
    op.drop_table("item_hold")
    op.drop_index(op.f("ix_bank_transaction_tenant_id"), table_name="bank_transaction")
    op.drop_index(op.f("ix_bank_transaction_statement_id"), table_name="bank_transaction")
    op.drop_table("bank_transaction")
    op.drop_table("bank_statement")
