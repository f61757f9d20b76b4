"""Starting the supply-start process for a stored contract."""

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from models.contracts import Contract
from models.process import SupplyStartInput
from workflows.supply_start import SupplyStartWorkflow


async def start_supply(client: Client, task_queue: str, contract: Contract) -> str:
    """Start the process once; a repeated call finds the running one (the workflow id is the business key)."""
    assert contract.id is not None and contract.workflow_id is not None
    await client.start_workflow(
        SupplyStartWorkflow.run,
        SupplyStartInput(
            tenant_id=contract.tenant_id, contract_id=contract.id, contract_number=contract.contract_number
        ),
        id=contract.workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return contract.workflow_id
