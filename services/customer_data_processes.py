"""Starting the process that puts a customer data version into effect and tells the grid operators."""

from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from models.master_data import CustomerVersion
from models.process import VersionCase
from workflows.customer_data import CustomerDataChangeWorkflow


def needs_process(version: CustomerVersion) -> bool:
    return version.applied_at is None or version.market_state == "pending"


async def start_version(client: Client, task_queue: str, session: Session, version: CustomerVersion) -> str | None:
    """``customer-data/{tenant}/{version}`` once, where the version waits for its day or the market must know."""
    assert version.id is not None
    if not needs_process(version):
        return None
    workflow_id = f"customer-data/{version.tenant_id}/{version.id}"
    await client.start_workflow(
        CustomerDataChangeWorkflow.run,
        VersionCase(tenant_id=version.tenant_id, version_id=version.id),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    if version.workflow_id != workflow_id:
        version.workflow_id = workflow_id
        session.add(version)
        session.commit()
    return workflow_id
