from sqlalchemy import Engine
from temporalio.client import Client

from core.settings import Settings
from tests import market
from tests.cases import Case
from tests.factories import partner_id
from tests.flow import contract_row
from worker import build_worker


async def test_scratch(engine: Engine, client: Client, settings: Settings) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        row = await case.sent("55016")
        await case.deliver(market.answer(row, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start))
        row = await case.sent("55001")
        await case.deliver(market.answer(row, "55003", answer_code="A06", answer_code_list="E_0622"))
        task = await case.task("registration_rejected")
        print(await case.decide(task, "correct_and_resend", {"grid_operator_id": partner_id("99")}))
        try:
            print("RESULT", await case.result())
        except Exception as e:
            print("FAILED", repr(e), repr(e.__cause__))
    print(contract_row(engine, case.contract_id).state, case.tasks())
