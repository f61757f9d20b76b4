"""The grid operator announces the end of our supply ``grid-supply-end/{tenant}/{transaction}`` (55007/44007).

The answer 55008/55009 (44008/44009) is due by 05:00 of the first working day (EBD E_0609); without an answer the
end takes effect anyway, so the deadline is a hard timer. Unless we reject, the supply ends on the announced day:
the supply-end process runs without an Abmeldung of ours.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.process import PartnerRequestInput, PartnerRequestOutcome
    from rules import end_of_supply as eos
    from rules.calendar import BERLIN
    from workflows.partner_request import PartnerRequestProcess

REASONS = {"Z33": eos.GridEndReason.SHUTDOWN}
"""Transaction reasons of the announcement (STS+7); others are treated as a shutdown (unverified)."""


@workflow.defn
class GridSupplyEndWorkflow(PartnerRequestProcess):
    @workflow.run
    async def run(self, request: PartnerRequestInput) -> PartnerRequestOutcome:
        received = await self.receive(request)
        deadline = eos.grid_supply_end_answer_due(workflow.now())
        division = "gas" if received.pruefidentifikator.startswith("44") else "strom"
        end = received.end
        if self.contract is None or end is None:
            answer = eos.MarketAnswer(
                outcome=eos.Outcome.CLEARING,
                note="No contract of ours at this MaLo." if self.contract is None else "The announcement has no date.",
            )
        else:
            answer = eos.answer_grid_supply_end(
                end,
                workflow.now().astimezone(BERLIN).date(),
                eos.GridEndReason.SHUTDOWN,
                confirmed_end=self.contract.supply_end if self.contract.state in ("ending", "ended") else None,
                division=division,
            )
        pid: str | None = None
        if answer.outcome is eos.Outcome.CLEARING:
            decision = await self.clear("grid_supply_end_undecidable", answer, deadline)
            if decision is not None:
                answer = self.decided(decision, answer.model_copy(update={"code": "A10"}), division)
        if answer.outcome is not eos.Outcome.CLEARING and workflow.now() < deadline:
            pid = await self.send_answer(answer)
        if answer.outcome is eos.Outcome.REJECT:
            await self.case.set_state("rejected")
            return self.outcome("rejected", pid, None)
        if self.contract is None or end is None:
            await self.case.set_state("unanswered")
            return self.outcome("unanswered", pid, None)
        await self.start_supply_end(end, "grid_operator", deregister=False)
        await self.case.set_state("ending")
        return self.outcome("ending", pid, end)
