"""The market-partner directory: imported from CSV (all or nothing), communication data over time, and our own
request to a partner without valid communication data waiting visibly in clearing until the directory has it."""

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from activities.market import DropFolderTransport, MarketActivities
from cli.main import app
from models.documents import Document
from models.messages import MarketMessage
from models.parties import MarketPartner, PartnerCommunication
from models.process import SendUtilmd
from services.partners import DirectoryError, communication_on, framework_contract_on, import_directory
from tests.end_of_supply import Supplied
from tests.factories import partner_id
from tests.flow import today
from tests.test_cli import cli_env  # noqa: F401 (fixture)

AS4 = "https://as4.netz-nord.example/msh"


def directory(*lines: str) -> str:
    return "\n".join(["partner_id;name;role;division;valid_from;channel;address;contact_name;contact_email", *lines])


def test_directory_import_is_all_or_nothing(engine: Engine) -> None:
    grid, supplier = partner_id("99"), partner_id("99")
    with Session(engine) as session:
        with pytest.raises(DirectoryError, match="line 3: channel"):
            import_directory(
                session,
                directory(
                    f"{grid};Netz Nord;grid_operator;strom;2026-01-01;as4;{AS4};Frau Meier;m@n.de",
                    f"{supplier};Lieferant Süd;supplier;strom;2026-01-01;fax;0800;;",
                ),
            )
        assert session.get(MarketPartner, grid) is None  # nothing of the broken file
        with pytest.raises(DirectoryError, match="line 2"):
            import_directory(session, directory("9900000000000;Falsch;grid_operator;strom;;;;;"))
        result = import_directory(
            session,
            directory(
                f"{grid};Netz Nord;grid_operator;strom;2026-01-01;as4;{AS4};Frau Meier;m@n.de",
                f"{grid};Netz Nord;grid_operator;strom;2027-01-01;email;edi@netz-nord.example;Herr Schulz;s@n.de",
                f"{supplier};Lieferant Süd;supplier;strom;;;;;",
            ),
        )
        session.commit()
        assert (result.partners, result.communications) == (2, 2)
        assert communication_on(session, grid, date(2025, 12, 31)) is None
        in_2026 = communication_on(session, grid, date(2026, 6, 1))
        in_2027 = communication_on(session, grid, date(2027, 6, 1))
        assert in_2026 is not None and in_2026.channel == "as4" and in_2026.contact_name == "Frau Meier"
        assert in_2027 is not None and in_2027.address == "edi@netz-nord.example"
        assert communication_on(session, supplier, date(2027, 6, 1)) is None  # no data: cannot be reached
        partner = session.get(MarketPartner, grid)
        assert partner is not None and partner.name == "Netz Nord"


def test_request_to_a_partner_without_communication_data_waits_in_clearing(
    engine: Engine, tmp_path: Path, client: object, settings: object
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))  # type: ignore[arg-type]
    grid = supplied.world.grid_operator.id
    with Session(engine) as session:  # the grid operator's data ended yesterday
        session.execute(
            text("UPDATE partner_communication SET valid_until = :day WHERE partner_id = :p"),
            {"day": today(), "p": grid},
        )
        session.commit()
    market = MarketActivities(engine, DropFolderTransport(tmp_path))
    request = SendUtilmd(
        tenant_id=supplied.world.tenant.id,
        contract_id=supplied.contract_id,
        kind="deregistration",
        start=today() + timedelta(days=30),
        business_key=f"test-route:{supplied.contract_id}",
        workflow_id=f"test/{supplied.contract_id}",
    )
    with pytest.raises(ApplicationError, match="no communication data") as refused:
        market.send_utilmd(request)
    assert refused.value.type == "NoCommunicationData" and not refused.value.non_retryable
    with Session(engine) as session:
        message = session.exec(select(MarketMessage).where(MarketMessage.business_key == request.business_key)).one()
    assert message.state == "clearing" and "partner directory" in (message.error or "")
    assert not list(tmp_path.rglob("*.edi"))  # nothing left the house
    with Session(engine) as session:
        session.add(
            PartnerCommunication(partner_id=grid, valid_from=today(), channel="as4", address="https://as4.example")
        )
        session.commit()
    sent = market.send_utilmd(request)  # the retry, once the directory has the data
    with Session(engine) as session:
        message = session.exec(select(MarketMessage).where(MarketMessage.business_key == request.business_key)).one()
    assert message.state == "sent" and message.error is None and sent.receiver == grid
    [written] = list(tmp_path.rglob("*.edi"))
    route = json.loads(written.with_name(written.stem + ".route.json").read_text())
    assert route == {"channel": "as4", "address": "https://as4.example", "valid_from": str(today())}


@pytest.mark.usefixtures("cli_env")
def test_partners_import_through_the_cli(engine: Engine, tmp_path: Path) -> None:
    grid = partner_id("99")
    good = tmp_path / "partner.csv"
    good.write_text(directory(f"{grid};Netz West;grid_operator;strom;2026-01-01;drop;/srv/edi/west;;"))
    result = CliRunner().invoke(app, ["partners", "import", str(good)])
    assert result.exit_code == 0 and "1 partners, 1 communication" in result.output, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name;role\nX;grid_operator\n")
    refused = CliRunner().invoke(app, ["partners", "import", str(bad)])
    assert refused.exit_code == 1 and "header" in refused.output
    with Session(engine) as session:
        assert communication_on(session, grid, date(2026, 2, 1)) is not None


@pytest.mark.usefixtures("cli_env")
def test_framework_contract_is_archived_with_its_dates(
    engine: Engine, tmp_path: Path, client: object, settings: object
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))  # type: ignore[arg-type]
    grid, tenant = supplied.world.grid_operator.id, supplied.world.tenant.id
    pdf = tmp_path / "nnrv.pdf"
    pdf.write_bytes(b"%PDF-1.4 Netznutzungsrahmenvertrag")
    args = ["partners", "contract", str(pdf), "--tenant", tenant, "--partner", grid, "--valid-from", "2025-01-01"]
    result = CliRunner().invoke(app, [*args, "--valid-until", "2027-01-01"])
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(app, [*args[:-1], "2027-02-01", "--valid-until", "2027-01-01"])
    assert bad.exit_code == 1 and "end after it starts" in bad.output
    with Session(engine) as session:
        current = framework_contract_on(session, tenant, grid, "grid_usage", date(2026, 6, 1))
        assert (
            current is not None and framework_contract_on(session, tenant, grid, "grid_usage", date(2027, 1, 1)) is None
        )
        document = session.get(Document, current.document_id)
    assert document is not None and document.content == pdf.read_bytes() and document.kind == "framework_contract"
