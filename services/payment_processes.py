"""Starting the clerk processes for payments that could not be assigned (after a statement import)."""

from contextlib import suppress

from sqlmodel import Session
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.customers import SepaMandate
from models.payments import BankTransaction
from models.process import BankDetailsRequest, UnassignedPayment


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


async def start_bank_details(client: Client, task_queue: str, session: Session, mandate_ids: list[int]) -> list[str]:
    """One ``bank-details/{tenant}/{mandate}`` per stopped mandate: a clerk gets new bank details or switches the
    customer to paying by transfer."""
    ids = []
    for mandate_id in mandate_ids:
        mandate = session.get(SepaMandate, mandate_id)
        if mandate is None:
            continue
        workflow_id = f"bank-details/{mandate.tenant_id}/{mandate_id}"
        with suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                "BankDetailsWorkflow",
                BankDetailsRequest(tenant_id=mandate.tenant_id, mandate_id=mandate_id, reason=mandate.stopped_reason),
                id=workflow_id,
                task_queue=task_queue,
            )
        ids.append(workflow_id)
    return ids
