"""Test helpers for grid invoices: a supplied MaLo with readings and a price sheet, and INVOIC built by our own
builder with exact arithmetic."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from edifact.envelope import Party, parse_interchange, serialize_interchange
from edifact.invoic import InvoiceLine, InvoiceTax, InvoicMessage, invoic_interchange
from edifact.remadv import RemadvMessage, parse_remadv
from models.grid_invoices import GridInvoice
from models.messages import MarketMessage
from models.readings import MeterReading
from rules.calendar import BERLIN, add_working_days, day_start
from services.grid_invoices import import_price_sheet
from tests.end_of_supply import Supplied
from tests.flow import deliver

BASE = "1-02-0-001"
WORK = "1-02-0-002"
BASE_PER_DAY = Decimal("0.27397")
WORK_PER_KWH = Decimal("0.0861")
MMM_ARTICLE = "9990001000756"
MMM_PRICE = Decimal("0.12")
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class GridCase:
    """A supplied MaLo whose grid operator bills us; the tenant and the grid operator have bank accounts."""

    supplied: Supplied

    @classmethod
    def create(cls, supplied: Supplied) -> "GridCase":
        with Session(supplied.engine) as session:
            session.execute(
                text("UPDATE tenant SET iban = 'DE02120300000000202051', bic = 'BYLADEM1001' WHERE id = :t"),
                {"t": supplied.world.tenant.id},
            )
            session.execute(
                text("UPDATE market_partner SET iban = 'DE89370400440532013000', bic = 'COBADEFFXXX' WHERE id = :p"),
                {"p": supplied.world.grid_operator.id},
            )
            import_price_sheet(
                session,
                supplied.world.tenant.id,
                supplied.world.grid_operator.id,
                f"article_id;valid_from;unit_price;price_unit\n{BASE};2020-01-01;{BASE_PER_DAY};DAY\n"
                f"{WORK};2020-01-01;{WORK_PER_KWH};\n",
            )
            session.commit()
        return cls(supplied)

    @property
    def grid(self) -> str:
        return self.supplied.world.grid_operator.id

    @property
    def tenant(self) -> str:
        return self.supplied.world.tenant.id

    def reading(self, day: date, value: str) -> None:
        with Session(self.supplied.engine) as session:
            session.add(
                MeterReading(
                    tenant_id=self.tenant,
                    location_id=self.supplied.malo_id,
                    value=Decimal(value),
                    quality="220",
                    at=datetime(day.year, day.month, day.day, tzinfo=BERLIN),
                )
            )
            session.commit()

    def invoice(
        self,
        start: date,
        end: date,
        kwh: Decimal,
        *,
        received: date,
        number: str | None = None,
        work_price: Decimal = WORK_PER_KWH,
        mmm: bool = False,
        due: date | None = None,
    ) -> InvoicMessage:
        """A Netznutzungsrechnung (base and work price) or an MMM invoice, adding up exactly."""
        return build_invoice(
            self.grid,
            self.supplied.world.tenant.market_partner_id,
            self.supplied.malo_id,
            start,
            end,
            kwh,
            received=received,
            number=number,
            work_price=work_price,
            mmm=mmm,
            due=due,
        )

    def storno(self, of: InvoicMessage, received: date) -> InvoicMessage:
        return of.model_copy(
            update={
                "category": "457",
                "pruefidentifikator": "31004",
                "document_number": f"STO-{uuid.uuid4().hex[:10].upper()}",
                "cancels": of.document_number,
                "document_date": datetime.combine(received, datetime.min.time(), BERLIN).astimezone(UTC),
                "message_reference": uuid.uuid4().hex[:14].upper(),
            }
        )

    async def send(self, invoice: InvoicMessage) -> int:
        """Deliver the INVOIC through the inbound pipeline; returns the stored message id."""
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        raw = serialize_interchange(
            invoic_interchange(
                [invoice],
                sender=Party(id=self.grid, qualifier="500"),
                receiver=Party(id=self.supplied.world.tenant.market_partner_id, qualifier="500"),
                reference=uuid.uuid4().hex[:14].upper(),
                prepared_at=now,
            )
        )
        s = self.supplied
        received = await deliver(s.engine, s.client, s.settings.task_queue, s.world.tenant, raw)
        return received.message_id


def build_invoice(
    grid: str,
    receiver: str,
    malo_id: str,
    start: date,
    end: date,
    kwh: Decimal,
    *,
    received: date,
    number: str | None = None,
    work_price: Decimal = WORK_PER_KWH,
    mmm: bool = False,
    due: date | None = None,
) -> InvoicMessage:
    """A Netznutzungsrechnung (base and work price) or an MMM invoice, adding up exactly."""
    days = Decimal((end - start).days)
    period = {"period_start": day_start(start, "strom"), "period_end": day_start(end, "strom")}
    vat = InvoiceTax(rate=Decimal(19))
    if mmm:
        lines = [
            InvoiceLine(
                position="1",
                article_id=MMM_ARTICLE,
                article_code_list="Z01",
                quantity=kwh,
                quantity_unit="KWH",
                amount=cents(kwh * MMM_PRICE),
                unit_price=MMM_PRICE,
                tax=vat,
                **period,
            )
        ]
    else:
        lines = [
            InvoiceLine(
                position="1",
                article_id=BASE,
                article_code_list="Z09",
                quantity=Decimal(1),
                quantity_unit="H87",
                days=days,
                days_unit="DAY",
                amount=cents(days * BASE_PER_DAY),
                unit_price=BASE_PER_DAY,
                price_unit="DAY",
                tax=vat,
                **period,
            ),
            InvoiceLine(
                position="2",
                article_id=WORK,
                article_code_list="Z09",
                quantity=kwh,
                quantity_unit="KWH",
                amount=cents(kwh * work_price),
                unit_price=work_price,
                tax=vat,
                **period,
            ),
        ]
    net = sum((line.amount or Decimal(0) for line in lines), Decimal("0.00"))
    tax = cents(net * Decimal("0.19"))
    issued = datetime.combine(received, datetime.min.time(), BERLIN).astimezone(UTC)
    due_day = due or add_working_days(received, 15)
    return InvoicMessage(
        association="2.8e",
        pruefidentifikator="31005" if mmm else "31002",
        message_reference=uuid.uuid4().hex[:14].upper(),
        category="380",
        document_number=number or f"NNR-{uuid.uuid4().hex[:10].upper()}",
        document_date=issued,
        period_start=period["period_start"],
        period_end=period["period_end"],
        invoice_type="MMM" if mmm else "JVR",
        sender=grid,
        receiver=receiver,
        malo_id=malo_id,
        due_date=datetime.combine(due_day, datetime.min.time(), BERLIN).astimezone(UTC),
        lines=lines,
        total=net + tax,
        due_amount=net + tax,
        taxes=[InvoiceTax(rate=Decimal(19), base=net, amount=tax)],
    )


def invoice_row(engine: Engine, number: str) -> GridInvoice | None:
    with Session(engine) as session:
        return session.exec(select(GridInvoice).where(GridInvoice.invoice_number == number)).first()


def decided(engine: Engine, number: str) -> GridInvoice | None:
    row = invoice_row(engine, number)
    return row if row is not None and row.answer_pid else None


def remadv_of(engine: Engine, row: GridInvoice) -> RemadvMessage:
    with Session(engine) as session:
        message = session.exec(select(MarketMessage).where(MarketMessage.business_key == f"remadv:{row.id}")).one()
    [raw] = parse_interchange(message.raw).messages
    return parse_remadv(raw)
