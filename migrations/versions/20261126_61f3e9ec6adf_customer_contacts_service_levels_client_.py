"""Customer contacts, service levels, client notifications, letter delivery state

Revision ID: 61f3e9ec6adf
Revises: b183e2b9986d
Create Date: 2026-11-26 15:06:09.821233
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "61f3e9ec6adf"
down_revision: str | None = "b183e2b9986d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("business_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("email_file", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("webhook_state", sa.String(length=20), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("webhook_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_client_notification_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_notification")),
        sa.UniqueConstraint("tenant_id", "business_key", name=op.f("uq_client_notification_tenant_id_business_key")),
    )
    op.create_index(op.f("ix_client_notification_tenant_id"), "client_notification", ["tenant_id"], unique=False)
    op.create_table(
        "service_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("topic", sa.String(length=30), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_service_level_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_level")),
        sa.UniqueConstraint("tenant_id", "topic", name=op.f("uq_service_level_tenant_id_topic")),
    )
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("identified_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sender_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sender_address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("sender_email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sender_phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("complaint", sa.String(length=20), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_contact_contract_id_contract")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_contact_customer_id_customer")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_contact_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("tenant_id", "reference", name=op.f("uq_contact_tenant_id_reference")),
    )
    op.create_index(op.f("ix_contact_customer_id"), "contact", ["customer_id"], unique=False)
    op.create_index(op.f("ix_contact_tenant_id"), "contact", ["tenant_id"], unique=False)
    op.create_table(
        "contact_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_contact_attachment_contact_id_contact")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attachment")),
    )
    op.create_index(op.f("ix_contact_attachment_contact_id"), "contact_attachment", ["contact_id"], unique=False)
    op.add_column("customer", sa.Column("address_unreliable_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("document", sa.Column("delivery", sa.String(length=10), nullable=False, server_default="archived"))
    op.add_column("document", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("task", sa.Column("customer_id", sa.Integer(), nullable=True))
    op.add_column("task", sa.Column("assigned_to", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.create_index(op.f("ix_task_assigned_to"), "task", ["assigned_to"], unique=False)
    op.create_index(op.f("ix_task_customer_id"), "task", ["customer_id"], unique=False)
    op.create_foreign_key(op.f("fk_task_customer_id_customer"), "task", "customer", ["customer_id"], ["id"])
    op.add_column(
        "tenant",
        sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=""),
    )
    op.add_column(
        "tenant",
        sa.Column(
            "notification_email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=""
        ),
    )


def downgrade() -> None:
    op.drop_column("tenant", "notification_email")
    op.drop_column("tenant", "webhook_url")
    op.drop_constraint(op.f("fk_task_customer_id_customer"), "task", type_="foreignkey")
    op.drop_index(op.f("ix_task_customer_id"), table_name="task")
    op.drop_index(op.f("ix_task_assigned_to"), table_name="task")
    op.drop_column("task", "assigned_to")
    op.drop_column("task", "customer_id")
    op.drop_column("document", "delivered_at")
    op.drop_column("document", "delivery")
    op.drop_column("customer", "address_unreliable_since")
    op.drop_index(op.f("ix_contact_attachment_contact_id"), table_name="contact_attachment")
    op.drop_table("contact_attachment")
    op.drop_index(op.f("ix_contact_tenant_id"), table_name="contact")
    op.drop_index(op.f("ix_contact_customer_id"), table_name="contact")
    op.drop_table("contact")
    op.drop_table("service_level")
    op.drop_index(op.f("ix_client_notification_tenant_id"), table_name="client_notification")
    op.drop_table("client_notification")
