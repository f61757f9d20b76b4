"""End of supply (Lieferende): rules for the old supplier (LFA) and for our own customers' cancellations.

Pure rules, no I/O (REFERENCE 2.1-2.3, 3, 4.3): the end of a customer's cancellation, our answers to a new
supplier's cancellation (55016/44016), to the grid operator's announcement of a supply end (55007/44007) and to its
request to end our assignment (55010/44010), the deadlines of these exchanges, the wait for the final reading
(Messdateninkasso) and the latest date of the final bill.

Conventions:

* Every end date is exclusive: the first day without supply. Its start (Strom 00:00, Gas 06:00 Berlin,
  `rules.calendar.day_start`) is the Zuordnungsende, the DTM+93 of UTILMD and `Contract.supply_end`; the last day
  supplied is the day before, and letters say "mit Ablauf des <end - 1 day>". `minimum_term_until` follows the same
  convention: the earliest date on which the contract may end.
* Dates are Berlin dates at day granularity. A notice is kept if received_on + notice_period_days <= end. Once the
  minimum term is over the contract may end on any day the notice allows (current law, § 309 Nr. 9 BGB; renewal
  clauses of old contracts are not modelled).
* Gas takes the decisions of Strom; only the answer codes differ. Strom codes are those of the EBD (E_0614, E_0609,
  E_0624), gas codes those of the UTILMD Gas AHB code lists; entries marked "unverified" are not confirmed by a
  sample or the AHB. The gas deadlines are assumed equal to Strom's (REFERENCE 3: GeLi Gas 2.0 unverified).
"""

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.calendar import add_working_days, answer_deadline, latest_transmission_day, normalise_division

_ONE_DAY = timedelta(days=1)


def _de(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _check_notice(notice_period_days: int) -> None:
    if notice_period_days < 0:
        raise ValueError(f"notice period must not be negative, got {notice_period_days} days")


# --- customer cancellation -----------------------------------------------------------------------


class CancellationDecision(BaseModel):
    """When a cancellation ends the contract; `text` is the sentence for the confirmation letter."""

    model_config = ConfigDict(frozen=True)

    end: date = Field(description="first day without supply (exclusive)")
    requested_kept: bool = Field(description="the requested date holds; always True for 'nächstmöglich'")
    text: str


def earliest_end(received_on: date, notice_period_days: int, minimum_term_until: date | None = None) -> date:
    """Earliest end for a notice received on `received_on`: when the notice has run and the minimum term is over."""
    _check_notice(notice_period_days)
    notice_end = received_on + timedelta(days=notice_period_days)
    return notice_end if minimum_term_until is None else max(notice_end, minimum_term_until)


def cancellation_end(
    received_on: date, requested_end: date | None, notice_period_days: int, minimum_term_until: date | None = None
) -> CancellationDecision:
    """End of the contract for a cancellation received on `received_on`; `requested_end` None means 'nächstmöglich'.

    The requested end holds if the notice is kept and the minimum term is over; otherwise the contract ends on the
    earliest possible date.
    """
    earliest = earliest_end(received_on, notice_period_days, minimum_term_until)
    if requested_end is None or requested_end >= earliest:
        end, which = (earliest, "nächstmöglichen") if requested_end is None else (requested_end, "gewünschten")
        text = (
            f"Wir bestätigen Ihre Kündigung zum {which} Termin: Ihr Vertrag endet mit Ablauf des {_de(end - _ONE_DAY)}."
        )
        return CancellationDecision(end=end, requested_kept=True, text=text)
    if minimum_term_until is not None and minimum_term_until == earliest:
        why = f"wegen der Mindestvertragslaufzeit bis zum {_de(minimum_term_until - _ONE_DAY)}"
    else:
        why = (
            f"wegen der Kündigungsfrist von {notice_period_days} Tagen ab Eingang Ihrer Kündigung am {_de(received_on)}"
        )
    text = (
        f"Eine Beendigung mit Ablauf des {_de(requested_end - _ONE_DAY)} ist {why} nicht möglich; "
        f"Ihr Vertrag endet zum nächstmöglichen Termin mit Ablauf des {_de(earliest - _ONE_DAY)}."
    )
    return CancellationDecision(end=earliest, requested_kept=False, text=text)


MOVE_NOTICE_DAYS = 42
"""§41b Abs. 5 EnWG: a household customer who moves may end the contract with six weeks' notice."""


def move_end(received_on: date, moved_out_on: date, moving_with_us: bool) -> CancellationDecision:
    """End of supply at the old address after a move; `moved_out_on` is the first day not living there.

    Moving with us, the supply there ends on the move-out day (the contract goes on at the new address); otherwise
    the special right to cancel on a move applies: six weeks' notice, no minimum term. The supply cannot end
    before the day after the move was reported.
    """
    earliest = received_on + _ONE_DAY if moving_with_us else received_on + timedelta(days=MOVE_NOTICE_DAYS)
    if moved_out_on >= earliest:
        text = (
            "Wir bestätigen Ihren Auszug: Ihre Belieferung an der bisherigen Adresse endet mit Ablauf des "
            f"{_de(moved_out_on - _ONE_DAY)}."
        )
        return CancellationDecision(end=moved_out_on, requested_kept=True, text=text)
    why = (
        "da uns Ihr Umzug erst danach erreicht hat"
        if moving_with_us
        else f"wegen der Kündigungsfrist bei Umzug von sechs Wochen ab Eingang Ihrer Mitteilung am {_de(received_on)}"
    )
    text = (
        f"Eine Beendigung mit Ablauf des {_de(moved_out_on - _ONE_DAY)} ist {why} nicht möglich; "
        f"Ihre Belieferung an der bisherigen Adresse endet mit Ablauf des {_de(earliest - _ONE_DAY)}."
    )
    return CancellationDecision(end=earliest, requested_kept=False, text=text)


def price_change_end(received_on: date, change_on: date) -> CancellationDecision | None:
    """A cancellation because of an announced price change (§41 Abs. 5 EnWG): the supply ends when the new prices
    would take effect, without notice or minimum term; None when it arrived too late for the special right."""
    if received_on >= change_on:
        return None
    text = (
        f"Wir bestätigen Ihre Kündigung wegen der Preisänderung zum {_de(change_on)}: Ihr Vertrag endet mit Ablauf "
        f"des {_de(change_on - _ONE_DAY)}, die neuen Preise gelten für Sie nicht."
    )
    return CancellationDecision(end=change_on, requested_kept=True, text=text)


# --- answers to market partners ------------------------------------------------------------------


class ContractTerms(BaseModel):
    """What the answer to a cancellation needs to know about our contract at the market location."""

    model_config = ConfigDict(frozen=True)

    supply_start: date
    supply_end: date | None = Field(default=None, description="fixed end (exclusive), if any")
    notice_period_days: int = Field(ge=0)
    minimum_term_until: date | None = Field(default=None, description="end of the minimum term (exclusive)")

    @model_validator(mode="after")
    def _dates_after_start(self) -> "ContractTerms":
        for name in ("supply_end", "minimum_term_until"):
            value = getattr(self, name)
            if value is not None and value <= self.supply_start:
                raise ValueError(f"{name} {value} must be after supply_start {self.supply_start}")
        return self


class Outcome(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    CLEARING = "clearing"
    """The rules cannot decide: a clerk answers (code and code list None)."""


class MarketAnswer(BaseModel):
    """Our answer to a market partner's request; `note` explains it in German (FTX or clerk task)."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    code: str | None = None
    code_list: str | None = Field(default=None, description="EBD (Strom) or code list (Gas); None: not documented")
    end: date | None = Field(default=None, description="the end we confirm, or the end that is already fixed")
    next_possible_end: date | None = None
    notice_period_days: int | None = None
    note: str = ""

    @property
    def status(self) -> str | None:
        """Content of STS+E01++<status>, e.g. "A09:E_0614"."""
        if self.code is None:
            return None
        return f"{self.code}:{self.code_list}" if self.code_list else self.code


# Gas answer codes by the Strom code of the same decision: (code, code list).
_GAS_CANCELLATION = {
    "A09": ("E15", "G_0006"),  # sample 44017 (STS+E01++E15:G_0006)
    "A03": ("E15", "G_0006"),  # unverified: confirmation as in Strom
    "A01": ("E14", "G_0005"),  # unverified: Ablehnung Sonstiges (44018 AHB condition [48]) with FTX
    "A04": ("Z34", "G_0005"),  # Ablehnung Mehrfachkündigung (sample 44018, AHB condition [15])
    "A05": ("Z12", "G_0005"),  # Ablehnung Vertragsbindung (44018 AHB condition [16])
    "A06": ("Z12", "G_0005"),
}
_GAS_GRID_SUPPLY_END_CONFIRM = ("E15", None)  # unverified: the code list of 44008 is not documented
_GAS_GRID_SUPPLY_END_REJECT = ("E14", "G_0068")  # Ablehnung Sonstiges (44009 AHB, FV2604); specific codes unverified
_GAS_ASSIGNMENT_END_CONFIRM = ("E15", "G_0010")  # sample 44011
_GAS_ASSIGNMENT_END_REJECT = ("E14", None)  # unverified: the code list of 44012 is not documented


def _answer(
    division: str, outcome: Outcome, code: str, ebd: str, gas: tuple[str, str | None], **fields: object
) -> MarketAnswer:
    code_list: str | None = ebd
    if normalise_division(division) == "gas":
        code, code_list = gas
    return MarketAnswer.model_validate({"outcome": outcome, "code": code, "code_list": code_list, **fields})


def _cancellation(division: str, outcome: Outcome, code: str, **fields: object) -> MarketAnswer:
    return _answer(division, outcome, code, "E_0614", _GAS_CANCELLATION[code], **fields)


def answer_cancellation(
    contract: ContractTerms | None,
    received_on: date,
    requested_end: date | None,
    already_cancelled_to: date | None = None,
    division: str = "strom",
) -> MarketAnswer:
    """Answer 55017/55018 (gas 44017/44018) to a new supplier's cancellation, EBD E_0614 for a consuming MaLo.

    `requested_end` None means 'nächstmöglich'; `already_cancelled_to` is an end confirmed earlier (by the customer
    or another supplier). The contract already ends at the earlier of it and `contract.supply_end`. Decisions:

    * requested end before the day of receipt: reject A01 (a request for the receipt day itself is checked
      against the notice, so a cancellation without notice may end on the transmission day);
    * already ending on the requested date: confirm A03; before it: reject A04 with that end;
    * notice kept and minimum term over: confirm A09 (for 'nächstmöglich' with the earliest end, or with the end
      already fixed if that is earlier: A03);
    * otherwise reject A05 (already ending later) or A06 with the next possible end and the notice period (GPKE).

    Clearing: no contract data, or the end would not lie after our supply start (a contract that has not begun:
    wrong location or a withdrawal). Not decided here: the power of attorney (A08) and other faults (A99), and
    the branch for non-consuming locations (A10-A18).
    """
    division = normalise_division(division)
    if contract is None:
        return MarketAnswer(outcome=Outcome.CLEARING, note="Kein Vertrag zur Marktlokation gefunden.")
    fixed = [d for d in (contract.supply_end, already_cancelled_to) if d is not None]
    ends_on = min(fixed) if fixed else None
    if ends_on is not None and ends_on <= contract.supply_start:
        raise ValueError(f"already_cancelled_to {ends_on} must be after supply_start {contract.supply_start}")
    notice = contract.notice_period_days
    earliest = earliest_end(received_on, notice, contract.minimum_term_until)
    next_possible = min(earliest, ends_on) if ends_on else earliest
    binding = {"next_possible_end": next_possible, "notice_period_days": notice}

    if requested_end is not None and requested_end < received_on:
        note = f"Der Kündigungstermin {_de(requested_end)} liegt vor dem Eingang am {_de(received_on)}."
        return _cancellation(division, Outcome.REJECT, "A01", note=note, **binding)
    if (requested_end or next_possible) <= contract.supply_start:
        note = f"Die Belieferung beginnt erst am {_de(contract.supply_start)}."
        return MarketAnswer(outcome=Outcome.CLEARING, note=note)
    if requested_end is None:
        if ends_on is not None and ends_on <= received_on:
            note = f"Der Vertrag ist bereits zum {_de(ends_on)} beendet."
            return _cancellation(division, Outcome.REJECT, "A04", end=ends_on, note=note)
        if ends_on is not None and ends_on <= earliest:
            note = f"Der Vertrag ist bereits zum {_de(ends_on)} gekündigt."
            return _cancellation(division, Outcome.CONFIRM, "A03", end=ends_on, note=note)
        return _cancellation(
            division, Outcome.CONFIRM, "A09", end=earliest, note="Zustimmung zum nächstmöglichen Termin."
        )
    if ends_on == requested_end:
        note = f"Der Vertrag ist bereits zum {_de(ends_on)} gekündigt."
        return _cancellation(division, Outcome.CONFIRM, "A03", end=ends_on, note=note)
    if ends_on is not None and ends_on < requested_end:
        note = f"Zum Kündigungstermin besteht kein Vertrag mehr, er endet zum {_de(ends_on)}."
        return _cancellation(division, Outcome.REJECT, "A04", end=ends_on, note=note)
    if requested_end >= earliest:
        return _cancellation(division, Outcome.CONFIRM, "A09", end=requested_end, note="Zustimmung.")
    note = f"Vertragsbindung: nächstmöglicher Termin {_de(next_possible)}, Kündigungsfrist {notice} Tage."
    if ends_on is not None:
        return _cancellation(division, Outcome.REJECT, "A05", end=ends_on, note=note, **binding)
    return _cancellation(division, Outcome.REJECT, "A06", note=note, **binding)


class GridEndReason(StrEnum):
    """Why the grid operator ends our supply (55007/44007)."""

    SHUTDOWN = "shutdown"  # Auszug wegen Stilllegung (STS+7++Z33)
    AUTHORISATION_ENDED = "authorisation_ended"  # Deaktivierung der Zuordnungsermächtigung
    TIME_SERIES_CHANGE = "time_series_change"  # fehlende Zuordnungsermächtigung wegen Änderung des Zeitreihentyps


def _grid_end(division: str, outcome: Outcome, code: str, note: str, end: date | None = None) -> MarketAnswer:
    gas = _GAS_GRID_SUPPLY_END_CONFIRM if outcome is Outcome.CONFIRM else _GAS_GRID_SUPPLY_END_REJECT
    return _answer(division, outcome, code, "E_0609", gas, note=note, end=end)


def answer_grid_supply_end(
    end: date,
    received_on: date,
    reason: GridEndReason,
    confirmed_end: date | None = None,
    known_in_use: bool = False,
    division: str = "strom",
) -> MarketAnswer:
    """Answer 55008/55009 (gas 44008/44009) to the grid operator's announcement of our supply end, EBD E_0609.

    `confirmed_end` is a supply end we already confirmed for this location; `known_in_use` means we know that the
    location is not shut down. Decisions in the order of the EBD:

    * the same end was already confirmed: reject A02;
    * lead time (shutdown, time series change): received after the latest ÜT (the day before the last WT before
      the end): reject A03;
    * shutdown although we know the location is in use: reject A04;
    * time series change not to the next 1st of a month after receipt: reject A05;
    * authorisation ended: received after the 5th WT of the month of the end (read leniently as the month of the
      end date itself; REFERENCE 2.2: "up to the 5th WT of the month the ZE ends"): reject A09;
    * otherwise confirm A10. A06/A07 (time series type, balancing authorisation) need facts we do not hold and are
      confirmed: without an answer the end takes effect anyway (REFERENCE 2.2 step 3).
    """
    if confirmed_end == end:
        return _grid_end(division, Outcome.REJECT, "A02", f"Lieferende zum {_de(end)} bereits bestätigt.", end)
    if reason is GridEndReason.AUTHORISATION_ENDED:
        fifth = add_working_days(end.replace(day=1) - _ONE_DAY, 5)
        if received_on > fifth:
            return _grid_end(division, Outcome.REJECT, "A09", f"Fristüberschreitung: Eingang nach dem {_de(fifth)}.")
    elif received_on > latest_transmission_day(end):
        note = f"Vorlauffrist nicht eingehalten: spätester Übermittlungstag {_de(latest_transmission_day(end))}."
        return _grid_end(division, Outcome.REJECT, "A03", note)
    if reason is GridEndReason.SHUTDOWN and known_in_use:
        return _grid_end(division, Outcome.REJECT, "A04", "Die Marktlokation wird nach unserer Kenntnis genutzt.")
    if reason is GridEndReason.TIME_SERIES_CHANGE:
        next_first = (received_on.replace(day=1) + timedelta(days=32)).replace(day=1)
        if end != next_first:
            note = f"Das Lieferende muss der {_de(next_first)} sein."
            return _grid_end(division, Outcome.REJECT, "A05", note)
    return _grid_end(division, Outcome.CONFIRM, "A10", "Dem Lieferende wird zugestimmt.", end)


def _assignment_end(division: str, outcome: Outcome, code: str, note: str, end: date | None) -> MarketAnswer:
    gas = _GAS_ASSIGNMENT_END_CONFIRM if outcome is Outcome.CONFIRM else _GAS_ASSIGNMENT_END_REJECT
    return _answer(division, outcome, code, "E_0624", gas, note=note, end=end)


def answer_assignment_end(
    contract: ContractTerms | None,
    requested_end: date,
    confirmed_cancellation_end: date | None = None,
    deregistered_to: date | None = None,
    move_in: bool = False,
    division: str = "strom",
) -> MarketAnswer:
    """Answer 55011/55012 (gas 44011/44012) to the grid operator's request to end our assignment (we are LFA).

    Codes of EBD E_0624 (samples 55011 A36, 55012 A30; the EBD is not in REFERENCE, public source S9). Our contract
    ends at the earlier of `contract.supply_end` and `confirmed_cancellation_end`. Decisions:

    * our Abmeldung to a date on or before the requested end was already confirmed by the grid operator
      (`deregistered_to`, 55005): reject A30 with that end;
    * no contract, or it ends on or before the requested end: confirm A36;
    * move-in of a new customer (transaction reason E01): confirm A34 (A32/A33 - same customer, or we know ours has
      not moved out - need a clerk);
    * otherwise reject A35 (Vertragsbindung) with our end if it is fixed.

    We always confirm the requested end, never an earlier one (GPKE case b); the Ersatzversorgung (A38) and the
    late-request check (A43) are not decided here. Without an answer the request counts as confirmed.
    """
    if deregistered_to is not None and deregistered_to <= requested_end:
        note = f"Belieferung bereits zum {_de(deregistered_to)} beendet, Abmeldung bestätigt."
        return _assignment_end(division, Outcome.REJECT, "A30", note, deregistered_to)
    fixed = [d for d in (contract.supply_end if contract else None, confirmed_cancellation_end) if d is not None]
    ends_on = min(fixed) if fixed else None
    if contract is None or (ends_on is not None and ends_on <= requested_end):
        note = "Vertragsverhältnis zum angefragten oder einem früheren Termin beendet."
        return _assignment_end(division, Outcome.CONFIRM, "A36", note, requested_end)
    if move_in:
        note = "Einzug eines neuen Kunden: Belieferung endet zum angefragten Termin."
        return _assignment_end(division, Outcome.CONFIRM, "A34", note, requested_end)
    return _assignment_end(division, Outcome.REJECT, "A35", "Es besteht eine Vertragsbindung.", ends_on)


# --- deadlines (REFERENCE 2.2; gas assumed equal) ------------------------------------------------


def cancellation_answer_due(received_at: datetime) -> datetime:
    """Answer to 55016/44016: by the end of the 1st WT after the day of receipt (UTC)."""
    return answer_deadline(received_at, None)


def assignment_end_answer_due(received_at: datetime) -> datetime:
    """Answer to 55010/44010: by 09:00 Berlin of the 1st WT after the day of receipt (UTC)."""
    return answer_deadline(received_at, 9)


def grid_supply_end_answer_due(received_at: datetime) -> datetime:
    """Answer to 55007/44007: by 05:00 Berlin of the 1st WT after the day of receipt (UTC)."""
    return answer_deadline(received_at, 5)


def deregistration_latest_day(supply_end: date) -> date:
    """Latest transmission day of our Abmeldung 55004/44004: the day before the last WT before the end."""
    return latest_transmission_day(supply_end)


def deregistration_answer_due(sent_at: datetime) -> datetime:
    """55005/55006 (gas 44005/44006) are expected by 06:00 Berlin of the 1st WT after sending (UTC)."""
    return answer_deadline(sent_at, 6)


# --- Messdateninkasso and final bill (REFERENCE 4.3) ---------------------------------------------

REQUEST_WAIT_WORKING_DAYS = 4
"""The meter operator delivers requested values (ORDERS 17102) within 4 WT (8 WT if a MeLo-MSB is involved)."""
COMPLAINT_WAIT_WORKING_DAYS = 3
"""The meter operator answers a complaint (ORDERS 17113) within 3 WT."""


class FinalReadingDue(BaseModel):
    """Latest transmission days of the final reading after the end (n-th calendar day after it: end + n days)."""

    model_config = ConfigDict(frozen=True)

    values: date = Field(description="reading or, for a smart meter, true, substitute or provisional values")
    true_values: date = Field(description="final true values")


class ReadingChase(BaseModel):
    """Working days on which to act when the final reading is missing; each waits for the previous answer."""

    model_config = ConfigDict(frozen=True)

    request_on: date = Field(description="send ORDERS 17102 (Anfrage von Werten): 1st WT after the due date")
    complaint_on: date = Field(description="send ORDERS 17113 (Reklamation von Werten): 1st WT after 4 WT of waiting")
    clerk_task_on: date = Field(description="open a clerk task: 1st WT after 3 WT of waiting")


def final_reading_due(supply_end: date, smart_meter: bool) -> FinalReadingDue:
    """Conventional meters: 28th calendar day after the end; smart meters (iMS): 5th day, true values by the 8th."""
    if smart_meter:
        return FinalReadingDue(values=supply_end + timedelta(days=5), true_values=supply_end + timedelta(days=8))
    due = supply_end + timedelta(days=28)
    return FinalReadingDue(values=due, true_values=due)


def final_reading_chase(due: date) -> ReadingChase:
    """Escalation when no final reading arrived by `due` (for smart meters pass the true-values day)."""
    request_on = add_working_days(due, 1)
    complaint_on = add_working_days(request_on, REQUEST_WAIT_WORKING_DAYS + 1)
    return ReadingChase(
        request_on=request_on,
        complaint_on=complaint_on,
        clerk_task_on=add_working_days(complaint_on, COMPLAINT_WAIT_WORKING_DAYS + 1),
    )


def final_bill_latest(supply_end: date) -> date:
    """Latest date of the final bill: six weeks after the end of supply (§ 40c (2) EnWG)."""
    return supply_end + timedelta(weeks=6)
