"""Product and price steps: budget plans recalculated for new prices, the tariff switched on its day, and the
price adjustment run (a new plan and a notice per customer)."""

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.contracts import get_contract
from activities.documents import DocumentActivities
from activities.errors import business_error
from models.base import utcnow
from models.contracts import PriceAdjustment
from models.process import PriceChunk, PriceChunkDone, PriceProgress, Replan, TariffLetter
from rules.calendar import BERLIN
from services import price_changes, products


class ProductActivities:
    def __init__(self, engine: Engine, letters: DocumentActivities) -> None:
        self.engine = engine
        self.letters = letters

    @activity.defn
    def replan_budget(self, request: Replan) -> int:
        """The new plan's id; a retry returns the same plan."""
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            today = utcnow().astimezone(BERLIN).date()
            plan = products.replan(session, contract, request.from_day, today, request.key)
            session.commit()
            assert plan.id is not None
            return plan.id

    @activity.defn
    def switch_tariff(self, contract_id: int) -> int:
        with Session(self.engine) as session:
            contract = get_contract(session, contract_id)
            tariff = products.switch_due(session, contract, utcnow().astimezone(BERLIN).date())
            session.commit()
            return tariff

    @activity.defn
    def start_adjustment(self, adjustment_id: int) -> int:
        """How many customers the price adjustment concerns (counted once, when the run starts)."""
        with Session(self.engine) as session:
            adjustment = _adjustment(session, adjustment_id)
            if adjustment.state == "announced":
                count = price_changes.count_affected(session, adjustment)
                adjustment.customers, adjustment.state = count, "notifying"
                session.add(adjustment)
                session.commit()
            return adjustment.customers

    @activity.defn
    def notify_chunk(self, chunk: PriceChunk) -> PriceChunkDone:
        """The next customers after ``after_contract_id``: a new budget plan and the notice; each once."""
        with Session(self.engine) as session:
            adjustment = _adjustment(session, chunk.adjustment_id)
            contract_ids = price_changes.affected(session, adjustment, chunk.after_contract_id, chunk.limit)
            for done, contract_id in enumerate(contract_ids, start=1):
                self.notify(session, adjustment, contract_id)
                activity.heartbeat(done)
            return PriceChunkDone(
                last_contract_id=contract_ids[-1] if contract_ids else chunk.after_contract_id, count=len(contract_ids)
            )

    def notify(self, session: Session, adjustment: PriceAdjustment, contract_id: int) -> None:
        """One customer: the budget plan at the new price and the notice (each once)."""
        assert adjustment.id is not None
        key = f"price-adjustment:{adjustment.id}:{contract_id}"
        contract = get_contract(session, contract_id)
        plan = products.replan(session, contract, adjustment.valid_from, utcnow().astimezone(BERLIN).date(), key)
        session.commit()
        assert plan.id is not None
        self.letters.tariff_letter(
            TariffLetter(
                contract_id=contract_id,
                kind="price_adjustment",
                effective_from=adjustment.valid_from,
                plan_id=plan.id,
                old_tariff_id=adjustment.tariff_id,
                key=f"{adjustment.id}:{contract_id}",
                reason=adjustment.reason,
            )
        )

    @activity.defn
    def record_progress(self, progress: PriceProgress) -> None:
        with Session(self.engine) as session:
            adjustment = _adjustment(session, progress.adjustment_id)
            adjustment.notified = progress.notified
            if progress.done:
                adjustment.state = "notified"
            session.add(adjustment)
            session.commit()


def _adjustment(session: Session, adjustment_id: int) -> PriceAdjustment:
    adjustment = session.get(PriceAdjustment, adjustment_id)
    if adjustment is None:
        raise business_error(f"price adjustment {adjustment_id} does not exist", "NotFound")
    return adjustment
