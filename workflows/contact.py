"""A customer contact ``contact/{tenant}/{contact}``, from any channel, handled to its end.

* Regulator (BNetzA) and arbitration (Schlichtungsstelle) complaints notify the client at once: a notification
  row, an e-mail file in the client outbox and the client's webhook (retried until it answers).
* An unknown sender goes to 2nd level first (``identify_sender``: assign the customer, or answer without one).
* Returned mail marks the address as unreliable (prints are held) and asks 1st level to research it.
* A callback wish becomes a callback task in its time window; unreached, a second attempt on the next working
  day, then a letter.
* A request the contact carries (a reading, a cancellation, a move, bank details, an instalment plan, master data)
  is carried out at once when it comes from the customer's own channel (web form, settled phone call) and
  passes its checks; a phone call settled in the call needs nothing more.
* Everything else is reviewed by 2nd level, who handle it or hand it to 1st level; a task undecided by its due
  time (the tenant's service level) moves to the supervisors. A complaint stays open until it is answered.
"""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contacts import ContactActivities
    from activities.documents import DocumentActivities
    from activities.inbox import deliver_readings, start_process
    from models.contact_input import ACTIONS, REQUEST, CallbackRequest, MasterDataRequest
    from models.process import (
        ActionOutcome,
        AddressResearch,
        CallbackLetter,
        ClientNotice,
        ContactAction,
        ContactCase,
        ContactClose,
        ContactCustomer,
        ContactFacts,
        ProcessStatus,
        TaskDecision,
    )
    from rules.calendar import BERLIN
    from rules.contacts import CALLBACK_ATTEMPTS, CallbackWindow, Category, Channel, ComplaintKind
    from rules.contacts import next_callback_window as next_window
    from workflows import search
    from workflows.casework import ClerkWorkflow
    from workflows.common import DB_ACTIVITY

FIRST_LEVEL = "first_level"
SECOND_LEVEL = "second_level"
FOLLOW_UP = timedelta(days=1)
"""A task after the first (a handover, a second try) is due no earlier than a day later."""
AT_ONCE = (ComplaintKind.REGULATOR, ComplaintKind.ARBITRATION)
WEBHOOK_RETRIES = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=30))
WEBHOOK_GIVES_UP = timedelta(days=3)
SELF_SERVICE = (Channel.WEB,)
"""Channels whose requests are the customer's own input, carried out without review when they pass the checks."""


def _validate_data(decision: TaskDecision) -> None:
    if decision.decision in (*ACTIONS, "answered"):
        REQUEST.validate_python({"action": decision.decision, **decision.data})
    elif decision.decision == "new_address":
        address = MasterDataRequest.model_validate({"action": "master_data", **decision.data})
        if not (address.street and address.postcode and address.city):
            raise ValueError("a new address needs street, postcode and city")
    elif decision.decision == "assign_customer" and not str(decision.data.get("customer_number", "")).strip():
        raise ValueError("assign_customer needs data.customer_number")
    elif decision.decision == "to_first_level" and decision.data.get("priority") not in (None, 1, 2, 3, 4, 5):
        raise ValueError("priority must be 1 (most urgent) to 5")


@workflow.defn
class ContactWorkflow(ClerkWorkflow):
    def check_decision(self, decision: TaskDecision) -> None:
        _validate_data(decision)

    @workflow.run
    async def run(self, case: ContactCase) -> ProcessStatus:
        self.case.tenant_id = case.tenant_id
        workflow.upsert_search_attributes([search.TENANT.value_set(case.tenant_id)])
        facts = await workflow.execute_activity_method(ContactActivities.load_contact, case.contact_id, **DB_ACTIVITY)
        self._on_file(facts)
        webhook = None
        if facts.complaint in AT_ONCE:
            notification = await workflow.execute_activity_method(
                ContactActivities.notify_client,
                ClientNotice(tenant_id=case.tenant_id, contact_id=case.contact_id),
                **DB_ACTIVITY,
            )
            webhook = workflow.start_activity_method(
                ContactActivities.post_webhook,
                notification,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=WEBHOOK_GIVES_UP,
                retry_policy=WEBHOOK_RETRIES,
            )
        outcome = await self._handle(facts)
        await workflow.execute_activity_method(
            ContactActivities.close_contact,
            ContactClose(tenant_id=case.tenant_id, contact_id=case.contact_id, outcome=outcome),
            **DB_ACTIVITY,
        )
        if webhook is not None:
            try:
                await webhook
            except ActivityError:
                workflow.logger.warning("the client's webhook never took the notification (e-mail was written)")
        await self.case.set_state("done")
        return self.status()

    def _on_file(self, facts: ContactFacts) -> None:
        self.case.contract_id, self.case.customer_id = facts.contract_id, facts.customer_id
        attributes = []
        if facts.customer_number:
            attributes.append(search.CUSTOMER_NUMBER.value_set(facts.customer_number))
        if facts.malo_id:
            attributes.append(search.MALO.value_set(facts.malo_id))
        if attributes:
            workflow.upsert_search_attributes(attributes)
        self.case.description = f"{facts.channel} contact {facts.contact_id}: {facts.subject}"

    async def _handle(self, facts: ContactFacts) -> str:
        if facts.customer_id is None:
            identified = await self._identify(facts)
            if identified is None:
                return "answered without a customer file"
            facts = identified
        if facts.category == Category.RETURNED_MAIL:
            return await self._returned_mail(facts)
        request = facts.request
        if request.get("action") == "callback":
            return await self._callback(facts, CallbackRequest.model_validate(request))
        problem = ""
        if request and not facts.complaint and (facts.settled or facts.channel in SELF_SERVICE):
            outcome = await self._perform(facts, request, f"{facts.channel} contact")
            if outcome.done:
                return outcome.note
            problem = outcome.problem
        elif facts.settled and not facts.complaint:
            return "settled in the call"
        return await self._clerk(facts, problem)

    async def _identify(self, facts: ContactFacts) -> ContactFacts | None:
        problem = ""
        while True:
            decision = await self._ask(
                facts,
                "identify_sender",
                f"Unknown sender: {facts.subject or facts.category}",
                ["assign_customer", "answered"],
                {"problem": problem},
                SECOND_LEVEL,
            )
            if decision.decision == "answered":
                return None
            try:
                identified = await workflow.execute_activity_method(
                    ContactActivities.assign_customer,
                    ContactCustomer(
                        tenant_id=facts.tenant_id,
                        contact_id=facts.contact_id,
                        customer_number=str(decision.data["customer_number"]).strip(),
                    ),
                    **DB_ACTIVITY,
                )
            except ActivityError as refused:
                problem = str(getattr(refused.cause, "message", refused))
                continue
            self._on_file(identified)
            return identified

    async def _clerk(self, facts: ContactFacts, problem: str) -> str:
        """Tasks until the contact is handled: 2nd level reviews, may hand over to 1st level; complaints end only
        with their answer."""
        complaint = bool(facts.complaint)
        queue = SECOND_LEVEL
        kind = "complaint" if complaint else "phone_followup" if facts.channel == Channel.PHONE else "review"
        notes: list[str] = []
        priority = facts.priority
        pending = facts.request  # a request that failed its check waits for the clerk's confirmation
        while True:
            allowed = [*ACTIONS, "answered"]
            if queue == SECOND_LEVEL and not complaint:
                allowed.append("to_first_level")
            if pending.get("action") == "meter_reading" and problem:
                allowed.insert(0, "confirm_reading")
            decision = await self._ask(
                facts, kind, self._title(facts, kind), allowed, {"problem": problem, "done": notes}, queue, priority
            )
            problem = ""
            if decision.decision == "to_first_level":  # 2nd level may set the priority for 1st level
                queue, kind = FIRST_LEVEL, "first_level"
                priority = int(decision.data.get("priority") or priority)
                continue
            if decision.decision == "answered":
                return "; ".join([*notes, str(decision.data.get("note") or f"answered by {decision.decided_by}")])
            if decision.decision == "callback":
                notes.append(await self._callback(facts, CallbackRequest.model_validate(self._request(decision))))
            else:
                confirmed = decision.decision == "confirm_reading"
                request = pending if confirmed else self._request(decision)
                outcome = await self._perform(facts, request, decision.decided_by, confirmed=confirmed)
                if not outcome.done:
                    pending, problem = request, outcome.problem
                    continue
                notes.append(outcome.note)
                pending = {}
            if not complaint:
                return "; ".join(notes)

    @staticmethod
    def _request(decision: TaskDecision) -> dict[str, Any]:
        return {"action": decision.decision, **decision.data}

    @staticmethod
    def _title(facts: ContactFacts, kind: str) -> str:
        what = {
            "complaint": f"Complaint ({facts.complaint}), answer by {facts.answer_by}",
            "phone_followup": "Phone contact not settled in the call",
            "review": f"Review {facts.channel} contact",
            "first_level": f"Handle {facts.channel} contact",
        }[kind]
        return f"{what}: {facts.subject or facts.category}"

    async def _ask(
        self,
        facts: ContactFacts,
        kind: str,
        title: str,
        allowed: list[str],
        data: dict[str, object],
        queue: str,
        priority: int | None = None,
    ) -> TaskDecision:
        """A task due by the contact's service level (follow-ups a day later at the earliest); overdue, it moves to
        the supervisors."""
        due = facts.due_at if self.case.tasks == 0 else max(facts.due_at, workflow.now() + FOLLOW_UP)
        task_id = await self.case.open_task(
            kind,
            title,
            allowed,
            {
                "contact_id": facts.contact_id,
                "channel": facts.channel,
                "category": facts.category,
                "complaint": facts.complaint,
                "answer_by": facts.answer_by,
                "request": facts.request,
                **data,
            },
            queue=queue,
            priority=priority or facts.priority,
            due_at=due,
        )
        return await self.case.decision(task_id, escalate_at=due)

    async def _perform(
        self, facts: ContactFacts, request: dict[str, Any], decided_by: str, *, confirmed: bool = False
    ) -> ActionOutcome:
        outcome = await workflow.execute_activity_method(
            ContactActivities.perform,
            ContactAction(
                tenant_id=facts.tenant_id,
                contact_id=facts.contact_id,
                request=request,
                decided_by=decided_by,
                today=self.case.today(),
                confirmed=confirmed,
            ),
            **DB_ACTIVITY,
        )
        for start in outcome.starts:
            await workflow.execute_activity(start_process, start, **DB_ACTIVITY)
        for delivery in outcome.readings:
            await workflow.execute_activity(deliver_readings, delivery, **DB_ACTIVITY)
        return outcome

    async def _returned_mail(self, facts: ContactFacts) -> str:
        research = AddressResearch(tenant_id=facts.tenant_id, contact_id=facts.contact_id)
        await workflow.execute_activity_method(
            ContactActivities.address_research, research.model_copy(update={"returned": True}), **DB_ACTIVITY
        )
        decision = await self._ask(
            facts,
            "address_research",
            f"Returned mail: research the address of customer {facts.customer_number}",
            ["new_address", "address_confirmed"],
            {},
            FIRST_LEVEL,
        )
        address = {k: str(v) for k, v in decision.data.items()} if decision.decision == "new_address" else {}
        starts = await workflow.execute_activity_method(
            ContactActivities.address_research,
            research.model_copy(update={"address": address, "decided_by": decision.decided_by}),
            **DB_ACTIVITY,
        )
        for start in starts:
            await workflow.execute_activity(start_process, start, **DB_ACTIVITY)
        return "new address" if address else "address confirmed"

    async def _callback(self, facts: ContactFacts, request: CallbackRequest) -> str:
        window = CallbackWindow(request.window_start, request.window_end)
        attempts = []
        for attempt in range(1, CALLBACK_ATTEMPTS + 1):
            start, end = window.start.astimezone(BERLIN), window.end.astimezone(BERLIN)
            task_id = await self.case.open_task(
                "callback",
                f"Call back {request.phone or 'the customer'} on {start:%d.%m.%Y} between {start:%H:%M} and "
                f"{end:%H:%M} ({attempt}. attempt)",
                ["reached", "not_reached"],
                {
                    "contact_id": facts.contact_id,
                    "phone": request.phone,
                    "window_start": window.start.isoformat(),
                    "window_end": window.end.isoformat(),
                    "attempt": attempt,
                },
                queue=FIRST_LEVEL,
                priority=2,
                due_at=window.end,
            )
            decision = await self.case.decision(task_id, escalate_at=window.end)
            attempts.append(workflow.now())
            if decision.decision == "reached":
                return f"called back: {decision.data.get('note', '')}".rstrip(": ")
            window = next_window(window, workflow.now())
        if facts.contract_id is None:
            return f"not reached in {CALLBACK_ATTEMPTS} attempts (no address for a letter)"
        await workflow.execute_activity_method(
            DocumentActivities.callback_missed,
            CallbackLetter(
                contract_id=facts.contract_id, contact_id=facts.contact_id, subject=facts.subject, attempts=attempts
            ),
            **DB_ACTIVITY,
        )
        return f"not reached in {CALLBACK_ATTEMPTS} attempts; letter sent"
