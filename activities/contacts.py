"""The contact process's database steps: read the contact, carry out what it asks for, note the outcome."""

from datetime import date, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import business_error
from activities.readings import waiting_processes
from models.base import utcnow
from models.contact_input import (
    REQUEST,
    AnsweredRequest,
    BankDetailsRequest,
    CancellationRequest,
    InstalmentRequest,
    MasterDataRequest,
    MoveRequest,
    ReadingRequest,
)
from models.contacts import Contact
from models.contracts import Contract, MarketLocation
from models.customers import ContractAccount, Customer
from models.ledger import LedgerAccount
from models.master_data import CustomerVersion
from models.process import (
    ActionOutcome,
    AddressResearch,
    ClientNotice,
    ContactAction,
    ContactClose,
    ContactCustomer,
    ContactFacts,
    CustomerCancellationInput,
    PlanRequest,
    ReadingsArrived,
    ReadingsDelivery,
    StartProcess,
    SupplyStartInput,
    VersionCase,
)
from rules.calendar import BERLIN
from rules.contacts import ComplaintKind, due_at, service_topic
from services import contacts, customer_requests, notifications, receivable_terms
from services.final_reading import locations

CANCELLABLE = ("active", "registered", "confirmed")
COMPLAINT_TITLES = {
    ComplaintKind.REGULATOR: "Beschwerde über die Bundesnetzagentur",
    ComplaintKind.ARBITRATION: "Schlichtungsverfahren (Schlichtungsstelle Energie)",
    ComplaintKind.LEGAL: "Beschwerde durch Anwalt, Gericht oder Verwalter",
    ComplaintKind.CUSTOMER: "Beschwerde",
}


class ContactActivities:
    def __init__(self, engine: Engine, customer_outbox: Path, client_outbox: Path) -> None:
        self.engine = engine
        self.customer_outbox = customer_outbox
        self.client_outbox = client_outbox

    @activity.defn
    def load_contact(self, contact_id: int) -> ContactFacts:
        with Session(self.engine) as session:
            return _facts(session, _contact(session, contact_id))

    @activity.defn
    def assign_customer(self, assignment: ContactCustomer) -> ContactFacts:
        """A clerk recognised the sender: the contact goes on the customer's file."""
        with Session(self.engine) as session:
            contact = _contact(session, assignment.contact_id)
            customer = session.exec(
                select(Customer).where(
                    Customer.tenant_id == assignment.tenant_id, Customer.customer_number == assignment.customer_number
                )
            ).first()
            if customer is None:
                raise business_error(f"customer {assignment.customer_number} does not exist", "UnknownCustomer")
            contract = contacts.current_contract(session, customer)
            contact.customer_id, contact.identified_by = customer.id, "clerk"
            contact.contract_id = contract.id if contract else None
            session.add(contact)
            session.commit()
            return _facts(session, contact)

    @activity.defn
    def perform(self, action: ContactAction) -> ActionOutcome:
        """Carry out the request; what cannot be done comes back as a problem for a clerk, never half done."""
        try:
            request = REQUEST.validate_python(action.request)
        except ValidationError as invalid:
            return ActionOutcome(done=False, problem=f"the request is incomplete: {invalid.errors()[0]['msg']}")
        with Session(self.engine) as session:
            contact = _contact(session, action.contact_id)
            if isinstance(request, AnsweredRequest):
                return ActionOutcome(done=True, note=request.note or "answered")
            customer = session.get(Customer, contact.customer_id) if contact.customer_id else None
            contract = session.get(Contract, contact.contract_id) if contact.contract_id else None
            if customer is None:
                return ActionOutcome(done=False, problem="the sender is not recognised as a customer")
            if isinstance(request, MasterDataRequest):
                version = customer_requests.change_master_data(
                    session,
                    customer,
                    request,
                    key=f"contact:{contact.id}:{sorted(request.changes().items())}"[:200],
                    changed_by=action.decided_by,
                    today=action.today,
                    outbox=self.customer_outbox,
                )
                session.commit()
                changed = ", ".join(version.changed_fields) if version else "nothing new"
                return ActionOutcome(done=True, note=f"master data changed: {changed}", starts=_version_start(version))
            if contract is None:
                return ActionOutcome(done=False, problem=f"customer {customer.customer_number} has no contract")
            outcome = self._for_contract(session, contact, contract, customer, request, action)
            if outcome.done:
                session.commit()
            return outcome

    def _for_contract(
        self,
        session: Session,
        contact: Contact,
        contract: Contract,
        customer: Customer,
        request: object,
        action: ContactAction,
    ) -> ActionOutcome:
        received_on = contact.received_at.astimezone(BERLIN).date()
        if isinstance(request, ReadingRequest):
            problem = customer_requests.reading_problem(session, contract, request.read_on, request.value, action.today)
            if problem and not action.confirmed:
                return ActionOutcome(done=False, problem=f"reading not plausible: {problem}")
            customer_requests.store_reading(session, contract, request.read_on, request.value, action.decided_by)
            return ActionOutcome(
                done=True,
                note=f"reading {request.value} of {request.read_on} stored",
                readings=_reading_waits(session, contract, request.read_on),
            )
        if isinstance(request, BankDetailsRequest):
            mandate = customer_requests.change_bank_details(
                session, contract, request.iban, request.account_holder, request.signed_on, f"C{contact.id}"
            )
            return ActionOutcome(done=True, note=f"new SEPA mandate {mandate.reference}")
        if isinstance(request, CancellationRequest | MoveRequest):
            return self._end(session, contact, contract, customer, request, received_on, action)
        if isinstance(request, InstalmentRequest):
            return self._instalments(session, contact, contract, request, action)
        return ActionOutcome(done=False, problem=f"no action for {type(request).__name__}")

    def _end(
        self,
        session: Session,
        contact: Contact,
        contract: Contract,
        customer: Customer,
        request: CancellationRequest | MoveRequest,
        received_on: date,
        action: ContactAction,
    ) -> ActionOutcome:
        if contract.state not in CANCELLABLE or contract.id is None:
            return ActionOutcome(done=False, problem=f"contract {contract.contract_number} is {contract.state}")
        end = request.moved_out_on if isinstance(request, MoveRequest) else request.requested_end
        if end is not None and end <= received_on:
            return ActionOutcome(done=False, problem=f"the end {end} is not after the day of receipt {received_on}")
        cancellation = CustomerCancellationInput(
            contract_id=contract.id, received_on=received_on, requested_end=end, channel=contact.channel
        )
        starts = []
        note = f"cancellation of contract {contract.contract_number}"
        if isinstance(request, MoveRequest):
            cancellation.move, cancellation.moving_with_us = True, request.new_supply is not None
            version = customer_requests.move_address(
                session,
                customer,
                request,
                key=f"contact:{contact.id}:move",
                changed_by=action.decided_by,
                today=action.today,
                outbox=self.customer_outbox,
            )
            starts += _version_start(version)
            note = f"move out of {contract.contract_number} on {request.moved_out_on}"
            if request.new_supply is not None:
                try:
                    new = customer_requests.move_in_contract(session, contract, request, action.today)
                except ValueError as refused:
                    session.rollback()
                    return ActionOutcome(done=False, problem=f"the supply at the new address is refused: {refused}")
                assert new.id is not None and new.workflow_id is not None
                starts.append(
                    StartProcess(
                        workflow="SupplyStartWorkflow",
                        workflow_id=new.workflow_id,
                        input=SupplyStartInput(
                            tenant_id=new.tenant_id, contract_id=new.id, contract_number=new.contract_number
                        ).model_dump(mode="json"),
                    )
                )
                note += f", new contract {new.contract_number} at {request.street} {request.house_number}"
        starts.insert(
            0,
            StartProcess(
                workflow="CustomerCancellationWorkflow",
                workflow_id=f"cancellation/{contract.tenant_id}/{contract.contract_number}",
                input=cancellation.model_dump(mode="json"),
            ),
        )
        return ActionOutcome(done=True, note=note, starts=starts)

    def _instalments(
        self, session: Session, contact: Contact, contract: Contract, request: InstalmentRequest, action: ContactAction
    ) -> ActionOutcome:
        contract_account = session.get(ContractAccount, contract.account_id)
        assert contract_account is not None
        account = session.exec(  # the debtor account is named by the contract account's number
            select(LedgerAccount).where(
                LedgerAccount.tenant_id == contract.tenant_id,
                LedgerAccount.division == contract.division,
                LedgerAccount.kind == "debtor",
                LedgerAccount.number == contract_account.account_number,
            )
        ).first()
        if account is None or account.id is None:
            return ActionOutcome(done=False, problem="the customer has no debtor account yet: nothing to split")
        if receivable_terms.overdue(session, account.id, action.today, 0).total <= 0:
            return ActionOutcome(done=False, problem="nothing is overdue: there is nothing to split into rates")
        if request.first_due < action.today:
            return ActionOutcome(done=False, problem=f"the first rate cannot be due in the past ({request.first_due})")
        case_key = f"contact-{contact.id}"
        plan = PlanRequest(
            tenant_id=contract.tenant_id,
            account_id=account.id,
            case_key=case_key,
            rates=request.rates,
            first_due=request.first_due,
            on=action.today,
        )
        start = StartProcess(
            workflow="InstalmentPlanWorkflow",
            workflow_id=f"instalment-plan/{contract.tenant_id}/{case_key}",
            input=plan.model_dump(mode="json"),
        )
        return ActionOutcome(done=True, note=f"instalment plan of {request.rates} rates", starts=[start])

    @activity.defn
    def address_research(self, research: AddressResearch) -> list[StartProcess]:
        """Returned mail marks the address; a clerk's research clears it (new or confirmed) and sends what waited."""
        with Session(self.engine) as session:
            contact = _contact(session, research.contact_id)
            customer = session.get(Customer, contact.customer_id) if contact.customer_id else None
            if customer is None:
                raise business_error(f"contact {contact.id} is on no customer's file", "UnknownCustomer")
            starts: list[StartProcess] = []
            if research.returned:
                customer_requests.mark_returned_mail(session, customer)
            elif research.address:
                change = MasterDataRequest.model_validate({"action": "master_data", **research.address})
                version = customer_requests.change_master_data(
                    session,
                    customer,
                    change,
                    key=f"contact:{contact.id}:address-research",
                    changed_by=research.decided_by,
                    today=utcnow().astimezone(BERLIN).date(),
                    outbox=self.customer_outbox,
                )
                customer_requests.clear_address(session, customer, self.customer_outbox)
                starts = _version_start(version)
            else:
                customer_requests.clear_address(session, customer, self.customer_outbox)
            session.commit()
            return starts

    @activity.defn
    def close_contact(self, close: ContactClose) -> None:
        with Session(self.engine) as session:
            contact = _contact(session, close.contact_id)
            if contact.state != "done":
                contact.state, contact.outcome = "done", close.outcome[:2000]
                session.add(contact)
                session.commit()

    @activity.defn
    def notify_client(self, notice: ClientNotice) -> int:
        """Tell the client about a regulator or arbitration complaint at once (row and e-mail); returns its id."""
        with Session(self.engine) as session:
            contact = _contact(session, notice.contact_id)
            customer = session.get(Customer, contact.customer_id) if contact.customer_id else None
            contract = session.get(Contract, contact.contract_id) if contact.contract_id else None
            title = COMPLAINT_TITLES.get(ComplaintKind(contact.complaint), "Beschwerde")
            row = notifications.notify(
                session,
                contact.tenant_id,
                f"complaint:{contact.id}",
                f"complaint.{contact.complaint}",
                f"{title}: {contact.subject or 'ohne Betreff'}",
                {
                    "contact_id": contact.id,
                    "complaint": contact.complaint,
                    "channel": contact.channel,
                    "received_at": contact.received_at.isoformat(),
                    "answer_by": contact.answer_by.isoformat() if contact.answer_by else None,
                    "customer_number": customer.customer_number if customer else None,
                    "contract_number": contract.contract_number if contract else None,
                    "subject": contact.subject,
                    "sender": contact.sender_name,
                },
                self.client_outbox,
            )
            assert row.id is not None
            return row.id

    @activity.defn
    def post_webhook(self, notification_id: int) -> None:
        with Session(self.engine) as session:
            try:
                notifications.post_webhook(session, notification_id)
            except notifications.WebhookFailed as failed:
                raise ApplicationError(str(failed), type="WebhookFailed") from failed


def _version_start(version: CustomerVersion | None) -> list[StartProcess]:
    """The process that puts a later-dated version into effect and tells the grid operators, where needed."""
    if version is None or version.id is None or (version.applied_at and version.market_state != "pending"):
        return []
    return [
        StartProcess(
            workflow="CustomerDataChangeWorkflow",
            workflow_id=f"customer-data/{version.tenant_id}/{version.id}",
            input=VersionCase(tenant_id=version.tenant_id, version_id=version.id).model_dump(mode="json"),
        )
    ]


def _contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise business_error(f"contact {contact_id} does not exist", "NotFound")
    return contact


def _facts(session: Session, contact: Contact) -> ContactFacts:
    assert contact.id is not None
    customer = session.get(Customer, contact.customer_id) if contact.customer_id else None
    contract = session.get(Contract, contact.contract_id) if contact.contract_id else None
    location = session.get(MarketLocation, contract.location_id) if contract else None
    level = contacts.service_level(session, contact.tenant_id, service_topic(contact.channel, contact.complaint))
    return ContactFacts(
        tenant_id=contact.tenant_id,
        contact_id=contact.id,
        channel=contact.channel,
        category=contact.category,
        complaint=contact.complaint,
        settled=contact.settled,
        subject=contact.subject,
        received_at=contact.received_at,
        answer_by=contact.answer_by,
        request=contact.request,
        customer_id=contact.customer_id,
        contract_id=contact.contract_id,
        customer_number=customer.customer_number if customer else None,
        malo_id=location.malo_id if location else None,
        due_at=due_at(contact.received_at, level.working_days),
        priority=level.priority,
    )


def _reading_waits(session: Session, contract: Contract, read_on: date) -> list[ReadingsDelivery]:
    """The processes waiting for a reading of the contract's locations, with what to tell them."""
    at = datetime(read_on.year, read_on.month, read_on.day, tzinfo=BERLIN)
    waiting = waiting_processes(session, contract.tenant_id, locations(session, contract))
    return [
        ReadingsDelivery(
            workflow_id=workflow_id,
            readings=ReadingsArrived(
                message_id=None, location_id=location, pruefidentifikator="", count=1, first_at=at, last_at=at
            ),
        )
        for location, workflow_ids in waiting.items()
        for workflow_id in workflow_ids
    ]
