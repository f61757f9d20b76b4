"""Account assignment (Kontierung): which accounts a business event books to, in one place.

A rule lists, per document type, the lines it produces: which account (a GL role, or the debtor or creditor
of the case), which side, and which component of the amounts. The GL numbers come from the tenant's chart
(``DEFAULT_CHART`` unless the tenant sets its own per division).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Side = Literal["debit", "credit"]
PARTY = ("debtor", "creditor")


@dataclass(frozen=True)
class Leg:
    account: str
    """A GL role (``revenue``, ``vat``, ...) or ``debtor`` / ``creditor``."""
    side: Side
    component: str
    """Which amount: ``net``, ``vat``, ``tax`` (electricity/energy tax), ``gross`` or ``amount``."""
    open_item: bool = False


DEFAULT_CHART: dict[str, tuple[str, str]] = {
    "debtor_control": ("1400", "Forderungen aus Energielieferungen"),
    "creditor_control": ("1600", "Verbindlichkeiten Netzbetreiber"),
    "revenue": ("8400", "Umsatzerlöse Energie"),
    "vat": ("1776", "Umsatzsteuer 19 %"),
    "electricity_tax": ("1741", "Stromsteuer"),
    "energy_tax": ("1742", "Energiesteuer"),
    "bank": ("1200", "Bank"),
    "clearing": ("1590", "Klärungskonto Zahlungen"),
    "doubtful": ("1460", "Zweifelhafte Forderungen"),
    "write_off": ("6930", "Forderungsverluste"),
    "grid_usage": ("5100", "Netznutzung"),
    "mmm": ("5110", "Mehr-/Mindermengen"),
    "fees": ("4830", "Mahn- und Rücklastschriftgebühren"),
    "accrual": ("1300", "Abgrenzung nicht abgerechneter Verbrauch"),
    "instalments": ("1719", "Abschlagsanforderungen"),
    "transit": ("1360", "Geldtransit Lastschriften"),
    "bank_charges": ("6855", "Nebenkosten des Geldverkehrs"),
}

RULES: dict[str, tuple[Leg, ...]] = {
    "bill": (
        Leg("debtor", "debit", "gross", open_item=True),
        Leg("revenue", "credit", "net"),
        Leg("tax", "credit", "tax"),
        Leg("vat", "credit", "vat"),
    ),
    "credit_note": (
        Leg("revenue", "debit", "net"),
        Leg("tax", "debit", "tax"),
        Leg("vat", "debit", "vat"),
        Leg("debtor", "credit", "gross", open_item=True),
    ),
    "instalment_request": (Leg("debtor", "debit", "amount", open_item=True), Leg("instalments", "credit", "amount")),
    "instalment_settlement": (
        Leg("instalments", "debit", "amount"),
        Leg("debtor", "credit", "amount", open_item=True),
    ),
    "payment": (Leg("bank", "debit", "amount"), Leg("debtor", "credit", "amount")),
    "direct_debit": (Leg("transit", "debit", "amount"), Leg("debtor", "credit", "amount")),
    "collection": (Leg("bank", "debit", "amount"), Leg("transit", "credit", "amount")),
    "bank_charge": (Leg("bank_charges", "debit", "amount"), Leg("bank", "credit", "amount")),
    "charge_passed_on": (Leg("debtor", "debit", "amount", open_item=True), Leg("bank_charges", "credit", "amount")),
    "refund": (Leg("debtor", "debit", "amount", open_item=True), Leg("bank", "credit", "amount")),
    "clearing_assignment": (Leg("clearing", "debit", "amount"), Leg("debtor", "credit", "amount")),
    "clearing_refund": (Leg("clearing", "debit", "amount"), Leg("bank", "credit", "amount")),
    "unassigned_payment": (Leg("bank", "debit", "amount"), Leg("clearing", "credit", "amount")),
    "return_debit": (Leg("debtor", "debit", "amount", open_item=True), Leg("bank", "credit", "amount")),
    "fee": (Leg("debtor", "debit", "amount", open_item=True), Leg("fees", "credit", "amount")),
    "write_off": (
        Leg("write_off", "debit", "net"),
        Leg("write_off", "debit", "tax"),
        Leg("vat", "debit", "vat"),
        Leg("debtor", "credit", "gross"),
    ),
    "grid_invoice": (
        Leg("grid_usage", "debit", "net"),
        Leg("grid_usage", "debit", "tax"),
        Leg("vat", "debit", "vat"),
        Leg("creditor", "credit", "gross", open_item=True),
    ),
    "mmm_invoice": (
        Leg("mmm", "debit", "net"),
        Leg("mmm", "debit", "tax"),
        Leg("vat", "debit", "vat"),
        Leg("creditor", "credit", "gross", open_item=True),
    ),
    "creditor_payment": (Leg("creditor", "debit", "amount", open_item=True), Leg("bank", "credit", "amount")),
    "accrual": (
        Leg("accrual", "debit", "net"),
        Leg("accrual", "debit", "tax"),
        Leg("revenue", "credit", "net"),
        Leg("tax", "credit", "tax"),
    ),
}
"""The account ``tax`` stands for the division's tax role: electricity tax for Strom, energy tax for Gas.
A bill settles the instalment requests of its period: their sum is credited to the debtor, clearing what is
still unpaid of them and, for what was paid, the bill itself. A write-off keeps the electricity/energy tax as
a loss and corrects the VAT (§17 UStG). An accrual of unbilled consumption books revenue and electricity/energy
tax without VAT, which arises with the bill."""

TAX_ROLE = {"strom": "electricity_tax", "gas": "energy_tax"}


@dataclass(frozen=True)
class Assigned:
    account: str
    """The resolved GL role, or ``debtor`` / ``creditor``."""
    side: Side
    amount: Decimal
    open_item: bool


def assign(doc_type: str, division: str, amounts: dict[str, Decimal]) -> list[Assigned]:
    """The lines of a document type for these amounts; zero components are left out.

    ``gross`` is computed as net + tax + vat when not given. Raises ValueError for an unknown document type,
    a missing component or a negative amount.
    """
    rule = RULES.get(doc_type)
    if rule is None:
        raise ValueError(f"no account assignment for document type {doc_type!r}")
    values = dict(amounts)
    if "gross" not in values and "net" in values:
        values["gross"] = values["net"] + values.get("tax", Decimal("0")) + values.get("vat", Decimal("0"))
    lines = []
    for leg in rule:
        if leg.component not in values:
            if leg.component in ("tax", "vat"):
                continue
            raise ValueError(f"{doc_type} needs the amount {leg.component!r}")
        amount = values[leg.component]
        if amount < 0:
            raise ValueError(f"{doc_type}: {leg.component} {amount} is negative; book the opposite document type")
        if amount == 0:
            continue
        account = TAX_ROLE[division] if leg.account == "tax" else leg.account
        lines.append(Assigned(account, leg.side, amount, leg.open_item))
    debit = sum(line.amount for line in lines if line.side == "debit")
    credit = sum(line.amount for line in lines if line.side == "credit")
    if debit != credit:
        raise ValueError(f"{doc_type}: the amounts do not add up (debit {debit}, credit {credit})")
    return lines
