"""Imports every table module so that ``SQLModel.metadata`` is complete (alembic, tests)."""

from models import (
    billing,
    contacts,
    contracts,
    customers,
    documents,
    grid_invoices,
    ledger,
    master_data,
    messages,
    parties,
    payments,
    readings,
    tasks,
    taxes,
    tenancy,
)

__all__ = [
    "billing",
    "contacts",
    "contracts",
    "customers",
    "documents",
    "grid_invoices",
    "ledger",
    "master_data",
    "messages",
    "parties",
    "payments",
    "readings",
    "tasks",
    "taxes",
    "tenancy",
]
