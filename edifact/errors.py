"""Errors raised while reading or writing EDIFACT interchanges."""

from __future__ import annotations


class EdifactError(Exception):
    """Base class of all EDIFACT errors.

    ``segment`` is the tag of the offending segment (e.g. ``"UNT"``), ``position`` its 1-based index
    in the interchange as it appears in the file (UNA counts when present, so for files with one
    segment per line it equals the line number).
    """

    def __init__(self, detail: str, segment: str | None = None, position: int | None = None) -> None:
        self.detail = detail
        self.segment = segment
        self.position = position
        super().__init__(self._format())

    def _format(self) -> str:
        if self.segment and self.position is not None:
            return f"{self.segment} at segment {self.position}: {self.detail}"
        if self.position is not None:
            return f"segment {self.position}: {self.detail}"
        if self.segment:
            return f"{self.segment}: {self.detail}"
        return self.detail

    def __reduce__(self) -> tuple[type[EdifactError], tuple[str, str | None, int | None]]:
        return (self.__class__, (self.detail, self.segment, self.position))


class EdifactSyntaxError(EdifactError):
    """The interchange violates EDIFACT syntax or envelope rules (UNA/UNB/UNH/UNT/UNZ)."""


class EdifactContentError(EdifactError):
    """The interchange is syntactically fine, but its content cannot be used.

    Examples: unknown or unsupported Prüfidentifikator, missing mandatory segments, unreadable dates.
    """
