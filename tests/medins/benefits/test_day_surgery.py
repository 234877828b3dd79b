"""Day surgery, DOMAIN.md §3.9 (handbook Q16): no deductible, inpatient ratios of the level."""

import pytest

from medins.benefits.errors import MissingParameter

from .builders import lines, quote


def test_day_surgery_has_no_deductible(policy):
    """DOMAIN §3.9 day surgery: no deductible, inpatient ratio of the level."""
    # given a municipal adult day surgery of 10 000 class A
    # when quoted
    result = quote(policy, benefit="day_surgery", a="10000.00")
    # then the fund pays 60% of all of it
    assert result["fund"] == "6000.00"
    (deductible,) = lines(result, "deductible")
    assert (deductible["amount"], deductible["parameter"]) == ("0.00", "day_surgery.deductible")
    assert result["settlement"]["act_pay_dedc"] == "0.00"
    assert result["benefit"] == "day_surgery"


@pytest.mark.parametrize(("class_a", "fund"), [("30000.00", "18000.00"), ("40000.00", "24500.00")])
def test_day_surgery_bands_start_at_zero(policy, class_a, fund):
    """DOMAIN §3.9 + §3.4 day surgery uses the inpatient bands, the first starting at 0."""
    # given a municipal adult day surgery across the 30 000 limit
    # when quoted
    result = quote(policy, benefit="day_surgery", a=class_a)
    # then 30 000 x 60% (+ 10 000 x 65%)
    assert result["fund"] == fund


def test_day_surgery_child_ratio(policy):
    """DOMAIN §3.9 day surgery keeps the +10 points for students and minors."""
    # given a secondary-level minor
    # when quoted
    result = quote(policy, benefit="day_surgery", level="secondary", category="minor", a="5000.00", b="1000.00")
    # then (5 000 + 900) x 80%
    assert result["fund"] == "4720.00"


def test_day_surgery_fund_cap_and_catastrophic_as_inpatient(policy):
    """DOMAIN §3.9 day surgery: the yearly fund cap and the catastrophic supplement apply as for inpatient."""
    # given the fund cap used up and 10 000 of covered personal payment already this year
    ytd = {"fund_paid": "200000.00", "covered_personal": "10000.00"}
    # when a 5 000 day surgery is quoted
    result = quote(policy, benefit="day_surgery", a="5000.00", ytd=ytd)
    # then the fund pays nothing and the supplement 5 000 x 60%
    assert (result["fund"], result["catastrophic"], result["personal"]) == ("0.00", "3000.00", "2000.00")


def test_day_surgery_at_village_level_is_missing_parameter(policy):
    """DOMAIN §3.9 + §2 a level without inpatient ratios cannot be quoted: the parameter is named."""
    # given a village clinic
    # when quoted, then the missing ratio table is named
    with pytest.raises(MissingParameter) as exc:
        quote(policy, benefit="day_surgery", level="village", a="1000.00")
    assert exc.value.parameter == "inpatient.bands.village"
