"""Subledger work run by processes: the month close."""

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.errors import business_error
from models.process import MonthCloseInput
from services.month_close import CloseRefused, MonthClose, close_month


class LedgerActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def close_month(self, request: MonthCloseInput) -> MonthClose:
        """Compute, check, export, archive and close; repeating it returns the same documents."""
        with Session(self.engine) as session:
            try:
                result = close_month(session, request.tenant_id, request.period)
            except CloseRefused as refused:
                raise business_error(str(refused), "CloseRefused") from refused
            session.commit()
            return result
