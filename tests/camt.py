"""camt.053.001.02 statements for tests, in the banks' layout (DK DFÜ Anlage 3): our own test input."""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass
class Tx:
    amount: Decimal
    end_to_end_id: str = "NOTPROVIDED"
    remittance: str = ""
    name: str = "Erika Mustermann"
    iban: str = "DE89370400440532013000"
    return_reason: str | None = None
    charges: Decimal | None = None


@dataclass
class Entry:
    credit: bool
    transactions: list[Tx] = field(default_factory=list)


def statement(own_iban: str, day: date, entries: list[Entry]) -> bytes:
    """A booked camt.053 with these entries; a debit entry with a return reason is a Rücklastschrift."""
    body = "".join(_entry(entry, day, own_iban) for entry in entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>{uuid.uuid4().hex[:20]}</MsgId><CreDtTm>{day.isoformat()}T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{uuid.uuid4().hex[:16]}</Id>
      <CreDtTm>{day.isoformat()}T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{own_iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>
{body}    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def _entry(entry: Entry, day: date, own_iban: str) -> str:
    gross = sum((t.amount + (t.charges or 0) for t in entry.transactions), Decimal("0.00"))
    details = "".join(_details(t, entry.credit, own_iban) for t in entry.transactions)
    batch = f"<Btch><NbOfTxs>{len(entry.transactions)}</NbOfTxs></Btch>" if len(entry.transactions) > 1 else ""
    return f"""      <Ntry>
        <Amt Ccy="EUR">{gross}</Amt>
        <CdtDbtInd>{"CRDT" if entry.credit else "DBIT"}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>
        <ValDt><Dt>{day.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>{uuid.uuid4().hex[:16]}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>{batch}{details}</NtryDtls>
      </Ntry>
"""


def _details(tx: Tx, credit: bool, own_iban: str) -> str:
    total = tx.amount + (tx.charges or 0)
    if tx.charges:
        amounts = f"<InstdAmt><Amt Ccy='EUR'>{tx.amount}</Amt></InstdAmt><TxAmt><Amt Ccy='EUR'>{total}</Amt></TxAmt>"
        charges = f"<Chrgs><Amt Ccy='EUR'>{tx.charges}</Amt></Chrgs>"
    else:
        amounts, charges = f"<TxAmt><Amt Ccy='EUR'>{tx.amount}</Amt></TxAmt>", ""
    parties = (
        f"<Dbtr><Nm>{tx.name}</Nm></Dbtr><DbtrAcct><Id><IBAN>{tx.iban}</IBAN></Id></DbtrAcct>"
        f"<Cdtr><Nm>Stadtwerke</Nm></Cdtr><CdtrAcct><Id><IBAN>{own_iban}</IBAN></Id></CdtrAcct>"
    )
    ret = f"<RtrInf><Rsn><Cd>{tx.return_reason}</Cd></Rsn></RtrInf>" if tx.return_reason else ""
    remittance = f"<RmtInf><Ustrd>{tx.remittance}</Ustrd></RmtInf>" if tx.remittance else ""
    return (
        f"<TxDtls><Refs><EndToEndId>{tx.end_to_end_id}</EndToEndId></Refs><AmtDtls>{amounts}</AmtDtls>"
        f"{charges}<RltdPties>{parties}</RltdPties>{remittance}{ret}</TxDtls>"
    )
