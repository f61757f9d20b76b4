"""One entry point to parse any message of an interchange into its typed model."""

from collections.abc import Callable
from datetime import datetime

from efoli import get_edifact_format_version
from pydantic import BaseModel

from edifact.aperak import parse_aperak
from edifact.contrl import parse_contrl
from edifact.envelope import Interchange, RawMessage
from edifact.generic import parse_generic
from edifact.invoic import parse_invoic
from edifact.mscons import parse_mscons
from edifact.orders import parse_orders
from edifact.ordrsp import parse_ordrsp
from edifact.pruefidentifikatoren import check_pruefidentifikator
from edifact.remadv import parse_remadv
from edifact.utilmd import parse_utilmd

Parser = Callable[[RawMessage], BaseModel]

PARSERS: dict[str, Parser] = {
    "UTILMD": parse_utilmd,
    "MSCONS": parse_mscons,
    "INVOIC": parse_invoic,
    "REMADV": parse_remadv,
    "APERAK": parse_aperak,
    "ORDERS": parse_orders,
    "ORDRSP": parse_ordrsp,
}


def parse_message(msg: RawMessage, interchange: Interchange) -> BaseModel:
    """The typed message, or a GenericMessage (header fields only) for types without a model."""
    if msg.type == "CONTRL":
        return parse_contrl(msg, interchange)
    model = PARSERS.get(msg.type, parse_generic)(msg)
    check_pruefidentifikator(msg.type, getattr(model, "pruefidentifikator", None), _rff_position(msg))
    return model


def _rff_position(msg: RawMessage) -> int | None:
    """Position of the RFF+Z13 segment in the interchange (UNH is at ``msg.position``)."""
    if msg.position is None:
        return None
    for index, segment in enumerate(msg.segments):
        element = segment.elements[0] if segment.tag == "RFF" and segment.elements else None
        if isinstance(element, list) and element[0] == "Z13":
            return msg.position + 1 + index
    return msg.position


def format_version(document_date: datetime | None) -> str | None:
    """The EDI@Energy format version in force on the message date (e.g. "FV2510")."""
    if document_date is None:
        return None
    return str(get_edifact_format_version(document_date))
