"""Render customer letters from Jinja2 templates to HTML and PDF."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

TEMPLATES_DIR = Path(__file__).resolve().parent

_DIVISIONS = {"strom": "Strom", "gas": "Erdgas"}


class RenderedDocument(BaseModel):
    """A rendered PDF together with its checksum and the HTML it was made from."""

    model_config = ConfigDict(frozen=True)

    pdf: bytes
    sha256: str
    text_html: str


def _decimal(value: Any) -> Decimal:
    """Accept Decimal or int; reject float (and bool) so no binary rounding sneaks in."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"expected Decimal, got {type(value).__name__}: {value!r}")


def _de_number(value: Decimal, places: int = 2) -> str:
    """Format a Decimal German style: '.' groups thousands, ',' separates decimals."""
    quantized = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if quantized < 0 else ""
    text = f"{abs(quantized):,.{places}f}"
    return sign + text.replace(",", "_").replace(".", ",").replace("_", ".")


def eur(value: Any) -> str:
    """Decimal("1234.5") -> "1.234,50 €"; negative amounts keep a leading minus."""
    return f"{_de_number(_decimal(value))} €"


def ct(value: Any) -> str:
    """Price in EUR/kWh -> cent per kWh, e.g. Decimal("0.3245") -> "32,45 ct/kWh"."""
    return f"{_de_number(_decimal(value) * 100)} ct/kWh"


def de_date(value: date) -> str:
    """date(2026, 12, 1) -> "01.12.2026"."""
    if not isinstance(value, date):
        raise TypeError(f"expected date, got {type(value).__name__}: {value!r}")
    return value.strftime("%d.%m.%Y")


def percent(value: Any) -> str:
    """Rate as fraction -> percent, e.g. Decimal("0.19") -> "19 %", Decimal("0.075") -> "7,5 %"."""
    number = _de_number(_decimal(value) * 100).rstrip("0").rstrip(",")
    return f"{number} %"


def kwh(value: Any) -> str:
    """Energy quantity, whole kWh: Decimal("3500") -> "3.500 kWh"."""
    return f"{_de_number(_decimal(value), places=0)} kWh"


def division(value: str) -> str:
    """Sparte for display: "strom" -> "Strom", "gas" -> "Erdgas"."""
    try:
        return _DIVISIONS[value]
    except KeyError:
        raise ValueError(f"unknown division: {value!r}") from None


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(eur=eur, ct=ct, de_date=de_date, percent=percent, kwh=kwh, division=division)
    return env


def render_html(template: str, context: Mapping[str, Any]) -> str:
    """Render a template to HTML; a missing context field raises jinja2.UndefinedError."""
    return _environment().get_template(template).render(context)


def render_pdf(template: str, context: Mapping[str, Any]) -> RenderedDocument:
    """Render a template to an A4 PDF; relative URLs (base.css) resolve inside this folder."""
    html = render_html(template, context)
    fonts = _letter_fonts()
    pdf = HTML(string=html, base_url=f"{TEMPLATES_DIR.as_uri()}/").write_pdf(
        stylesheets=[fonts[0]] if fonts else None, font_config=fonts[1] if fonts else None
    )
    return RenderedDocument(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), text_html=html)


FONT_FILES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"))
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "kern")


@cache
def _letter_fonts() -> tuple[CSS, FontConfiguration] | None:
    """The letter font (DejaVu Sans) without its layout tables, made once per machine from the installed font.

    Embedding a font in a PDF subsets it, and subsetting reads the font's large layout tables every time: without
    them a letter renders in less than half the time (kerning and ligatures are not used in letters). Where the
    font is not installed, base.css falls back to the installed fonts."""
    sources = {
        weight: next((d / name for d in FONT_DIRS if (d / name).is_file()), None) for weight, name in FONT_FILES.items()
    }
    if any(path is None for path in sources.values()):
        return None
    target = Path(tempfile.gettempdir()) / "bpo-letter-fonts"
    target.mkdir(exist_ok=True)
    faces = []
    for weight, source in sources.items():
        assert source is not None
        stripped = target / f"{hashlib.sha256(source.read_bytes()).hexdigest()[:16]}-{source.name}"
        if not stripped.exists():
            font = TTFont(source)
            for table in LAYOUT_TABLES:
                if table in font:
                    del font[table]
            handle, partial = tempfile.mkstemp(dir=target, suffix=".part")  # unique: threads may race here
            with os.fdopen(handle, "wb") as file:
                font.save(file)
            os.replace(partial, stripped)
        faces.append(
            f'@font-face {{ font-family: "BPO Letter"; font-weight: {weight}; src: url("{stripped.as_uri()}"); }}'
        )
    config = FontConfiguration()
    return CSS(string="\n".join(faces), font_config=config), config
