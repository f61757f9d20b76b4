"""Product and price steps: a budget plan recalculated for the new price, the tariff switched on its day."""

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.contracts import get_contract
from models.base import utcnow
from models.process import Replan
from rules.calendar import BERLIN
from services import products


class ProductActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
