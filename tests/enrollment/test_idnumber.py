"""DOMAIN §1: the 18-digit resident ID (GB 11643) and masking of personal numbers."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrollment.idnumber import IdNumberError, make_id_number, mask, parse_id_number


def test_valid_id_number_gives_birth_date_and_sex():
    """DOMAIN §1: 6-digit area, 8-digit birth date, 3-digit sequence (odd = male), check character."""
    parsed = parse_id_number("11010519491231002X")

    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.area_code == "110105"


def test_lower_case_x_and_spaces_are_normalised():
    """DOMAIN §1: the check character X."""
    assert parse_id_number(" 11010519491231002x ").value == "11010519491231002X"


def test_wrong_check_digit_is_rejected_with_the_expected_digit():
    """DOMAIN §1: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, sum mod 11 -> 1 0 X 9 8 7 6 5 4 3 2."""
    with pytest.raises(IdNumberError, match="check digit is 4, expected 9"):
        parse_id_number("220102199001011234")


def test_impossible_birth_date_is_rejected():
    """DOMAIN §1: the birth date must be a real date."""
    first17 = "22010219900230123"  # 30 February
    with pytest.raises(IdNumberError, match="not a real date"):
        parse_id_number(first17 + "0")


@pytest.mark.parametrize("value", ["2201021990010112", "2201021990010112345", ""])
def test_wrong_length_is_rejected(value):
    """DOMAIN §1: 18 characters."""
    with pytest.raises(IdNumberError, match="18 characters"):
        parse_id_number(value)


def test_letters_are_rejected():
    with pytest.raises(IdNumberError, match="17 digits"):
        parse_id_number("22010219900101A239")


def test_masking_keeps_four_characters_at_each_end():
    """DOMAIN §1: ID numbers are shown masked in lists (e.g. 2201**********1234)."""
    assert mask("220102199001011239") == "2201**********1239"
    assert mask("6222020200112345678") == "6222***********5678"
    assert mask("") == ""


births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
areas = st.from_regex(r"[1-6][0-9]{5}", fullmatch=True)  # ASCII: \d would draw other scripts' digits


@given(area=areas, birth=births, seq=st.integers(0, 999))
def test_generated_id_numbers_round_trip(area, birth, seq):
    """DOMAIN §1: a generated valid ID parses back to its parts."""
    parsed = parse_id_number(make_id_number(area, birth, seq))

    assert (parsed.area_code, parsed.birth_date, int(parsed.sequence)) == (area, birth, seq)
    assert parsed.sex == ("M" if seq % 2 else "F")


@given(area=areas, birth=births, seq=st.integers(0, 999), position=st.integers(0, 17), delta=st.integers(1, 9))
def test_any_single_digit_change_is_rejected(area, birth, seq, position, delta):
    """DOMAIN §1: the check character detects every single-digit error."""
    number = make_id_number(area, birth, seq)
    chars = list(number)
    if chars[position] == "X":
        chars[position] = str(delta)
    else:
        chars[position] = str((int(chars[position]) + delta) % 10)
    changed = "".join(chars)

    with pytest.raises(IdNumberError):
        parse_id_number(changed)


def test_digits_of_other_scripts_are_rejected():
    """An ID number is ASCII: full-width or Arabic-Indic digits are not accepted as digits."""
    number = make_id_number("110105", dt.date(1949, 12, 31), 2)

    with pytest.raises(IdNumberError, match="17 digits"):
        parse_id_number(number[:5] + "\u0660" + number[6:])
