"""Checking a grid operator's invoice (INVOIC) as the supplier: the decision trees E_0406 (Netznutzung) and, for
Mehr-/Mindermengen, the quantity comparison of E_0801. Pure: the facts are gathered by the service.

The checks run in the order of the tree and stop at the first rejection (an invoice is accepted or rejected as a
whole, GPKE "Alles oder Nichts"). Header rejections are answered with REMADV 33003, position rejections with 33004,
MMM and gas invoices with 33002. Borderline cases (a quantity within the tenant's tolerance, no quantity of ours to
compare with) go to a clerk.

Codes (E_0406, FV2510): A01/A02 supplier not assigned to the MaLo for a day / the whole period, A04 grid operator
not assigned, A07 invoice date in the future, A09 invoice number used before, A10 payment term too short (due
< 10 WT after receipt), A12 period billed before, A18 no price sheet, A23 arithmetic error in a position, A24 wrong
VAT rate, A25 position ends after the period, A33 quantity differs from ours, A35 price differs from the price
sheet, A90 other header error (sums). For MMM (E_0801, whose steps are not published in the tree file) the same
header codes are used; this is marked unverified.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from edifact.invoic import InvoicMessage, check_arithmetic
from rules.budget import vat_rate
from rules.calendar import BERLIN, add_working_days, is_working_day, supply_date_from_instant

MINIMUM_PAYMENT_TERM_WT = 10
ANSWER_BEFORE_DUE_WT = 4
"""GPKE: the REMADV is sent at the latest on the 4th working day before the payment date."""
MMM_PIDS = frozenset({"31005", "31006"})
CHECKED_PIDS = frozenset({"31002", "31004", "31005"})
"""Netznutzung, Storno and MMM invoices are checked; the others (Abschlag, MSB, self-billed MMM, ...) go to a
clerk."""
ENERGY_UNITS = frozenset({"KWH", "MWH"})


@dataclass(frozen=True)
class Price:
    valid_from: date
    unit_price: Decimal
    price_unit: str = ""


@dataclass(frozen=True)
class Supply:
    start: date
    end: date | None
    """exclusive; None: open"""


@dataclass
class InvoiceFacts:
    """What we know about the invoice's market location and the sender's earlier invoices."""

    received_on: date
    division: str
    supplies: list[Supply]
    """Our supply periods at the MaLo."""
    grid_operator: str | None
    """The MaLo's grid operator in our master data."""
    number_used: bool
    """The sender used this invoice number before (another message)."""
    billed_before: bool
    """The period overlaps an accepted, not cancelled invoice of the same kind."""
    prices: dict[str, list[Price]]
    """The sender's price sheet per article id, oldest first."""
    our_kwh: Decimal | None
    """Energy at the MaLo in the period from our readings or load profiles; None when we have none."""
    forecast_kwh: Decimal | None = None
    """MMM: the quantity allocated by the forecast (standard load profile) for the period."""
    tolerance_percent: Decimal = Decimal("1.0")


@dataclass
class Verdict:
    outcome: str
    """accept, reject or clearing"""
    code: str = ""
    code_list: str = ""
    text: str = ""
    position: str | None = None
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def answer_pid(self) -> str:
        if self.outcome == "accept":
            return "33001"
        if self.code_list != "E_0406":
            return "33002"
        return "33004" if self.position else "33003"


def _reject(code: str, text: str, tree: str, position: str | None = None, **notes: object) -> Verdict:
    return Verdict("reject", code, tree, text, position, dict(notes))


def answer_due(due_date: date) -> date:
    """The last day for our REMADV: the 4th working day before the payment date."""
    day = due_date
    for _ in range(ANSWER_BEFORE_DUE_WT):
        day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
    return day


def check(invoice: InvoicMessage, facts: InvoiceFacts) -> Verdict:
    """The verdict on one invoice (not a Storno, see `check_storno`)."""
    mmm = invoice.pruefidentifikator in MMM_PIDS
    tree = "E_0801" if mmm else "E_0406"
    start, end = _period(invoice, facts.division)
    if start is None or end is None or end <= start:
        return _reject("A90", "Abrechnungszeitraum fehlt oder ist leer.", tree)
    header = _header(invoice, facts, start, end, tree)
    if header is not None:
        return header
    positions = _positions(invoice, facts, start, end, tree, mmm)
    if positions is not None:
        return positions
    sums = [p for p in check_arithmetic(invoice) if not p.startswith("position ")]
    if sums:
        return _reject("A90", "Summen der Rechnung stimmen nicht: " + "; ".join(sums), tree)
    return _mmm_quantity(invoice, facts) if mmm else _quantity(invoice, facts, tree)


def _period(invoice: InvoicMessage, division: str) -> tuple[date | None, date | None]:
    start = supply_date_from_instant(invoice.period_start, division) if invoice.period_start else None
    end = supply_date_from_instant(invoice.period_end, division) if invoice.period_end else None
    return start, end


def _header(invoice: InvoicMessage, facts: InvoiceFacts, start: date, end: date, tree: str) -> Verdict | None:
    covered = _covered_days(facts.supplies, start, end)
    if covered == 0:
        return _reject(
            "A01", "Der LF ist der Marktlokation nicht einen Tag des Abrechnungszeitraumes zugeordnet.", tree
        )
    if covered < (end - start).days:
        return _reject("A02", "Der LF ist dem gesamten Abrechnungszeitraum nicht der Marktlokation zugeordnet.", tree)
    if facts.grid_operator is not None and facts.grid_operator != invoice.sender:
        return _reject(
            "A04", "Der NB ist der Marktlokation nicht einen Tag des Abrechnungszeitraumes zugeordnet.", tree
        )
    invoice_date = invoice.document_date.astimezone(BERLIN).date()
    if invoice_date > facts.received_on:
        return _reject("A07", "Rechnungsdatum liegt in der Zukunft.", tree)
    if facts.number_used:
        return _reject("A09", "Rechnungsnummer wurde bereits verwendet.", tree)
    if invoice.due_date is None:
        return _reject("A90", "Das Fälligkeitsdatum (DTM+265) fehlt.", tree)
    earliest = add_working_days(facts.received_on, MINIMUM_PAYMENT_TERM_WT)
    if invoice.due_date.astimezone(BERLIN).date() < earliest:
        return _reject(
            "A10", f"Das Zahlungsziel ist unterschritten (frühestens {earliest:%d.%m.%Y}).", tree, earliest=earliest
        )
    if facts.billed_before:
        return _reject("A12", "Abrechnungszeitraum wird doppelt abgerechnet.", tree)
    if not facts.prices and invoice.lines:
        return _reject("A18", "Dem LF liegt kein Preisblatt Netznutzung vor.", tree)
    return None


def _covered_days(supplies: list[Supply], start: date, end: date) -> int:
    days = 0
    for supply in supplies:
        first = max(start, supply.start)
        last = min(end, supply.end or end)
        days += max((last - first).days, 0)
    return days


def _positions(
    invoice: InvoicMessage, facts: InvoiceFacts, start: date, end: date, tree: str, mmm: bool
) -> Verdict | None:
    arithmetic = {p.split(" ", 2)[1]: p for p in check_arithmetic(invoice) if p.startswith("position ")}
    for line in invoice.lines:
        if line.position in arithmetic:
            return _reject("A23", f"Ein Rechenfehler liegt vor: {arithmetic[line.position]}", tree, line.position)
        division = facts.division
        line_start = supply_date_from_instant(line.period_start, division) if line.period_start else start
        line_end = supply_date_from_instant(line.period_end, division) if line.period_end else end
        if line_end > end:
            return _reject(
                "A25", "Das Enddatum dieser Position > das Enddatum des Abrechnungszeitraums.", tree, line.position
            )
        if line.tax is not None and line.tax.rate != vat_rate(line_start, facts.division) * 100:
            return _reject("A24", f"Der Umsatzsteuersatz {line.tax.rate} % ist nicht korrekt.", tree, line.position)
        if line.unit_price is None:
            continue
        price = _price_on(facts.prices.get(line.article_id, []), line_start)
        if price is None:
            if mmm:
                continue  # the MMM price is published by the grid operator monthly; not kept as a sheet here
            return _reject(
                "A35", f"Für den Artikel {line.article_id} liegt kein Preis im Preisblatt vor.", tree, line.position
            )
        if price.unit_price != line.unit_price:
            return _reject(
                "A35",
                f"Der Preis für den Artikel {line.article_id} ist falsch: {line.unit_price} statt {price.unit_price}.",
                tree,
                line.position,
                expected=str(price.unit_price),
            )
    return None


def _price_on(prices: list[Price], day: date) -> Price | None:
    valid = [p for p in prices if p.valid_from <= day]
    return valid[-1] if valid else None


def billed_kwh(invoice: InvoicMessage) -> Decimal:
    """The energy billed: the sum of the positions' quantities in kWh (signed by QTY+Z17)."""
    total = Decimal(0)
    for line in invoice.lines:
        if line.quantity is None or (line.quantity_unit or "").upper() not in ENERGY_UNITS:
            continue
        factor = Decimal(1000) if (line.quantity_unit or "").upper() == "MWH" else Decimal(1)
        total += line.quantity * factor * (line.sign if line.sign is not None else Decimal(1))
    return total


def _off_by(billed: Decimal, ours: Decimal) -> Decimal:
    if ours == 0:
        return Decimal(0) if billed == 0 else Decimal(100)
    return abs(billed - ours) / abs(ours) * 100


def _quantity(invoice: InvoicMessage, facts: InvoiceFacts, tree: str) -> Verdict:
    billed = billed_kwh(invoice)
    work = [line for line in invoice.lines if (line.quantity_unit or "").upper() in ENERGY_UNITS]
    if not work:
        return Verdict("accept", notes={"billed_kwh": str(billed)})
    notes: dict[str, object] = {
        "billed_kwh": str(billed),
        "our_kwh": None if facts.our_kwh is None else str(facts.our_kwh),
    }
    if facts.our_kwh is None:
        return Verdict("clearing", text="Keine eigenen Mengen für den Abrechnungszeitraum vorhanden.", notes=notes)
    off = _off_by(billed, facts.our_kwh)
    notes["difference_percent"] = str(off.quantize(Decimal("0.01")))
    if off == 0:
        return Verdict("accept", notes=notes)
    if off <= facts.tolerance_percent:
        return Verdict(
            "clearing",
            code="A33",
            code_list=tree,
            text=f"Menge {billed} kWh weicht um {off:.2f} % von unserer Menge {facts.our_kwh} kWh ab "
            "(innerhalb der Toleranz).",
            position=work[0].position,
            notes=notes,
        )
    return _reject(
        "A33",
        f"Die Menge {billed} kWh entspricht nicht unserer Menge {facts.our_kwh} kWh ({off:.2f} % Abweichung).",
        tree,
        work[0].position,
        **notes,
    )


def _mmm_quantity(invoice: InvoicMessage, facts: InvoiceFacts) -> Verdict:
    """Mehr-/Mindermenge billed against ours: measured minus allocated (forecast) energy in the period."""
    billed = billed_kwh(invoice)
    notes: dict[str, object] = {"billed_kwh": str(billed)}
    if facts.our_kwh is None or facts.forecast_kwh is None:
        return Verdict("clearing", text="Keine eigenen Mengen zum Vergleich der Mehr-/Mindermenge.", notes=notes)
    ours = facts.our_kwh - facts.forecast_kwh
    off = _off_by(billed, ours)
    notes |= {
        "measured_kwh": str(facts.our_kwh),
        "allocated_kwh": str(facts.forecast_kwh),
        "our_mmm_kwh": str(ours),
        "difference_kwh": str(billed - ours),
        "difference_percent": str(off.quantize(Decimal("0.01"))),
    }
    if off <= facts.tolerance_percent:
        return Verdict("accept", notes=notes)
    return Verdict(
        "clearing",
        code="A99",
        code_list="E_0801",
        text=f"Mehr-/Mindermenge {billed} kWh weicht von unserer ({ours} kWh) um {off:.2f} % ab.",
        notes=notes,
    )


def check_storno(invoice: InvoicMessage, cancelled_state: str | None) -> Verdict:
    """A cancellation (BGM 457/Z25) of an earlier invoice: confirmed if we know the invoice and it is not cancelled
    yet (E_0804 for MMM; code unverified)."""
    tree = "E_0804" if invoice.pruefidentifikator in MMM_PIDS else "E_0406"
    if not invoice.cancels:
        return _reject("A90", "Die Stornorechnung nennt keine stornierte Rechnung (RFF+OI).", tree)
    if cancelled_state is None:
        return _reject("A99", f"Die stornierte Rechnung {invoice.cancels} liegt uns nicht vor.", tree)
    if cancelled_state == "cancelled":
        return _reject("A99", f"Die Rechnung {invoice.cancels} wurde bereits storniert.", tree)
    return Verdict("accept", notes={"cancels": invoice.cancels, "cancelled_state": cancelled_state})
