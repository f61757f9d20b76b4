"""Identifiers of the German energy market and IBANs: format and check-digit validation.

Procedures follow the BDEW "Identifikatoren in der Marktkommunikation" (REFERENCE §7).
"""

import re

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

_MALO_RE = re.compile(r"[1-9][0-9]{10}")
_MP_ID_RE = re.compile(r"[0-9]{13}")
_MELO_RE = re.compile(r"DE[0-9A-Z]{31}")
_MELO_SEPARATORS = re.compile(r"[.\s]")


class InvalidIdentifier(ValueError):
    """An identifier is malformed or its check digit does not match (message is meant for a clerk)."""


def _bdew_check_digit(base: str) -> int:
    """BDEW §8.1 procedure: odd positions x1, even positions x2, plain digit sum (not Luhn)."""
    odd = sum(int(c) for c in base[0::2])
    even = sum(int(c) for c in base[1::2])
    return (10 - (odd + 2 * even) % 10) % 10


def _gs1_check_digit(base12: str) -> int:
    """GS1/EAN-13 check digit: weights 1, 3, 1, 3, … from the left over 12 digits."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(base12))
    return (10 - total % 10) % 10


def malo_check_digit(base10: str) -> int:
    """Check digit of a MaLo-ID from its first 10 digits (BDEW §8.1)."""
    if not re.fullmatch(r"[0-9]{10}", base10):
        raise InvalidIdentifier(f"MaLo-ID base '{base10}' must consist of exactly 10 digits")
    return _bdew_check_digit(base10)


def market_partner_check_digit(base12: str) -> int:
    """BDEW/DVGW check digit of a 13-digit code number from its first 12 digits."""
    if not re.fullmatch(r"[0-9]{12}", base12):
        raise InvalidIdentifier(f"Marktpartner-ID base '{base12}' must consist of exactly 12 digits")
    return _bdew_check_digit(base12)


def validate_malo_id(value: str) -> str:
    """Return the stripped MaLo-ID: 11 digits, not starting with 0, valid check digit."""
    malo = value.strip()
    if not re.fullmatch(r"[0-9]{11}", malo):
        raise InvalidIdentifier(f"MaLo-ID '{malo}' must consist of exactly 11 digits")
    if not _MALO_RE.fullmatch(malo):
        raise InvalidIdentifier(f"MaLo-ID {malo} must not start with 0")
    expected = malo_check_digit(malo[:10])
    if int(malo[10]) != expected:
        raise InvalidIdentifier(f"MaLo-ID {malo}: check digit should be {expected}")
    return malo


def validate_market_partner_id(value: str) -> str:
    """Return the stripped 13-digit market partner ID.

    Valid if the check digit matches the BDEW/DVGW procedure or the GS1 (GLN) procedure;
    the prefix (99 BDEW, 98 DVGW, others) is never a reason to reject.
    """
    mp_id = value.strip()
    if not _MP_ID_RE.fullmatch(mp_id):
        raise InvalidIdentifier(f"Marktpartner-ID '{mp_id}' must consist of exactly 13 digits")
    bdew, gs1 = _bdew_check_digit(mp_id[:12]), _gs1_check_digit(mp_id[:12])
    if int(mp_id[12]) not in (bdew, gs1):
        expected = str(bdew) if bdew == gs1 else f"{bdew} (BDEW/DVGW) or {gs1} (GS1)"
        raise InvalidIdentifier(f"Marktpartner-ID {mp_id}: check digit should be {expected}")
    return mp_id


def validate_melo_id(value: str) -> str:
    """Return the MeLo-ID (Zählpunktbezeichnung) in upper case without print separators.

    33 characters: "DE" and 31 letters or digits. There is no check digit. Lenient on purpose
    (REFERENCE §7.3): the grid-operator part may contain letters, lower case and the dots of
    the printed form (DE.012345.08010.…) are accepted.
    """
    melo = _MELO_SEPARATORS.sub("", value).upper()
    if not _MELO_RE.fullmatch(melo):
        raise InvalidIdentifier(f"MeLo-ID '{value.strip()}' must be 33 characters: DE followed by 31 letters or digits")
    return melo


def validate_iban(value: str) -> str:
    """Return the IBAN in compact upper-case form; raise InvalidIdentifier with the reason."""
    try:
        iban = IBAN(value)
    except SchwiftyException as exc:
        raise InvalidIdentifier(f"IBAN is invalid: {exc}") from exc
    return iban.compact


def mask_iban(iban: str) -> str:
    """IBAN for logs: country code, check digits and the last 4 characters kept, in groups of 4.

    "DE89370400440532013000" -> "DE89 **** **** **** **30 00". Values of 8 characters or fewer
    are masked completely.
    """
    compact = re.sub(r"\s+", "", iban).upper()
    if len(compact) <= 8:
        masked = "*" * len(compact)
    else:
        masked = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


# Load schwifty's IBAN registry now, so that no file is read on the first validation
# (file access is not allowed at run time inside the Temporal workflow sandbox).
validate_iban("DE89370400440532013000")
