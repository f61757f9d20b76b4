"""Answers from market partners as a workflow receives them: matched to the request they answer, with deadlines."""

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.process import MarketAnswer
    from rules.calendar import BERLIN
    from rules.market_processes import Exchange


class Conversation:
    """The answers a process received (signal ``market_answer``), each taken once."""

    def __init__(self) -> None:
        self.answers: list[MarketAnswer] = []
        self.waiting_for: str | None = None

    def receive(self, answer: MarketAnswer) -> None:
        """Signal handler body: a message delivered twice is kept once."""
        if all(a.message_id != answer.message_id for a in self.answers):
            self.answers.append(answer)

    def has(self, pids: frozenset[str], transaction: str | None = None) -> bool:
        return any(self._matches(a, pids, transaction) for a in self.answers)

    def take(self, pids: frozenset[str], transaction: str | None = None) -> MarketAnswer | None:
        for index, answer in enumerate(self.answers):
            if self._matches(answer, pids, transaction):
                return self.answers.pop(index)
        return None

    async def wait(
        self, pids: frozenset[str], deadline: datetime | None, what: str, transaction: str | None = None
    ) -> MarketAnswer | None:
        """The first answer with one of ``pids`` (to ``transaction`` if given), or None after the deadline."""
        until = f" until {deadline.astimezone(BERLIN):%Y-%m-%d %H:%M}" if deadline else ""
        self.waiting_for = f"{what}{until}"
        try:
            timeout = max(deadline - workflow.now(), timedelta(seconds=1)) if deadline else None
            await workflow.wait_condition(lambda: self.has(pids, transaction), timeout=timeout)
        except TimeoutError:
            return None
        finally:
            self.waiting_for = None
        return self.take(pids, transaction)

    async def answer_to(
        self, ex: Exchange, transaction: str, deadline: datetime | None, what: str
    ) -> MarketAnswer | None:
        return await self.wait(ex.confirmations | ex.rejections, deadline, what, transaction)

    @staticmethod
    def _matches(answer: MarketAnswer, pids: frozenset[str], transaction: str | None) -> bool:
        return answer.pruefidentifikator in pids and (
            transaction is None or answer.reference_transaction == transaction
        )
