"""The worker: registers every workflow and activity on the task queue. Run as many as needed."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.billing import BillingActivities
from activities.contacts import ContactActivities
from activities.contracts import ContractActivities
from activities.customer_data import CustomerDataActivities
from activities.documents import DocumentActivities
from activities.dunning import DunningActivities
from activities.grid_invoices import GridInvoiceActivities
from activities.inbox import InboxActivities, deliver_answer, deliver_readings, start_process
from activities.ledger import LedgerActivities
from activities.market import AnswerActivities, DropFolderTransport, MarketActivities
from activities.payments import PaymentActivities
from activities.products import ProductActivities
from activities.supply_end import SupplyEndActivities
from activities.tasks import TaskActivities
from core.settings import Settings
from workflows.bank_details import BankDetailsWorkflow
from workflows.bill_correction import BillCorrectionWorkflow
from workflows.bill_release import BillReleaseWorkflow
from workflows.billing_run import BillingRunWorkflow
from workflows.contact import ContactWorkflow
from workflows.customer_cancellation import CustomerCancellationWorkflow
from workflows.customer_data import CustomerDataChangeWorkflow
from workflows.dunning import DunningWorkflow
from workflows.final_reading import FinalReadingWorkflow
from workflows.grid_invoice import GridInvoiceWorkflow
from workflows.grid_master_data import GridMasterDataWorkflow
from workflows.grid_supply_end import GridSupplyEndWorkflow
from workflows.inbound import InboundMessageWorkflow
from workflows.incoming_cancellation import IncomingCancellationWorkflow
from workflows.instalment_plan import InstalmentPlanWorkflow
from workflows.month_close import MonthCloseWorkflow
from workflows.price_adjustment import PriceAdjustmentRunWorkflow
from workflows.product_change import ProductChangeWorkflow
from workflows.supply_end import SupplyEndWorkflow
from workflows.supply_start import SupplyStartWorkflow
from workflows.termination_request import TerminationRequestWorkflow
from workflows.unassigned_payment import UnassignedPaymentWorkflow

WORKFLOWS = [
    SupplyStartWorkflow,
    InboundMessageWorkflow,
    MonthCloseWorkflow,
    BillingRunWorkflow,
    BillReleaseWorkflow,
    BillCorrectionWorkflow,
    SupplyEndWorkflow,
    FinalReadingWorkflow,
    CustomerCancellationWorkflow,
    IncomingCancellationWorkflow,
    TerminationRequestWorkflow,
    GridSupplyEndWorkflow,
    DunningWorkflow,
    InstalmentPlanWorkflow,
    UnassignedPaymentWorkflow,
    BankDetailsWorkflow,
    ContactWorkflow,
    GridInvoiceWorkflow,
    CustomerDataChangeWorkflow,
    GridMasterDataWorkflow,
    ProductChangeWorkflow,
    PriceAdjustmentRunWorkflow,
]
MAX_CONCURRENT_ACTIVITIES = 16


def activities(engine: Engine, settings: Settings) -> list[Callable[..., Any]]:
    contracts = ContractActivities(engine)
    documents = DocumentActivities(engine, settings.customer_outbox_path)
    contacts = ContactActivities(engine, settings.customer_outbox_path, settings.client_outbox_path)
    transport = DropFolderTransport(settings.outbox_path)
    inbox = InboxActivities(engine, transport)
    market = MarketActivities(engine, transport)
    tasks = TaskActivities(engine)
    ledger = LedgerActivities(engine)
    billing = BillingActivities(engine, settings.customer_outbox_path, transport)
    supply_end = SupplyEndActivities(engine, transport)
    answers = AnswerActivities(engine, transport)
    dunning = DunningActivities(engine, transport)
    payments = PaymentActivities(engine)
    grid = GridInvoiceActivities(engine, transport)
    customer_data = CustomerDataActivities(engine, settings.customer_outbox_path)
    products = ProductActivities(engine, documents)
    return [
        contracts.load_contract,
        contracts.set_contract_state,
        contracts.correct_contract,
        contracts.create_budget_plan,
        documents.welcome_letter,
        documents.order_cancelled_letter,
        documents.cancellation_confirmation,
        documents.supply_end_letter,
        documents.payment_reminder,
        documents.dunning_termination,
        documents.disconnection_threat,
        documents.disconnection_notice,
        documents.callback_missed,
        contacts.load_contact,
        contacts.assign_customer,
        contacts.perform,
        contacts.address_research,
        contacts.close_contact,
        contacts.notify_client,
        contacts.post_webhook,
        grid.check_invoice,
        grid.hold_for_clearing,
        grid.decide_invoice,
        grid.pay_due_invoices,
        grid.invoice_state,
        customer_data.load_version,
        customer_data.apply_version,
        customer_data.set_market_state,
        customer_data.grid_master_data,
        customer_data.decide_grid_master_data,
        products.replan_budget,
        products.switch_tariff,
        products.start_adjustment,
        products.notify_chunk,
        products.record_progress,
        documents.tariff_letter,
        inbox.process_inbound,
        inbox.mark_inbound,
        deliver_answer,
        deliver_readings,
        start_process,
        market.send_utilmd,
        tasks.create_task,
        tasks.close_task,
        tasks.escalate_task,
        ledger.close_month,
        supply_end.find_contract,
        supply_end.watch_readings,
        supply_end.final_reading_present,
        supply_end.order_final_reading,
        supply_end.enter_final_reading,
        answers.answer_request,
        payments.collect,
        payments.daily_payments,
        payments.settle_unassigned,
        payments.new_mandate,
        dunning.arrears,
        dunning.book_fee,
        dunning.hold_items,
        dunning.agree_plan,
        dunning.rate_open,
        dunning.revoke_plan,
        dunning.hand_over,
        dunning.order_disconnection,
        dunning.open_dunning_cases,
        billing.request_instalments,
        billing.request_readings,
        billing.count_due,
        billing.due_contracts,
        billing.bill_chunk,
        billing.final_bill,
        billing.correct_bill,
        billing.correction_documents,
        billing.deliver_bills,
        billing.deliver_bill,
        billing.release_bill,
        billing.drop_bill,
        billing.correct_bill_reading,
    ]


def build_worker(client: Client, engine: Engine, settings: Settings, *, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities(engine, settings),
        activity_executor=ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        max_cached_workflows=2000,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


if __name__ == "__main__":
    from cli.main import worker

    worker()
