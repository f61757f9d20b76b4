"""A demo tenant and one supply start played through, with the market's answers simulated."""

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from edifact.envelope import parse_interchange
from edifact.replies import reply_interchange, reply_to
from edifact.utilmd import parse_utilmd
from models.documents import Document
from models.messages import Direction, MarketMessage
from models.orders import ContractOrder
from models.parties import MarketPartner, PartnerCommunication
from models.tenancy import Tenant
from rules.calendar import BERLIN, day_start, earliest_supply_start
from rules.ids import malo_check_digit, market_partner_check_digit
from services.inbox import receive_interchange, start_processing
from services.intake import intake
from services.master_data import save_tariff_price
from services.supply import start_supply
from workflows.supply_start import SupplyStartWorkflow

console = Console()
DEMO_TENANT = "demo"


def code_number(base12: str) -> str:
    return base12 + str(market_partner_check_digit(base12))


SUPPLIER_ID = code_number("990000000011")
GAS_SUPPLIER_ID = code_number("980000000011")
GRID_OPERATOR_ID = code_number("990000000022")
PREVIOUS_SUPPLIER_ID = code_number("990000000033")


def seed(engine: Engine) -> Tenant:
    """Create the demo tenant, its partners (reachable by file transfer) and a tariff once; later calls change
    nothing."""
    with Session(engine, expire_on_commit=False) as session:
        for partner_id, name, role in (
            (GRID_OPERATOR_ID, "Netz Demo GmbH", "grid_operator"),
            (PREVIOUS_SUPPLIER_ID, "Altlieferant Demo AG", "supplier"),
        ):
            if session.get(MarketPartner, partner_id) is None:
                session.add(MarketPartner(id=partner_id, name=name, role=role, division="strom"))
                session.flush()
            if not session.exec(
                select(PartnerCommunication).where(PartnerCommunication.partner_id == partner_id)
            ).first():
                session.add(
                    PartnerCommunication(
                        partner_id=partner_id,
                        valid_from=date(2020, 1, 1),
                        channel="drop",
                        address=f"outbox/{partner_id}",
                    )
                )
        session.commit()
        tenant = session.get(Tenant, DEMO_TENANT)
        if tenant is not None:
            return tenant
        tenant = Tenant(
            id=DEMO_TENANT,
            name="Stadtwerke Demo GmbH",
            market_partner_id=SUPPLIER_ID,
            gas_market_partner_id=GAS_SUPPLIER_ID,
            street="Marktplatz 1",
            postcode="10115",
            city="Berlin",
            phone="030 1234567",
            email="kundenservice@stadtwerke-demo.de",
        )
        session.add(tenant)
        session.flush()
        save_tariff_price(
            session,
            DEMO_TENANT,
            "STROM-BASIS",
            "Strom Basis",
            "strom",
            date(2024, 1, 1),
            Decimal("0.3245"),
            Decimal("131.88"),
        )
        session.commit()
        return tenant


def demo_order(today: date) -> ContractOrder:
    base = str(random.randint(1, 9)) + "".join(str(random.randint(0, 9)) for _ in range(9))
    number = f"DEMO-{random.randint(100000, 999999)}"
    return ContractOrder.model_validate(
        {
            "contract_number": number,
            "division": "strom",
            "tariff_code": "STROM-BASIS",
            "wished_start": (earliest_supply_start(today) + timedelta(days=14)).isoformat(),
            "annual_consumption_kwh": "2800",
            "transaction_reason": "E03",
            "customer": {
                "customer_number": f"K{number[5:]}",
                "first_name": "Erika",
                "last_name": "Musterfrau",
                "street": "Lindenstraße",
                "house_number": "12",
                "postcode": "10969",
                "city": "Berlin",
            },
            "location": {"malo_id": base + str(malo_check_digit(base)), "grid_operator_id": GRID_OPERATOR_ID},
            "previous_supplier": {"partner_id": PREVIOUS_SUPPLIER_ID, "customer_number": "A-4711", "cancel": True},
            "sepa": {
                "iban": "DE02120300000000202051",
                "account_holder": "Erika Musterfrau",
                "signed_on": today.isoformat(),
            },
        }
    )


async def _sent(engine: Engine, workflow_id: str, pid: str) -> MarketMessage:
    for _ in range(600):
        with Session(engine) as session:
            row = session.exec(
                select(MarketMessage)
                .where(
                    MarketMessage.workflow_id == workflow_id,
                    MarketMessage.direction == Direction.OUTBOUND,
                    MarketMessage.pruefidentifikator == pid,
                )
                .order_by(col(MarketMessage.id).desc())
            ).first()
        if row is not None:
            return row
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the process sent no {pid}; is a worker running?")


async def _answer(
    engine: Engine, client: Client, queue: str, tenant: Tenant, row: MarketMessage, pid: str, start: date
) -> None:
    request = parse_utilmd(parse_interchange(row.raw).messages[0])
    now = datetime.now(UTC)
    fields = {"answer_code": "A09", "answer_code_list": "E_0614", "end_at": day_start(start, "strom")}
    if pid == "55002":
        fields = {"answer_code": "A51", "answer_code_list": "E_0623", "start": day_start(start, "strom")}
    raw = reply_interchange(reply_to(request, pid, now, **fields), now)
    with Session(engine) as session:
        received = receive_interchange(session, tenant, raw)
    await start_processing(client, queue, tenant.id, received.message_id)
    console.print(f"  market answered with {pid}")


async def run_demo(engine: Engine, client: Client, task_queue: str, out_dir: Path) -> None:
    tenant = seed(engine)
    today = datetime.now(BERLIN).date()
    order = demo_order(today)
    with Session(engine, expire_on_commit=False) as session:
        contract, _ = intake(session, tenant, order, today)
        session.commit()
    workflow_id = await start_supply(client, task_queue, contract)
    console.print(f"demo: supply start [bold]{workflow_id}[/bold] for MaLo {order.location.malo_id}")
    await _answer(
        engine, client, task_queue, tenant, await _sent(engine, workflow_id, "55016"), "55017", order.wished_start
    )
    await _answer(
        engine, client, task_queue, tenant, await _sent(engine, workflow_id, "55001"), "55002", order.wished_start
    )
    status = await client.get_workflow_handle_for(SupplyStartWorkflow.run, workflow_id).result()
    with Session(engine) as session:
        letter = session.exec(select(Document).where(Document.contract_id == contract.id)).first()
    out_dir.mkdir(parents=True, exist_ok=True)
    if letter is not None:
        target = out_dir / f"{contract.contract_number}-welcome.pdf"
        target.write_bytes(letter.content)
        console.print(f"  welcome letter: {target}")
    console.print(
        f"demo: contract {contract.contract_number} is [bold]{status.state}[/bold] from {status.supply_start}"
    )
