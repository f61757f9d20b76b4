"""Imports every table module so that ``SQLModel.metadata`` is complete (alembic, tests)."""

from models import contracts, customers, documents, ledger, messages, parties, readings, tasks, tenancy

__all__ = ["contracts", "customers", "documents", "ledger", "messages", "parties", "readings", "tasks", "tenancy"]
