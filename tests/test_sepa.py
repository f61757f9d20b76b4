import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sepaxml
import xmlschema

from services.sepa import (
    CREDIT_TRANSFER_SCHEMA,
    DIRECT_DEBIT_SCHEMA,
    Collection,
    Creditor,
    Debtor,
    SepaFileError,
    Transfer,
    credit_transfer_file,
    direct_debit_file,
    earliest_collection_date,
    is_target_business_day,
    sepa_text,
    validate_creditor_id,
)

XSD_DIR = Path(sepaxml.__file__).parent / "schemas"
DUE = date(2026, 4, 7)
CREDITOR = Creditor(
    name="Stadtwerke Nord GmbH", iban="DE89370400440532013000", bic="COBADEFFXXX", creditor_id="DE98ZZZ09999999999"
)


def collection(**overrides: Any) -> Collection:
    fields: dict[str, Any] = {
        "end_to_end_id": "E2E-1",
        "amount": Decimal("42.00"),
        "mandate_reference": "MDT-1001",
        "mandate_signed_on": date(2025, 3, 1),
        "debtor_name": "Erika Mustermann",
        "debtor_iban": "DE02120300000000202051",
        "sequence": "FRST",
        "remittance": "Abschlag April 2026",
    }
    return Collection(**(fields | overrides))


def parse(xml: bytes, schema: str) -> tuple[ET.Element, dict[str, str]]:
    """The document, independently validated against sepaxml's XSD, and its namespace map."""
    xmlschema.XMLSchema(str(XSD_DIR / f"{schema}.xsd")).validate(xml.decode())
    return ET.fromstring(xml), {"p": f"urn:iso:std:iso:20022:tech:xsd:{schema}"}


def text(element: ET.Element, path: str, ns: dict[str, str]) -> str:
    found = element.find(path, ns)
    assert found is not None and found.text is not None, path
    return found.text


# --- pain.008 ------------------------------------------------------------------------------------


def test_frst_and_rcur_are_separate_payment_blocks_with_exact_sums() -> None:
    collections = [
        collection(end_to_end_id="E2E-1", amount=Decimal("42.00"), sequence="FRST"),
        collection(
            end_to_end_id="E2E-2",
            amount=Decimal("17.35"),
            mandate_reference="MDT-1002",
            mandate_signed_on=date(2026, 3, 15),
            debtor_iban="DE02500105170137075030",
            debtor_bic="INGDDEFFXXX",
            sequence="FRST",
        ),
        collection(end_to_end_id="E2E-3", amount=Decimal("99.99"), mandate_reference="MDT-0007", sequence="RCUR"),
    ]
    root, ns = parse(direct_debit_file(CREDITOR, collections, DUE, "RUN-2026-04-07-1"), DIRECT_DEBIT_SCHEMA)

    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", ns)
    assert header is not None
    assert text(header, "p:MsgId", ns) == "RUN-2026-04-07-1"
    assert text(header, "p:NbOfTxs", ns) == "3"
    assert text(header, "p:CtrlSum", ns) == "159.34"

    blocks = {text(b, "p:PmtTpInf/p:SeqTp", ns): b for b in root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf", ns)}
    assert sorted(blocks) == ["FRST", "RCUR"]
    assert len(root.findall("p:CstmrDrctDbtInitn/p:PmtInf", ns)) == 2
    for block in blocks.values():
        assert text(block, "p:PmtTpInf/p:LclInstrm/p:Cd", ns) == "CORE"
        assert text(block, "p:ReqdColltnDt", ns) == "2026-04-07"
        assert text(block, "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", ns) == "DE98ZZZ09999999999"
        assert text(block, "p:CdtrAcct/p:Id/p:IBAN", ns) == "DE89370400440532013000"
    assert (text(blocks["FRST"], "p:NbOfTxs", ns), text(blocks["FRST"], "p:CtrlSum", ns)) == ("2", "59.35")
    assert (text(blocks["RCUR"], "p:NbOfTxs", ns), text(blocks["RCUR"], "p:CtrlSum", ns)) == ("1", "99.99")

    transactions = {
        text(tx, "p:PmtId/p:EndToEndId", ns): tx
        for block in blocks.values()
        for tx in block.iterfind("p:DrctDbtTxInf", ns)
    }
    second = transactions["E2E-2"]
    assert text(second, "p:InstdAmt", ns) == "17.35"
    amount = second.find("p:InstdAmt", ns)
    assert amount is not None and amount.attrib["Ccy"] == "EUR"
    assert text(second, "p:DrctDbtTx/p:MndtRltdInf/p:MndtId", ns) == "MDT-1002"
    assert text(second, "p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", ns) == "2026-03-15"
    assert text(second, "p:DbtrAgt/p:FinInstnId/p:BICFI", ns) == "INGDDEFFXXX"
    assert text(second, "p:DbtrAcct/p:Id/p:IBAN", ns) == "DE02500105170137075030"
    assert text(transactions["E2E-3"], "p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", ns) == "NOTPROVIDED"
    assert text(transactions["E2E-3"], "p:DrctDbtTx/p:MndtRltdInf/p:MndtId", ns) == "MDT-0007"


def test_awkward_amounts_stay_exact_to_the_cent() -> None:
    amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("1234567.89"), Decimal("0.01"), Decimal("1.1")]
    collections = [collection(end_to_end_id=f"E2E-{i}", amount=a) for i, a in enumerate(amounts)]
    root, ns = parse(direct_debit_file(CREDITOR, collections, DUE, "RUN-1"), DIRECT_DEBIT_SCHEMA)

    assert 0.1 + 0.2 != 0.3  # why no float may be involved
    assert [text(tx, "p:InstdAmt", ns) for tx in root.iter(f"{{{ns['p']}}}DrctDbtTxInf")] == [
        "0.10",
        "0.20",
        "1234567.89",
        "0.01",
        "1.10",
    ]
    assert text(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", ns) == str(sum(amounts)) == "1234569.30"


def test_german_umlauts_are_transliterated_not_dropped() -> None:
    debit = collection(debtor_name="JÜRGEN MÜLLER-Lüdenscheidt", remittance="Abschlag März, Größe & Übergabe Straße")
    root, ns = parse(direct_debit_file(CREDITOR, [debit], DUE, "RUN-1"), DIRECT_DEBIT_SCHEMA)

    tx = root.find("p:CstmrDrctDbtInitn/p:PmtInf/p:DrctDbtTxInf", ns)
    assert tx is not None
    assert text(tx, "p:Dbtr/p:Nm", ns) == "JUERGEN MUELLER-Luedenscheidt"
    assert text(tx, "p:RmtInf/p:Ustrd", ns) == "Abschlag Maerz, Groesse + Uebergabe Strasse"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ölhandel Aßmann", "Oelhandel Assmann"),
        ("STRAßE", "STRASSE"),
        ("Renée Ørsted", "Renee Orsted"),
        ("Rechnung #12  @ 5 €", "Rechnung 12 5 EUR"),
    ],
)
def test_sepa_text(value: str, expected: str) -> None:
    assert sepa_text(value) == expected


def test_remittance_is_limited_to_140_characters_after_transliteration() -> None:
    assert collection(remittance="x" * 140).remittance == "x" * 140
    with pytest.raises(ValueError, match="remittance"):
        collection(remittance="ä" * 71)  # 142 characters as "ae"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("debtor_iban", "DE89370400440532013001"),
        ("debtor_iban", "DE8937040044053201300"),
        ("debtor_bic", "COBADEFF1"),
        ("amount", Decimal("0.00")),
        ("amount", Decimal("-5.00")),
        ("amount", Decimal("1.005")),
        ("amount", Decimal("1000000000.00")),
        ("amount", 1.5),
        ("end_to_end_id", "E" * 36),
        ("end_to_end_id", "E2E#1"),
        ("end_to_end_id", "/E2E-1"),
        ("mandate_reference", ""),
        ("sequence", "RPRE"),
    ],
)
def test_invalid_collection_fields_are_rejected_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        collection(**{field: value})


@pytest.mark.parametrize("creditor_id", ["DE97ZZZ09999999999", "DE98ZZZ0999999999", "AT98ZZZ09999999999"])
def test_invalid_creditor_id_is_rejected(creditor_id: str) -> None:
    with pytest.raises(ValueError, match="creditor_id"):
        Creditor(name="Stadtwerke", iban="DE89370400440532013000", creditor_id=creditor_id)


def test_creditor_id_check_digits() -> None:
    assert validate_creditor_id("de98 zzz0 9999 9999 99") == "DE98ZZZ09999999999"
    assert validate_creditor_id("DE98ABC09999999999") == "DE98ABC09999999999"  # business code not in the check
    with pytest.raises(ValueError, match="check digits should be 98"):
        validate_creditor_id("DE12ZZZ09999999999")


def test_file_level_checks() -> None:
    with pytest.raises(ValueError, match="message_id"):
        direct_debit_file(CREDITOR, [collection()], DUE, "RUN_2026_04_07")
    with pytest.raises(ValueError, match="E2E-1 repeated"):
        direct_debit_file(CREDITOR, [collection(), collection()], DUE, "RUN-1")
    with pytest.raises(ValueError, match="mandate_signed_on"):
        direct_debit_file(CREDITOR, [collection(mandate_signed_on=date(2026, 4, 8))], DUE, "RUN-1")


def test_document_that_does_not_validate_is_refused() -> None:
    with pytest.raises(SepaFileError, match=r"pain\.008\.001\.08 RUN-1 does not validate.*PmtInf"):
        direct_debit_file(CREDITOR, [], DUE, "RUN-1")


def test_creditor_without_bic() -> None:
    creditor = Creditor(name="Stadtwerke Süd", iban="DE89370400440532013000", creditor_id="DE98ZZZ09999999999")
    root, ns = parse(direct_debit_file(creditor, [collection()], DUE, "RUN-1"), DIRECT_DEBIT_SCHEMA)
    block = root.find("p:CstmrDrctDbtInitn/p:PmtInf", ns)
    assert block is not None
    assert text(block, "p:CdtrAgt/p:FinInstnId/p:Othr/p:Id", ns) == "NOTPROVIDED"
    assert text(block, "p:Cdtr/p:Nm", ns) == "Stadtwerke Sued"


# --- pain.001 ------------------------------------------------------------------------------------


def test_two_refunds_validate() -> None:
    debtor = Debtor(name="Stadtwerke Nord GmbH", iban="DE89370400440532013000", bic="COBADEFFXXX")
    transfers = [
        Transfer(
            end_to_end_id="REF-1",
            amount=Decimal("12.30"),
            creditor_name="Jürgen Weiß",
            creditor_iban="DE02120300000000202051",
            remittance="Erstattung Guthaben Jahresabrechnung 2025",
        ),
        Transfer(
            end_to_end_id="REF-2",
            amount=Decimal("1234567.89"),
            creditor_name="Erika Mustermann",
            creditor_iban="DE02500105170137075030",
            creditor_bic="INGDDEFFXXX",
            remittance="Erstattung Guthaben",
        ),
    ]
    root, ns = parse(credit_transfer_file(debtor, transfers, date(2026, 4, 7), "REFUND-1"), CREDIT_TRANSFER_SCHEMA)

    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", ns) == "REFUND-1"
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", ns) == "2"
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", ns) == "1234580.19"
    block = root.find("p:CstmrCdtTrfInitn/p:PmtInf", ns)
    assert block is not None
    assert text(block, "p:ReqdExctnDt/p:Dt", ns) == "2026-04-07"
    assert text(block, "p:DbtrAgt/p:FinInstnId/p:BICFI", ns) == "COBADEFFXXX"
    txs = block.findall("p:CdtTrfTxInf", ns)
    assert [text(tx, "p:PmtId/p:EndToEndId", ns) for tx in txs] == ["REF-1", "REF-2"]
    assert [text(tx, "p:Amt/p:InstdAmt", ns) for tx in txs] == ["12.30", "1234567.89"]
    assert [text(tx, "p:Cdtr/p:Nm", ns) for tx in txs] == ["Juergen Weiss", "Erika Mustermann"]
    assert text(txs[1], "p:CdtrAgt/p:FinInstnId/p:BICFI", ns) == "INGDDEFFXXX"


def test_empty_credit_transfer_file_is_refused() -> None:
    debtor = Debtor(name="Stadtwerke Nord GmbH", iban="DE89370400440532013000", bic="COBADEFFXXX")
    with pytest.raises(SepaFileError, match=r"pain\.001\.001\.09 REFUND-1 does not validate.*PmtInf"):
        credit_transfer_file(debtor, [], date(2026, 4, 7), "REFUND-1")


# --- TARGET calendar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2026, 4, 2), True),
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 1), False),
        (date(2026, 12, 24), True),
        (date(2025, 12, 26), False),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
        (date(2026, 11, 28), False),  # Saturday
    ],
)
def test_target_business_days(day: date, open_: bool) -> None:
    assert is_target_business_day(day) is open_


@pytest.mark.parametrize(
    ("submitted_on", "earliest"),
    [
        (date(2026, 4, 1), date(2026, 4, 2)),
        (date(2026, 4, 2), date(2026, 4, 7)),  # over Good Friday, the weekend and Easter Monday
        (date(2026, 4, 3), date(2026, 4, 8)),  # received on Tuesday after Easter
        (date(2026, 4, 30), date(2026, 5, 4)),  # 1 May is a Friday
        (date(2026, 5, 1), date(2026, 5, 5)),
        (date(2025, 12, 24), date(2025, 12, 29)),  # 25 and 26 Dec on Thursday and Friday
        (date(2026, 12, 24), date(2026, 12, 28)),
        (date(2026, 12, 31), date(2027, 1, 4)),
        (date(2026, 11, 28), date(2026, 12, 1)),  # Saturday: received Monday
    ],
)
def test_earliest_collection_date_is_d_minus_1(submitted_on: date, earliest: date) -> None:
    assert earliest_collection_date(submitted_on, "FRST") == earliest
    assert earliest_collection_date(submitted_on, "RCUR") == earliest


def test_earliest_collection_date_rejects_unknown_sequence() -> None:
    with pytest.raises(ValueError, match="sequence"):
        earliest_collection_date(date(2026, 4, 1), "RPRE")
