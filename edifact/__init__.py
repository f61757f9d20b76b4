"""EDIFACT interchanges and typed UTILMD messages."""

from edifact.envelope import Interchange, Party, RawMessage, parse_interchange, serialize_interchange
from edifact.errors import EdifactContentError, EdifactError, EdifactSyntaxError
from edifact.utilmd import (
    Division,
    UtilmdMessage,
    UtilmdParty,
    build_utilmd,
    parse_utilmd,
    utilmd_interchange,
)

__all__ = [
    "Division",
    "EdifactContentError",
    "EdifactError",
    "EdifactSyntaxError",
    "Interchange",
    "Party",
    "RawMessage",
    "UtilmdMessage",
    "UtilmdParty",
    "build_utilmd",
    "parse_interchange",
    "parse_utilmd",
    "serialize_interchange",
    "utilmd_interchange",
]
