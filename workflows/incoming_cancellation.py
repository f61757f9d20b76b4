"""A new supplier cancels our customer's contract ``incoming-cancellation/{tenant}/{transaction}`` (55016/44016).

We are the old supplier: the answer 55017/55018 (44017/44018) is due by the end of the first working day after
receipt (EBD E_0614). What the rules cannot decide goes to a clerk, due at that deadline. A confirmation starts
the supply end (the Abmeldung at the grid operator) at once, as GPKE requires.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.process import PartnerRequestInput, PartnerRequestOutcome
    from rules import end_of_supply as eos
    from rules.calendar import BERLIN
    from workflows.partner_request import PartnerRequestProcess

ENDING = frozenset({"ending", "ended"})


@workflow.defn
class IncomingCancellationWorkflow(PartnerRequestProcess):
    @workflow.run
    async def run(self, request: PartnerRequestInput) -> PartnerRequestOutcome:
        received = await self.receive(request)
        deadline = eos.cancellation_answer_due(workflow.now())
        division = "gas" if received.pruefidentifikator.startswith("44") else "strom"
        contract = self.contract
        already = contract.supply_end if contract and contract.state in ENDING else None
        answer = eos.answer_cancellation(
            self.terms(),
            workflow.now().astimezone(BERLIN).date(),
            received.end,
            already_cancelled_to=already,
            division=division,
        )
        if answer.outcome is eos.Outcome.CLEARING:
            decision = await self.clear("cancellation_undecidable", answer, deadline)
            if decision is None:
                await self.case.set_state("unanswered")
                return self.outcome("unanswered", None, None)
            answer = self.decided(decision, answer.model_copy(update={"code_list": answer.code_list}), division)
        await self.case.set_state("answering")
        pid = await self.send_answer(answer, annual_kwh=answer.outcome is eos.Outcome.CONFIRM)
        if answer.outcome is eos.Outcome.CONFIRM and self.contract is not None and answer.end is not None:
            if already is None:  # a contract already ending has its supply end running
                await self.start_supply_end(answer.end, "switch", deregister=True)
            await self.case.set_state("confirmed")
            return self.outcome("confirmed", pid, answer.end)
        await self.case.set_state("rejected")
        return self.outcome("rejected", pid, None)
