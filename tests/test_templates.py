"""Rendering of customer letters: filters, strictness, escaping and real PDF output."""

from __future__ import annotations

import copy
import hashlib
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from jinja2 import UndefinedError
from pypdf import PdfReader

from templates.render import RenderedDocument, ct, de_date, eur, percent, render_html, render_pdf

SUPPLIER = {
    "name": "Stadtwerke Musterstadt GmbH",
    "street": "Hauptstraße 1",
    "postcode": "12345",
    "city": "Musterstadt",
    "phone": "0800 1234567",
    "email": "service@sw-musterstadt.de",
    "market_partner_id": "9900000000002",
}
CUSTOMER = {
    "customer_number": "K-100234",
    "name": "Erika Mustermann",
    "street": "Lindenweg 7",
    "postcode": "54321",
    "city": "Beispielhausen",
}


def _monthly(first: date, count: int) -> list[date]:
    return [
        date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, first.day) for i in range(count)
    ]


@pytest.fixture
def welcome() -> dict[str, Any]:
    return {
        "supplier": dict(SUPPLIER),
        "customer": dict(CUSTOMER),
        "contract": {
            "contract_number": "V-2026-0042",
            "division": "strom",
            "malo_id": "51238696788",
            "supply_start": date(2026, 12, 1),
            "tariff_name": "Musterstrom Fix 24",
            "working_price": Decimal("0.3245"),
            "base_price_per_year": Decimal("119.40"),
            "vat_rate": Decimal("0.19"),
            "annual_consumption_kwh": Decimal("2800"),
        },
        "budget": {
            "instalment": Decimal("89.00"),
            "first_due": date(2026, 12, 15),
            "annual_gross": Decimal("1068.00"),
            "instalments": [{"due_date": due, "amount": Decimal("89.00")} for due in _monthly(date(2026, 12, 15), 12)],
        },
        "mandate": {"reference": "MR-2026-000042", "iban_masked": "DE89 **** **** **** **30 00"},
        "letter_date": date(2026, 11, 3),
    }


@pytest.fixture
def cancelled() -> dict[str, Any]:
    return {
        "supplier": dict(SUPPLIER),
        "customer": dict(CUSTOMER),
        "contract": {
            "contract_number": "V-2026-0043",
            "malo_id": "50410795284",
            "wished_start": date(2027, 1, 1),
            "division": "gas",
        },
        "reason": "Der Netzbetreiber konnte die Marktlokation unter der angegebenen Adresse nicht finden.",
        "letter_date": date(2026, 11, 20),
    }


def _pages(doc: RenderedDocument) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(doc.pdf)).pages]


def _text(doc: RenderedDocument) -> str:
    return "\n".join(_pages(doc))


# --- filters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234.5"), "1.234,50 €"),
        (Decimal("89"), "89,00 €"),
        (Decimal("0"), "0,00 €"),
        (Decimal("-1234.5"), "-1.234,50 €"),
        (Decimal("-0.50"), "-0,50 €"),
        (Decimal("-0.004"), "0,00 €"),
        (Decimal("0.005"), "0,01 €"),
        (Decimal("1234567.891"), "1.234.567,89 €"),
        (12, "12,00 €"),
    ],
)
def test_eur(amount: Decimal, expected: str) -> None:
    assert eur(amount) == expected


def test_eur_rejects_float() -> None:
    with pytest.raises(TypeError):
        eur(89.0)


def test_ct_de_date_percent() -> None:
    assert ct(Decimal("0.3245")) == "32,45 ct/kWh"
    assert ct(Decimal("0.32455")) == "32,46 ct/kWh"
    assert de_date(date(2026, 12, 1)) == "01.12.2026"
    assert percent(Decimal("0.19")) == "19 %"
    assert percent(Decimal("0.075")) == "7,5 %"


# --- strictness and escaping --------------------------------------------------------------------------


def test_missing_field_raises(welcome: dict[str, Any]) -> None:
    del welcome["contract"]["malo_id"]
    with pytest.raises(UndefinedError):
        render_html("welcome_letter.html", welcome)


def test_missing_top_level_key_raises(cancelled: dict[str, Any]) -> None:
    del cancelled["reason"]
    with pytest.raises(UndefinedError):
        render_pdf("order_cancelled.html", cancelled)


def test_mandate_key_is_required_even_if_none(welcome: dict[str, Any]) -> None:
    del welcome["mandate"]
    with pytest.raises(UndefinedError):
        render_html("welcome_letter.html", welcome)


def test_unknown_division_raises(cancelled: dict[str, Any]) -> None:
    cancelled["contract"]["division"] = "wasser"
    with pytest.raises(ValueError, match="wasser"):
        render_html("order_cancelled.html", cancelled)


def test_customer_name_is_escaped(cancelled: dict[str, Any]) -> None:
    cancelled["customer"]["name"] = "<script>alert(1)</script> Müller"
    doc = render_pdf("order_cancelled.html", cancelled)

    assert "<script>" not in doc.text_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Müller" in doc.text_html
    assert "<script>alert(1)</script> Müller" in _text(doc)  # shown literally, not executed


# --- PDF output ---------------------------------------------------------------------------------------


def test_welcome_letter_with_mandate(welcome: dict[str, Any]) -> None:
    doc = render_pdf("welcome_letter.html", welcome)
    text = _text(doc)

    assert doc.pdf.startswith(b"%PDF-")
    for expected in [
        "Erika Mustermann",
        "54321 Beispielhausen",
        "Stromliefervertrags",
        "Lieferbeginn: 01.12.2026",
        "Musterstrom Fix 24",
        "32,45 ct/kWh",  # working price net
        "38,62 ct/kWh",  # working price gross
        "119,40 €",  # base price net
        "142,09 €",  # base price gross
        "19 %",
        "2.800 kWh",
        "1.068,00 €",
        "89,00 €",
        "15.12.2026",
        "15.11.2027",  # last instalment in the plan
        "Mandatsreferenz: MR-2026-000042",
        "DE89 **** **** **** **30 00",
        "51238696788",
        "V-2026-0042",
        "K-100234",
        "03.11.2026",
        "Marktpartner-ID: 9900000000002",
        "service@sw-musterstadt.de",
    ]:
        assert expected in text, expected
    assert "Bitte überweisen Sie" not in text


def test_welcome_letter_without_mandate_asks_for_transfer(welcome: dict[str, Any]) -> None:
    welcome["mandate"] = None
    welcome["contract"]["division"] = "gas"
    doc = render_pdf("welcome_letter.html", welcome)
    text = _text(doc)

    assert "Bitte überweisen Sie" in text
    assert "Mandatsreferenz" not in text
    assert "Erdgasliefervertrags" in text
    assert "89,00 €" in text


def test_order_cancelled(cancelled: dict[str, Any]) -> None:
    doc = render_pdf("order_cancelled.html", cancelled)
    text = " ".join(_text(doc).split())  # the reason may wrap over several lines

    for expected in [
        "Erdgaslieferung",
        "storniert",
        "01.01.2027",
        "50410795284",
        "V-2026-0043",
        "20.11.2026",
        cancelled["reason"],
        "Stadtwerke Musterstadt GmbH",
        "Telefon: 0800 1234567",
    ]:
        assert expected in text, expected


def test_stylesheet_applies_footer_and_page_numbers(welcome: dict[str, Any]) -> None:
    """Running footer and page counter only exist if base.css was found via base_url."""
    pages = _pages(render_pdf("welcome_letter.html", welcome))

    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert "Marktpartner-ID: 9900000000002" in page
        if number > 1:
            assert f"Seite {number} von {len(pages)}" in page


def test_sha256_matches_and_content_is_stable(welcome: dict[str, Any]) -> None:
    """The checksum is of the archived bytes; a second rendering says the same (font subsets may differ)."""
    first = render_pdf("welcome_letter.html", welcome)
    second = render_pdf("welcome_letter.html", copy.deepcopy(welcome))

    assert first.sha256 == hashlib.sha256(first.pdf).hexdigest()
    assert second.sha256 == hashlib.sha256(second.pdf).hexdigest()
    assert _pages(second) == _pages(first)
