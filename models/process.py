"""Plain pydantic DTOs that cross the Temporal boundary (workflow, activity, signal and update inputs)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field


class SupplyStartInput(BaseModel):
    tenant_id: str
    contract_id: int
    contract_number: str


class ContractSnapshot(BaseModel):
    """What the supply-start process needs to know about its contract."""

    tenant_id: str
    contract_id: int
    contract_number: str
    customer_number: str
    division: str
    malo_id: str
    grid_operator_id: str
    previous_supplier_id: str | None
    cancel_previous: bool
    wished_start: date
    state: str
    supply_start: date | None = None
    supply_end: date | None = None
    notice_period_days: int = 28
    minimum_term_until: date | None = None
    annual_consumption_kwh: Decimal = Decimal("0")


class SendUtilmd(BaseModel):
    """Ask the outbound adapter to build and send one UTILMD request for a contract."""

    tenant_id: str
    contract_id: int
    kind: Literal["cancellation", "registration", "deregistration", "master_data"]
    start: date
    """The supply start (registration), the end of supply (cancellation, deregistration), or the day a master data
    change takes effect."""
    transaction_reason: str | None = None
    """Overrides the contract's transaction reason (a deregistration: E01 move-out, E03 switch)."""
    business_key: str
    workflow_id: str
    customer_data: dict[str, str] | None = None
    """master_data: the customer's name and correspondence address as of ``start``."""


class AnswerRequest(BaseModel):
    """Answer a partner's UTILMD request (e.g. 55017/55018 to a 55016), once per business key."""

    request_message_id: int
    request_transaction: str
    pruefidentifikator: str
    answer_code: str
    answer_code_list: str | None
    end: date | None = None
    next_possible_date: date | None = None
    notice_period: str | None = None
    valid_from: date | None = None
    """A rejection for notice: the last day a cancellation to the next possible date must arrive (DTM+157)."""
    annual_consumption_kwh: Decimal | None = None
    business_key: str
    workflow_id: str


class SentMessage(BaseModel):
    message_id: int
    transaction_id: str
    pruefidentifikator: str
    receiver: str
    sent_at: datetime


class MarketAnswer(BaseModel):
    """An inbound UTILMD answer routed to the process that asked (signal payload)."""

    message_id: int
    pruefidentifikator: str
    sender: str
    transaction_id: str | None = None
    """The message's own transaction (IDE+24); a partner's request is answered with it as RFF+TN."""
    reference_transaction: str | None = None
    malo_id: str | None = None
    answer_code: str | None = None
    answer_code_list: str | None = None
    start: date | None = None
    end: date | None = None
    next_possible_date: date | None = None
    free_text: str | None = None
    previous_supplier: str | None = None
    annual_consumption_kwh: Decimal | None = None


class TaskRequest(BaseModel):
    tenant_id: str
    business_key: str
    queue: str
    kind: str
    title: str
    description: str = ""
    workflow_id: str
    contract_id: int | None = None
    customer_id: int | None = None
    allowed_decisions: list[str]
    due_at: datetime | None = None
    priority: int = 3
    data: dict[str, Any] = Field(default_factory=dict)


class TaskDecision(BaseModel):
    """A clerk's decision on a task (update payload)."""

    task_id: int
    decision: str
    data: dict[str, Any] = Field(default_factory=dict)
    decided_by: str = "unknown"


class TaskClose(BaseModel):
    task_id: int
    state: Literal["done", "cancelled"]
    decision: TaskDecision | None = None


class TaskEscalation(BaseModel):
    task_id: int
    queue: str
    priority: int


class ContractStateChange(BaseModel):
    contract_id: int
    state: str
    supply_start: date | None = None
    supply_end: date | None = None


class ContractCorrection(BaseModel):
    """Data a clerk corrects before a registration is sent again; unset fields stay as they are."""

    contract_id: int
    malo_id: str | None = None
    grid_operator_id: str | None = None
    wished_start: date | None = None


class ContractRef(BaseModel):
    contract_id: int


class LetterRequest(BaseModel):
    contract_id: int
    reason: str = ""


class DocumentRef(BaseModel):
    document_id: int
    sha256: str


class BudgetPlanSummary(BaseModel):
    plan_id: int
    instalment: Decimal
    first_due: date
    annual_gross: Decimal


class InboundInput(BaseModel):
    tenant_id: str
    message_id: int


class ProcessStart(BaseModel):
    """A process a partner's request starts (or, already running, is signalled): signal-with-start."""

    workflow: str
    """The workflow type, e.g. ``IncomingCancellationWorkflow``."""
    input: dict[str, Any]


class Delivery(BaseModel):
    """One answer found in an interchange and the process it belongs to (None: no process matches)."""

    workflow_id: str | None
    answer: MarketAnswer
    problem: str | None = None
    start: ProcessStart | None = None
    """Set for a partner's request: the process is started with the message as its first signal."""


class ReadingsArrived(BaseModel):
    """New readings of one location from one inbound message (signal ``meter_readings``)."""

    message_id: int | None
    """None: the customer's own reading, from a contact."""
    location_id: str
    pruefidentifikator: str
    count: int
    first_at: datetime
    last_at: datetime


class ReadingsDelivery(BaseModel):
    workflow_id: str
    readings: ReadingsArrived


class InboundResult(BaseModel):
    state: str
    error: str | None = None
    deliveries: list[Delivery] = Field(default_factory=list)
    readings: list[ReadingsDelivery] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    """What a person must look at (the interchange goes to clearing)."""
    starts: list["StartProcess"] = Field(default_factory=list)
    """Processes to start for messages of the interchange (a grid operator's invoice)."""


class SignalDelivery(BaseModel):
    workflow_id: str
    answer: MarketAnswer
    start: ProcessStart | None = None


class ProcessStatus(BaseModel):
    state: str
    waiting_for: str | None = None
    open_task_ids: list[int] = Field(default_factory=list)
    supply_start: date | None = None
    existing_supplier: str | None = None
    """The supplier the grid operator named in an information message (55036/44036)."""


class InboundOutcome(BaseModel):
    message_id: int
    state: str
    error: str | None = None


class MonthCloseInput(BaseModel):
    tenant_id: str
    period: str
    """YYYY-MM; empty: the month before the scheduled (or actual) start, in Berlin time."""


class BillingTotals(BaseModel):
    """Progress and result of a billing run."""

    instalments: int = 0
    """Instalment requests booked (they are due within two weeks)."""
    reading_requests: int = 0
    """Missing readings asked of the metering operator (ORDERS 17102)."""
    dunning_cases: int = 0
    """Dunning cases opened for accounts in arrears."""
    direct_debits: int = 0
    """Collections in the day's pain.008 (items due by its collection date)."""
    refunds: int = 0
    """Credit balances paid out (pain.001)."""
    due: int = 0
    billed: int = 0
    held: int = 0
    failed: int = 0
    delivered: int = 0

    @property
    def done(self) -> int:
        return self.billed + self.held + self.failed


class BillingRunInput(BaseModel):
    tenant_id: str
    on: date | None = None
    """The run date: contracts whose period ends by then (plus the reading window) are billed; empty: the day
    the schedule started the run (Berlin)."""
    chunk_size: int = Field(default=500, ge=1, le=5000)
    parallel: int = Field(default=2, ge=1, le=16)
    deliver: bool = True
    """Render and deliver the bills after billing (off: the PDFs are made by a later run or on demand)."""
    after_id: int = 0
    """Where a continued run picks up (contract ids are billed in ascending order)."""
    totals: BillingTotals = Field(default_factory=BillingTotals)


class TenantDay(BaseModel):
    """Daily work of a tenant (instalment requests, reading requests) as of a day."""

    tenant_id: str
    on: date


class DuePage(BaseModel):
    tenant_id: str
    on: date
    after_id: int
    limit: int


class BillingChunk(BaseModel):
    tenant_id: str
    run_id: str
    on: date
    contract_ids: list[int]


class ChunkResult(BaseModel):
    billed: int = 0
    failed: int = 0
    held_bill_ids: list[int] = Field(default_factory=list)


class DeliveryPage(BaseModel):
    tenant_id: str
    run_id: str
    limit: int = 100


class BillDecisionInput(BaseModel):
    bill_id: int
    on: date
    decided_by: str
    value: Decimal | None = None
    """A corrected reading at the end of the period (decision ``correct_reading``)."""
    day: date | None = None


class BillDecisionOutcome(BaseModel):
    bill_id: int
    """The bill now: the same one, or the new draft after a corrected reading."""
    state: str
    hold_reasons: str = ""


class BillReleaseInput(BaseModel):
    tenant_id: str
    bill_id: int


class FinalBillRequest(BaseModel):
    tenant_id: str
    contract_id: int
    on: date


class BillCorrectionInput(BaseModel):
    tenant_id: str
    bill_id: int
    reason: str = Field(min_length=3, max_length=300)
    requested_by: str
    on: date


class BillCorrectionOutcome(BaseModel):
    cancellation_id: int
    cancellation_number: str
    new_bill_id: int
    new_state: str


class CancellationLetter(BaseModel):
    """Confirm a customer's cancellation; dates follow Contract.supply_end (exclusive: the first day not supplied)."""

    contract_id: int
    received_on: date
    requested_end: date | None
    """The end the customer asked for (exclusive, like supply_end); None: the next possible date."""
    supply_end: date
    explanation: str = ""
    """Why the supply ends on another date than requested (required then); shown to the customer as written."""


class CallbackLetter(BaseModel):
    """The customer asked for a callback and could not be reached at any attempt."""

    contract_id: int
    contact_id: int
    subject: str
    attempts: list[datetime]


class SupplyEndLetter(BaseModel):
    """Tell a customer that the supply ends without their cancellation (supplier switch, grid operator)."""

    contract_id: int
    supply_end: date
    """Exclusive, like Contract.supply_end."""
    reason: str
    """The sentence that explains the end to the customer, shown as written."""


class ContractLookup(BaseModel):
    tenant_id: str
    malo_id: str | None


class SupplyEndInput(BaseModel):
    contract_id: int
    end: date
    """The first day without supply (supply ends at 00:00 of it; Gas 06:00)."""
    reason: Literal["cancellation", "move_out", "switch", "dunning", "grid_operator"]
    deregister: bool = True
    """Send the Abmeldung (55004/44004); False when the grid operator already ended the assignment."""


class FinalReadingInput(BaseModel):
    contract_id: int
    supply_end: date


class ReadingWatch(BaseModel):
    contract_id: int
    workflow_id: str
    active: bool


class FinalReadingCheck(BaseModel):
    contract_id: int
    day: date


class FinalReadingOrder(BaseModel):
    contract_id: int
    day: date
    complaint: bool
    business_key: str
    workflow_id: str


class EnteredReading(BaseModel):
    """A final reading a clerk enters: the customer's own value, or an estimate (value None)."""

    contract_id: int
    day: date
    value: Decimal | None
    entered_by: str


class PartnerRequestInput(BaseModel):
    """A process started by a market partner's request (the request itself is its first ``market_answer``)."""

    tenant_id: str
    malo_id: str | None


class PartnerRequestOutcome(BaseModel):
    state: str
    answer: str | None = None
    """The Prüfidentifikator we answered with (None: not answered, e.g. silence counts as consent)."""
    contract_id: int | None = None
    end: date | None = None


class CustomerCancellationInput(BaseModel):
    contract_id: int
    received_on: date
    requested_end: date | None = None
    """The first day the customer no longer wants supply; None: the next possible date."""
    channel: str = "api"
    move: bool = False
    """The customer moves out (``requested_end``: the move-out day); §41b Abs. 5 EnWG applies."""
    moving_with_us: bool = False
    """Supplied by us at the new address: the old supply ends on the move-out day."""
    price_change_on: date | None = None
    """A cancellation because of the price change announced for this day (special right, no notice)."""


class StartProcess(BaseModel):
    """Start another process, independent of the one asking (it outlives it); once per workflow id."""

    workflow: str
    workflow_id: str
    input: dict[str, Any]
    again: bool = False
    """Allow a new run under an id whose earlier run has finished (never two at once)."""


class DunningInput(BaseModel):
    tenant_id: str
    account_id: int
    """The debtor account in arrears."""
    case_key: str
    """Names this dunning case (the oldest overdue item when it began)."""
    level: int = 1
    """The level to begin with: 1, or 2 when a broken instalment plan resumes the dunning."""
    grace_days: int | None = None
    """Days after due before an item counts as overdue; None: the tenant's (a revoked plan is due at once)."""


class ArrearsCheck(BaseModel):
    tenant_id: str
    account_id: int
    on: date
    grace_days: int | None = None


class Arrears(BaseModel):
    total: Decimal
    items: list[tuple[int, date, Decimal]]
    contract_id: int | None
    """A contract of the account (letters, supply end), the newest in supply."""
    contract_number: str = ""
    disconnection: bool = False
    """The tenant disconnects basic-supply customers and the arrears reach the §19 threshold."""
    grace_days: int
    reminder_fee: Decimal
    iban: str
    texts: dict[int, str] = Field(default_factory=dict)
    """Item line id -> what it is (bill number, instalment), for the letters."""


class FeeRequest(BaseModel):
    tenant_id: str
    account_id: int
    amount: Decimal
    on: date
    key: str


class HoldRequest(BaseModel):
    tenant_id: str
    line_ids: list[int]
    kind: Literal["dispute", "deferral"]
    by: str
    reason: str = ""
    due_date: date | None = None
    release: bool = False


class PlanRequest(BaseModel):
    tenant_id: str
    account_id: int
    case_key: str
    rates: int = Field(ge=2, le=24)
    first_due: date
    on: date


class PlanRates(BaseModel):
    rate_line_ids: list[int]
    due_dates: list[date]
    amounts: list[Decimal]


class PlanRevocation(BaseModel):
    tenant_id: str
    account_id: int
    case_key: str
    rate_line_ids: list[int]
    on: date


class DunningItem(BaseModel):
    """One overdue item of a dunning letter."""

    due_date: date
    text: str
    """Shown as written, e.g. "Abschlag fällig am 15.01.2026" or "Rechnung 2026-0000123"."""
    amount: Decimal
    """The open amount of the item."""


class DunningLetter(BaseModel):
    """A Zahlungserinnerung (level 1) or a Kündigung wegen Zahlungsverzug (level 3), once per dunning case."""

    contract_id: int
    case_key: str
    items: list[DunningItem]
    total: Decimal
    """The sum of the items' open amounts, without the fee."""
    fee: Decimal = Decimal("0.00")
    """Mahngebühr (flat damage according to the supplementary conditions); 0: none."""
    pay_by: date | None = None
    supply_end: date | None = None
    """The termination's end of supply, exclusive like Contract.supply_end."""
    disconnection_on: date | None = None
    """Sperrandrohung: the earliest day of the interruption; Sperrankündigung: its day."""
    iban: str = ""
    """The supplier's account the customer pays to."""


class UnassignedPayment(BaseModel):
    tenant_id: str
    transaction_id: int
    amount: Decimal
    payer: str
    remittance: str


class PaymentDecision(BaseModel):
    tenant_id: str
    transaction_id: int
    decision: str
    account: str = ""
    decided_by: str


class PaymentDay(BaseModel):
    tenant_id: str
    on: date
    run_key: str


class DisconnectionOrder(BaseModel):
    contract_id: int
    earliest: date
    business_key: str
    workflow_id: str


class BankDetailsRequest(BaseModel):
    tenant_id: str
    mandate_id: int
    reason: str


class NewMandate(BaseModel):
    tenant_id: str
    stopped_mandate_id: int
    iban: str
    signed_on: date
    decided_by: str


class ContactCase(BaseModel):
    """Handle one stored contact: ``contact/{tenant}/{contact}``."""

    tenant_id: str
    contact_id: int


class ContactFacts(BaseModel):
    """What the contact process needs to know about a stored contact."""

    tenant_id: str
    contact_id: int
    channel: str
    category: str
    complaint: str
    settled: bool
    subject: str
    received_at: datetime
    answer_by: date | None
    request: dict[str, Any]
    customer_id: int | None
    contract_id: int | None
    customer_number: str | None
    malo_id: str | None
    due_at: datetime
    priority: int


class ContactCustomer(BaseModel):
    """A clerk recognised the sender of a contact."""

    tenant_id: str
    contact_id: int
    customer_number: str


class ContactAction(BaseModel):
    """Carry out what a contact asks for (validated as ``models.contact_input.ContactRequest``)."""

    tenant_id: str
    contact_id: int
    request: dict[str, Any]
    decided_by: str
    today: date
    confirmed: bool = False
    """A clerk confirmed a reading that failed the plausibility check."""


class ActionOutcome(BaseModel):
    done: bool
    note: str = ""
    problem: str = ""
    """Why it could not be done (implausible reading, nothing overdue, no contract, ...); a clerk decides."""
    starts: list[StartProcess] = Field(default_factory=list)
    readings: list[ReadingsDelivery] = Field(default_factory=list)
    """Processes waiting for a reading of the location (e.g. the final reading) to be told."""


class ContactClose(BaseModel):
    tenant_id: str
    contact_id: int
    outcome: str


class AddressResearch(BaseModel):
    """Returned mail: mark the address (``returned``), or clear it with the researched address (or as it was)."""

    tenant_id: str
    contact_id: int
    returned: bool = False
    address: dict[str, str] = Field(default_factory=dict)
    decided_by: str = ""


class ClientNotice(BaseModel):
    tenant_id: str
    contact_id: int


class GridInvoiceCase(BaseModel):
    """Check, answer, book and pay one grid operator's invoice: ``grid-invoice/{tenant}/{invoice}``."""

    tenant_id: str
    invoice_id: int


class InvoiceCheck(BaseModel):
    """The verdict on an invoice (see ``rules.grid_invoices.Verdict``)."""

    invoice_id: int
    outcome: str
    code: str = ""
    code_list: str = ""
    text: str = ""
    position: str | None = None
    notes: dict[str, Any] = Field(default_factory=dict)
    storno: bool = False
    due_date: date | None = None
    answer_by: date | None = None
    invoice_number: str = ""
    partner_id: str = ""
    pruefidentifikator: str = ""
    malo_id: str | None = None


class InvoiceDecision(BaseModel):
    """Carry out a verdict (the checks' or a clerk's): book or reject, and answer with REMADV."""

    check: InvoiceCheck
    decided_by: str = ""


class PayDue(BaseModel):
    """Pay the tenant's accepted grid invoices due by ``on``."""

    tenant_id: str
    on: date


class VersionCase(BaseModel):
    """Put one customer data version into effect and tell the market: ``customer-data/{tenant}/{version}``."""

    tenant_id: str
    version_id: int


class MarketTarget(BaseModel):
    contract_id: int
    contract_number: str
    division: str
    malo_id: str


class VersionFacts(BaseModel):
    tenant_id: str
    version_id: int
    customer_number: str
    valid_from: date
    applied: bool
    market_state: str
    data: dict[str, str]
    changed_fields: list[str]
    contracts: list[MarketTarget]
    """The contracts in supply on the effective day, whose grid operators are told."""


class MarketState(BaseModel):
    version_id: int
    state: str


class GridMasterDataCase(BaseModel):
    """A grid operator's master data that differs from ours: ``grid-master-data/{tenant}/{record}``."""

    tenant_id: str
    record_id: int


class GridMasterDataDecision(BaseModel):
    record_id: int
    take_over: bool
    decided_by: str


class GridMasterDataView(BaseModel):
    malo_id: str
    differences: list[dict[str, Any]]
    state: str


class ProductChange(BaseModel):
    """A recorded product change: its letter, the new budget plan, the switch on its day."""

    tenant_id: str
    contract_id: int
    contract_number: str
    effective_from: date
    old_tariff_id: int
    changed_by: str = ""


class TariffLetter(BaseModel):
    """A letter about the contract's prices from ``effective_from`` (product change or price adjustment)."""

    contract_id: int
    kind: Literal["product_change", "price_adjustment"]
    effective_from: date
    plan_id: int
    old_tariff_id: int
    key: str
    reason: str = ""


class Replan(BaseModel):
    """A new budget plan for the contract's price from ``from_day`` (once per key)."""

    contract_id: int
    from_day: date
    key: str


class PriceRun(BaseModel):
    """Announce a price adjustment to its customers, ``price-adjustment/{tenant}/{adjustment}`` (continued as new
    with the progress so far)."""

    tenant_id: str
    adjustment_id: int
    after_contract_id: int = 0
    notified: int = 0
    customers: int | None = None


class PriceChunk(BaseModel):
    adjustment_id: int
    after_contract_id: int
    limit: int


class PriceChunkDone(BaseModel):
    last_contract_id: int
    count: int


class PriceProgress(BaseModel):
    adjustment_id: int
    notified: int
    done: bool
