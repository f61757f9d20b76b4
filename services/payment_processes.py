"""Starting the clerk processes for payments that could not be assigned (after a statement import)."""

from contextlib import suppress

from sqlmodel import Session
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.payments import BankTransaction
from models.process import UnassignedPayment


async def start_unassigned(client: Client, task_queue: str, session: Session, transaction_ids: list[int]) -> list[str]:
    """One ``unassigned-payment/{tenant}/{transaction}`` per payment; returns their workflow ids."""
    ids = []
    for transaction_id in transaction_ids:
        row = session.get(BankTransaction, transaction_id)
        if row is None:
            continue
        workflow_id = f"unassigned-payment/{row.tenant_id}/{transaction_id}"
        with suppress(WorkflowAlreadyStartedError):  # already waiting for a clerk
            await client.start_workflow(
                "UnassignedPaymentWorkflow",
                UnassignedPayment(
                    tenant_id=row.tenant_id,
                    transaction_id=transaction_id,
                    amount=row.amount,
                    payer=f"{row.counterparty_name} {row.counterparty_iban or ''}".strip(),
                    remittance=row.remittance,
                ),
                id=workflow_id,
                task_queue=task_queue,
            )
        ids.append(workflow_id)
    return ids
