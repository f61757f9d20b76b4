"""The grid operator asks us to end our assignment ``termination-request/{tenant}/{transaction}`` (55010/44010).

We are the old supplier; the answer 55011/55012 (44011/44012) is due by 09:00 of the first working day (EBD
E_0624). No answer counts as consent, so an undecided clerk task simply lapses at the deadline. The supply end
follows when the grid operator reports the end of our assignment (55037/44037).
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.process import PartnerRequestInput, PartnerRequestOutcome
    from rules import end_of_supply as eos
    from workflows.partner_request import PartnerRequestProcess

ENDING = frozenset({"ending", "ended"})


@workflow.defn
class TerminationRequestWorkflow(PartnerRequestProcess):
    @workflow.run
    async def run(self, request: PartnerRequestInput) -> PartnerRequestOutcome:
        received = await self.receive(request)
        deadline = eos.assignment_end_answer_due(workflow.now())
        division = "gas" if received.pruefidentifikator.startswith("44") else "strom"
        requested = received.end or received.start
        contract = self.contract
        if requested is None:
            answer = eos.MarketAnswer(outcome=eos.Outcome.CLEARING, note="The request names no date.")
        else:
            answer = eos.answer_assignment_end(
                self.terms(),
                requested,
                confirmed_cancellation_end=contract.supply_end if contract and contract.state in ENDING else None,
                division=division,
            )
        if answer.outcome is eos.Outcome.CLEARING:
            decision = await self.clear("termination_request_undecidable", answer, deadline)
            if decision is None:  # silence is consent (GPKE)
                await self.case.set_state("consented_by_silence")
                return self.outcome("consented_by_silence", None, requested)
            answer = self.decided(decision, answer, division)
        pid = await self.send_answer(answer)
        state = "confirmed" if answer.outcome is eos.Outcome.CONFIRM else "rejected"
        await self.case.set_state(state)
        return self.outcome(state, pid, answer.end)
