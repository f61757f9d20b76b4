"""bills, bill numbers, gas conversion, billing runs

Revision ID: 3dc3b47c9875
Revises: 200829df9c8f
Create Date: 2026-11-26 12:26:53.806274
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "3dc3b47c9875"
down_revision: str | None = "200829df9c8f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bill_number_range",
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_bill_number_range_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("tenant_id", "year", name=op.f("pk_bill_number_range")),
    )
    op.create_table(
        "gas_conversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("calorific_value", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("z_number", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["market_location.id"], name=op.f("fk_gas_conversion_location_id_market_location")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_gas_conversion_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gas_conversion")),
        sa.UniqueConstraint(
            "tenant_id", "location_id", "valid_from", name=op.f("uq_gas_conversion_tenant_id_location_id_valid_from")
        ),
    )
    op.create_index(op.f("ix_gas_conversion_location_id"), "gas_conversion", ["location_id"], unique=False)
    op.create_table(
        "bill",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("division", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("consumption_kwh", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("net", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("energy_tax", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("vat", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("gross", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("instalments_paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("balance", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("next_instalment", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("hold_reasons", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("cancellation_of_id", sa.BigInteger(), nullable=True),
        sa.Column("posting_document_id", sa.BigInteger(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("released_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cancellation_of_id"], ["bill.id"], name=op.f("fk_bill_cancellation_of_id_bill")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_bill_contract_id_contract")),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_bill_document_id_document")),
        sa.ForeignKeyConstraint(
            ["posting_document_id"], ["posting_document.id"], name=op.f("fk_bill_posting_document_id_posting_document")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_bill_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill")),
        sa.UniqueConstraint("cancellation_of_id", name=op.f("uq_bill_cancellation_of_id")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_bill_tenant_id_number")),
    )
    op.create_index(op.f("ix_bill_contract_id"), "bill", ["contract_id"], unique=False)
    op.create_index(op.f("ix_bill_tenant_id"), "bill", ["tenant_id"], unique=False)
    op.create_index(
        "ux_bill_contract_period",
        "bill",
        ["contract_id", "kind", "period_end"],
        unique=True,
        postgresql_where=sa.text("state <> 'cancelled' AND kind <> 'cancellation'"),
    )
    op.create_table(
        "billing_run_item",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("bill_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bill_id"], ["bill.id"], name=op.f("fk_billing_run_item_bill_id_bill")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_billing_run_item_contract_id_contract")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_billing_run_item_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_run_item")),
        sa.UniqueConstraint("run_id", "contract_id", name=op.f("uq_billing_run_item_run_id_contract_id")),
    )
    op.create_index(op.f("ix_billing_run_item_run_id"), "billing_run_item", ["run_id"], unique=False)
    op.add_column("contract", sa.Column("billing_cycle_months", sa.Integer(), nullable=False, server_default="12"))
    op.add_column("contract", sa.Column("notice_period_days", sa.Integer(), nullable=False, server_default="28"))
    op.add_column(
        "tenant",
        sa.Column(
            "commercial_register", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False, server_default=""
        ),
    )
    op.add_column(
        "tenant", sa.Column("vat_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="")
    )


def downgrade() -> None:
    op.drop_column("tenant", "vat_id")
    op.drop_column("tenant", "commercial_register")
    op.drop_column("contract", "notice_period_days")
    op.drop_column("contract", "billing_cycle_months")
    op.drop_index(op.f("ix_billing_run_item_run_id"), table_name="billing_run_item")
    op.drop_table("billing_run_item")
    op.drop_index(
        "ux_bill_contract_period",
        table_name="bill",
        postgresql_where=sa.text("state <> 'cancelled' AND kind <> 'cancellation'"),
    )
    op.drop_index(op.f("ix_bill_tenant_id"), table_name="bill")
    op.drop_index(op.f("ix_bill_contract_id"), table_name="bill")
    op.drop_table("bill")
    op.drop_index(op.f("ix_gas_conversion_location_id"), table_name="gas_conversion")
    op.drop_table("gas_conversion")
    op.drop_table("bill_number_range")
