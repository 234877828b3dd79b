"""Fixed-copay programmes replacing steps 3-6, DOMAIN.md §3.8 (handbook Q34-Q37)."""

from decimal import Decimal

import pytest

from medins.benefits.errors import InvalidRequest

from .builders import lines, quote


@pytest.mark.parametrize(
    ("programme", "fixed", "fund"),
    [
        ("district_hospital_admission", "1000.00", "9000.00"),  # Q36 five district hospitals, per admission
        ("dialysis_municipal", "800.00", "9200.00"),  # Q34 municipal institution, per year
        ("dialysis_district", "600.00", "9400.00"),  # Q34 district institution, per year
        ("palliative_care", "700.00", "9300.00"),  # Q35 residents, per admission (Decision)
        ("cataract_both_eyes", "1050.00", "8950.00"),  # Q37 single-disease list
    ],
)
def test_programme_person_pays_fixed_amount(policy, programme, fixed, fund):
    """DOMAIN §3.8 fixed-copay programme: the person pays the fixed amount, the fund the rest of A + B."""
    # given 8 000 class A, 2 000 class B, 500 class C on a programme
    # when quoted
    result = quote(policy, programme=programme, a="8000.00", b="2000.00", c="500.00")
    # then the person pays the fixed amount plus class C, the fund the rest; no deductible, co-pay or supplement
    (line,) = lines(result, "fixed_copay")
    assert (line["amount"], line["programme"], line["parameter"]) == (fixed, programme, "fixed_copay.programmes")
    assert result["fund"] == fund
    assert Decimal(result["personal"]) == Decimal(fixed) + Decimal("500.00")
    assert result["catastrophic"] == "0.00"
    assert result["settlement"]["preselfpay_amt"] == "0.00"
    assert result["settlement"]["act_pay_dedc"] == "0.00"
    assert result["settlement"]["inscp_scp_amt"] == "10000.00"
    assert lines(result, "band_fund") == []


def test_programme_covered_below_fixed_amount(policy):
    """DOMAIN §3.8 the person never pays more than the covered amount."""
    # given a covered bill of 600 on a 1 000 programme
    # when quoted
    result = quote(policy, programme="district_hospital_admission", a="600.00")
    # then the person pays 600 and the fund nothing
    assert (result["fund"], result["personal"]) == ("0.00", "600.00")


@pytest.mark.parametrize(
    ("paid_before", "due"), [("0.00", "800.00"), ("500.00", "300.00"), ("800.00", "0.00"), ("900.00", "0.00")]
)
def test_per_year_programme_counts_what_was_paid(policy, paid_before, due):
    """DOMAIN §3.8 dialysis pays its fixed amount once a year: less what was paid on it this year."""
    # given part of the yearly dialysis amount already paid
    ytd = {"fixed_copay_paid": paid_before}
    # when another dialysis settlement is quoted
    result = quote(policy, programme="dialysis_municipal", a="5000.00", ytd=ytd)
    # then only the rest of the yearly amount is due
    assert lines(result, "fixed_copay")[0]["amount"] == due
    assert lines(result, "fixed_copay")[0]["per"] == "year"


def test_per_admission_programme_ignores_year_to_date(policy):
    """DOMAIN §3.8 palliative care is charged per admission (Decision): earlier payments do not reduce it."""
    # given 700 already paid on palliative care this year
    # when another palliative admission is quoted
    result = quote(policy, programme="palliative_care", a="5000.00", ytd={"fixed_copay_paid": "700.00"})
    # then 700 is due again
    assert lines(result, "fixed_copay")[0]["amount"] == "700.00"


def test_programme_has_no_fund_cap(policy):
    """DOMAIN §3.8 programmes replace steps 3-6: the yearly fund cap does not apply."""
    # given the fund cap already used this year
    # when a cataract operation is quoted
    result = quote(policy, programme="cataract_both_eyes", a="6000.00", ytd={"fund_paid": "200000.00"})
    # then the fund still pays everything above 1 050
    assert result["fund"] == "4950.00"


def test_programme_does_not_need_an_inpatient_level_row(policy):
    """DOMAIN §3.8 programmes use no deductible or ratio table, so the level's rows are not read."""
    # given a programme quoted with a level that has no inpatient row
    # when quoted
    result = quote(policy, programme="district_hospital_admission", level="village", a="3000.00")
    # then it is computed
    assert result["fund"] == "2000.00"


def test_unknown_programme_is_named(policy):
    """DOMAIN §3.8 an unknown programme is refused naming the field."""
    # given a programme the policy does not define
    # when quoted, then the request field is named
    with pytest.raises(InvalidRequest) as exc:
        quote(policy, programme="heart_transplant", a="1000.00")
    assert exc.value.field == "programme"
    assert "cataract_both_eyes" in str(exc.value)
