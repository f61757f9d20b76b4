import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.ids import (
    InvalidIdentifier,
    malo_check_digit,
    mask_iban,
    validate_iban,
    validate_malo_id,
    validate_market_partner_id,
    validate_melo_id,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
malo_bases = st.from_regex(r"[1-9][0-9]{9}", fullmatch=True)
mp_bases = st.from_regex(r"[0-9]{12}", fullmatch=True)


def gs1_check_digit(base12: str) -> int:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(base12))
    return (10 - total % 10) % 10


# --- MaLo-ID -------------------------------------------------------------------------------------


def test_malo_bdew_worked_example() -> None:
    # a = 4+3+3+5+2 = 17, b = (1+7+5+9+4)*2 = 52, c = 69 -> 1
    assert malo_check_digit("4137355924") == 1
    assert validate_malo_id(" 41373559241\n") == "41373559241"


def test_malo_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(InvalidIdentifier, match=r"^MaLo-ID 41373559240: check digit should be 1$"):
        validate_malo_id("41373559240")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "4137355924",  # 10 digits
        "413735592411",  # 12 digits
        "01373559241",  # leading zero
        "4137355924X",
        "41373 559241",
        "４１３７３５５９２４１",  # full-width digits
        "4137355924١",  # Arabic-Indic digit
    ],
)
def test_malo_malformed(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        validate_malo_id(value)


def test_malo_check_digit_is_not_luhn() -> None:
    # Luhn would reduce 2*9=18 to 9; the BDEW procedure keeps 18. Base 0900000000: c = 18 -> 2.
    assert malo_check_digit("0900000000") == 2


def test_malo_check_digit_rejects_bad_base() -> None:
    with pytest.raises(InvalidIdentifier):
        malo_check_digit("123")


@given(malo_bases)
def test_malo_with_computed_check_digit_is_valid(base: str) -> None:
    malo = base + str(malo_check_digit(base))
    assert validate_malo_id(malo) == malo


@given(malo_bases, digits)
def test_malo_only_one_check_digit_is_valid(base: str, last: str) -> None:
    if int(last) == malo_check_digit(base):
        assert validate_malo_id(base + last) == base + last
    else:
        with pytest.raises(InvalidIdentifier, match="check digit should be"):
            validate_malo_id(base + last)


@given(malo_bases, st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_malo_single_digit_errors(base: str, position: int, delta: int) -> None:
    """Every substitution is caught, except a change by 5 at an even position (weight 2, no reduction)."""
    malo = base + str(malo_check_digit(base))
    changed_digit = (int(malo[position]) + delta) % 10
    changed = malo[:position] + str(changed_digit) + malo[position + 1 :]
    if changed[0] == "0":
        return
    undetectable = position % 2 == 1 and delta == 5
    if undetectable:
        assert validate_malo_id(changed) == changed
    else:
        with pytest.raises(InvalidIdentifier):
            validate_malo_id(changed)


# --- Marktpartner-ID -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mp_id",
    [
        "1900100300012",
        "1900100300020",
        "1900100301002",
        "1900100400010",
        "1900100500000",
        "1900100551582",
        "9900357000003",  # BDEW example base 990035700000
        "4012345000023",  # GS1 GLN
    ],
)
def test_market_partner_id_valid(mp_id: str) -> None:
    assert validate_market_partner_id(f" {mp_id} ") == mp_id


@pytest.mark.parametrize("mp_id", ["9903729000007", "9900327000009"])
def test_market_partner_ids_of_edifact_samples_are_valid(mp_id: str) -> None:
    # REFERENCE §7.2 calls them dummies that do not validate; the §8.1 procedure accepts both.
    assert validate_market_partner_id(mp_id) == mp_id


@pytest.mark.parametrize("mp_id", ["9903729000008", "9900327000001", "4012345000024"])
def test_market_partner_id_wrong_check_digit(mp_id: str) -> None:
    with pytest.raises(InvalidIdentifier, match="check digit should be"):
        validate_market_partner_id(mp_id)


def test_market_partner_id_message_names_both_procedures() -> None:
    with pytest.raises(InvalidIdentifier, match=r"should be 3 \(BDEW/DVGW\) or 9 \(GS1\)$"):
        validate_market_partner_id("9900357000000")


@pytest.mark.parametrize("value", ["", "990035700000", "99003570000033", "990035700000A", "9900357 00003"])
def test_market_partner_id_malformed(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="13 digits"):
        validate_market_partner_id(value)


@given(mp_bases, digits)
def test_market_partner_id_accepts_either_procedure(base: str, last: str) -> None:
    bdew = (10 - (sum(int(c) for c in base[0::2]) + 2 * sum(int(c) for c in base[1::2])) % 10) % 10
    if int(last) in (bdew, gs1_check_digit(base)):
        assert validate_market_partner_id(base + last) == base + last
    else:
        with pytest.raises(InvalidIdentifier):
            validate_market_partner_id(base + last)


# --- MeLo-ID -------------------------------------------------------------------------------------

MELO = "DE0123456789012345678901234567890"


def test_melo_valid() -> None:
    assert len(MELO) == 33
    assert validate_melo_id(MELO) == MELO


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("de0123456789012345678901234abcdef", "DE0123456789012345678901234ABCDEF"),
        ("DE.012345.08010.ABCDEFGHIJ0123456789", "DE01234508010ABCDEFGHIJ0123456789"),
        ("  DE0001AB0801000000000000000001234 ", "DE0001AB0801000000000000000001234"),  # letters in NB part
    ],
)
def test_melo_lenient(value: str, expected: str) -> None:
    assert validate_melo_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        MELO[:-1],  # 32
        MELO + "0",  # 34
        "AT" + MELO[2:],
        MELO[:-1] + "-",
        MELO[:-1] + "Ä",
    ],
)
def test_melo_malformed(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="33 characters"):
        validate_melo_id(value)


# --- IBAN ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "de89370400440532013000",
        " DE8937040044 0532013000 ",
    ],
)
def test_iban_valid_is_compact_upper_case(value: str) -> None:
    assert validate_iban(value) == "DE89370400440532013000"


def test_iban_foreign() -> None:
    assert validate_iban("GB82 WEST 1234 5698 7654 32") == "GB82WEST12345698765432"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("DE88370400440532013000", "checksum"),
        ("DE8937040044053201300", "length"),
        ("XX89370400440532013000", "country"),
        ("", ""),
    ],
)
def test_iban_invalid(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"(?i)^IBAN is invalid: .*{reason}"):
        validate_iban(value)


@given(st.text(max_size=40))
def test_iban_arbitrary_text_is_valid_or_invalid_identifier(value: str) -> None:
    try:
        result = validate_iban(value)
    except InvalidIdentifier:
        return
    assert result == result.upper()
    assert " " not in result


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("DE89370400440532013000", "DE89 **** **** **** **30 00"),
        ("DE89 3704 0044 0532 0130 00", "DE89 **** **** **** **30 00"),
        ("GB82WEST12345698765432", "GB82 **** **** **** **54 32"),
        ("NO9386011117947", "NO93 **** ***7 947"),
        ("DE891234", "**** ****"),
        ("", ""),
    ],
)
def test_mask_iban(value: str, masked: str) -> None:
    assert mask_iban(value) == masked


@given(st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", fullmatch=True))
def test_mask_iban_hides_the_middle(iban: str) -> None:
    masked = mask_iban(iban)
    compact = masked.replace(" ", "")
    assert len(compact) == len(iban)
    assert compact[:4] == iban[:4] and compact[-4:] == iban[-4:]
    assert set(compact[4:-4]) == {"*"}
