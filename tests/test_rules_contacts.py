"""Customer-center rules: classification, complaint kinds, due times, callback windows, hints in a text."""

from datetime import UTC, date, datetime

import pytest

from rules.calendar import BERLIN
from rules.contacts import (
    COMPLAINT_ANSWER_DAYS,
    CallbackWindow,
    Category,
    ComplaintKind,
    classify,
    complaint_answer_by,
    complaint_kind,
    due_at,
    extract_hints,
    next_callback_window,
)
from rules.end_of_supply import move_end


@pytest.mark.parametrize(
    ("subject", "text", "category"),
    [
        ("Zählerstand", "Mein Zählerstand am 01.03. beträgt 12345 kWh.", Category.METER_READING),
        ("Umzug", "Ich ziehe zum 1. Mai in eine neue Wohnung.", Category.MOVE_CANCELLATION),
        ("Kündigung", "Hiermit kündige ich meinen Vertrag fristgerecht.", Category.MOVE_CANCELLATION),
        ("Frage zur Jahresabrechnung", "Warum ist die Abrechnung so hoch?", Category.BILL_QUESTION),
        ("Abschlag", "Bitte senken Sie meinen Abschlag.", Category.PAYMENT),
        ("Ratenzahlung", "Kann ich die Nachzahlung in Raten zahlen?", Category.PAYMENT),
        ("Preiserhöhung", "Was kostet der Tarif ab Januar?", Category.TARIFF_QUESTION),
        ("Neue Bankverbindung", "Meine neue IBAN lautet ...", Category.MASTER_DATA),
        ("Beschwerde", "Ihre Rechnung ist falsch, ich bin sehr unzufrieden.", Category.COMPLAINT),
        ("", "Bitte rufen Sie mich an.", Category.OTHER),
        ("Verfahren", "Die Bundesnetzagentur hat uns Ihre Eingabe weitergeleitet.", Category.COMPLAINT),
    ],
)
def test_classify(subject: str, text: str, category: Category) -> None:
    assert classify(subject, text) == category


def test_a_complaint_about_a_bill_is_a_complaint() -> None:
    assert classify("Beschwerde über Rechnung", "Die Rechnung ist falsch, die Abrechnung auch") == Category.COMPLAINT


@pytest.mark.parametrize(
    ("text", "sender", "kind"),
    [
        ("Verbraucherservice Energie der Bundesnetzagentur, Az. 123", "", ComplaintKind.REGULATOR),
        ("Die BNetzA bittet um Stellungnahme", "", ComplaintKind.REGULATOR),
        ("Schlichtungsstelle Energie e.V.: Schlichtungsantrag", "", ComplaintKind.ARBITRATION),
        ("Namens und in Vollmacht unseres Mandanten", "Kanzlei Recht & Partner", ComplaintKind.LEGAL),
        ("Als Insolvenzverwalter über das Vermögen", "", ComplaintKind.LEGAL),
        ("Nachlasspflegschaft für den verstorbenen Kunden", "Dr. Meier, Nachlasspfleger", ComplaintKind.LEGAL),
        ("Amtsgericht Musterstadt, Aktenzeichen 4 C 12/26", "", ComplaintKind.LEGAL),
        ("Ich beschwere mich über den Kundenservice", "", ComplaintKind.CUSTOMER),
        ("Mein Zählerstand ist 4711", "", ComplaintKind.NONE),
    ],
)
def test_complaint_kind(text: str, sender: str, kind: ComplaintKind) -> None:
    assert complaint_kind("", text, sender) == kind


def test_due_at_counts_working_days_of_the_bdew_calendar() -> None:
    friday_evening = datetime(2026, 12, 18, 20, 0, tzinfo=BERLIN)
    # 2 WT after Fri 18.12.: Mon 21., Tue 22. -> Tue 18:00 Berlin
    assert due_at(friday_evening, 2) == datetime(2026, 12, 22, 18, 0, tzinfo=BERLIN).astimezone(UTC)
    # over Christmas: 24.12. and 31.12. are no working days in the BDEW calendar
    wednesday = datetime(2026, 12, 23, 9, 0, tzinfo=BERLIN)
    assert due_at(wednesday, 1).astimezone(BERLIN).date() == date(2026, 12, 28)
    # 0: the same day, or the next working day when received on a Sunday
    assert due_at(datetime(2026, 12, 20, 10, tzinfo=BERLIN), 0).astimezone(BERLIN).date() == date(2026, 12, 21)
    assert due_at(datetime(2026, 12, 21, 10, tzinfo=BERLIN), 0).astimezone(BERLIN).date() == date(2026, 12, 21)


def test_complaints_are_answered_within_four_weeks() -> None:
    received = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 3 March in Berlin
    assert COMPLAINT_ANSWER_DAYS == 28 and complaint_answer_by(received) == date(2026, 3, 31)


def test_second_callback_window_is_on_the_next_working_day_at_the_same_hours() -> None:
    window = CallbackWindow(
        datetime(2026, 12, 23, 14, 0, tzinfo=BERLIN).astimezone(UTC),
        datetime(2026, 12, 23, 16, 0, tzinfo=BERLIN).astimezone(UTC),
    )
    after = next_callback_window(window, datetime(2026, 12, 23, 16, 5, tzinfo=BERLIN))
    assert after.start.astimezone(BERLIN) == datetime(2026, 12, 28, 14, 0, tzinfo=BERLIN)
    assert after.end.astimezone(BERLIN) == datetime(2026, 12, 28, 16, 0, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="end after"):
        CallbackWindow(window.end, window.start)


def test_hints_from_a_letter_only_with_valid_ids() -> None:
    text = (
        "Kundennummer: K-4711\nVertragskonto-Nr. 900123\nMaLo 51238696781 (nicht 51238696780)\n"
        "IBAN DE89 3704 0044 0532 0130 00"
    )
    assert extract_hints(text) == {
        "customer_number": "K-4711",
        "account_number": "900123",
        "malo_id": "51238696781",
        "iban": "DE89370400440532013000",
    }
    assert extract_hints("MaLo 51238696780, IBAN DE00 3704 0044 0532 0130 00") == {}


def test_move_end_with_and_without_new_supply() -> None:
    received = date(2026, 3, 1)
    with_us = move_end(received, date(2026, 3, 15), moving_with_us=True)
    assert with_us.end == date(2026, 3, 15) and with_us.requested_kept
    away = move_end(received, date(2026, 3, 15), moving_with_us=False)
    assert away.end == date(2026, 4, 12) and not away.requested_kept and "sechs Wochen" in away.text
    late = move_end(received, date(2026, 2, 20), moving_with_us=True)
    assert late.end == date(2026, 3, 2) and not late.requested_kept
