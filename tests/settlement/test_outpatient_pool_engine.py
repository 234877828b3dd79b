"""The engine's outpatient_pool benefit (DOMAIN.md §4 "Outpatient pool"), pure: no database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medins.benefits import compute, parse_quote_request
from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible
from medins.benefits.policy import PolicySnapshot
from tests.enrollment.conftest import shipped_params

CHANGCHUN = shipped_params("220100-2021")
JINAN = shipped_params("370100-2021")


def policy(params, region):
    return PolicySnapshot(region=region, version=f"{region}-2021", date=None, params=params)


def quote(*, region="220100", level="primary", category="adult", a="0.00", b="0.00", c="0.00", ytd=None, params=None,
          flags=None):
    data = {
        "region": region, "benefit": "outpatient_pool", "service_date": "2021-05-10",
        "person": {"category": category}, "institution": {"level": level},
        "bill": {"class_a": a, "class_b": b, "class_c": c},
    }
    if ytd is not None:
        data["year_to_date"] = ytd
    if flags is not None:
        data["flags"] = flags
    default = CHANGCHUN if region == "220100" else JINAN
    return compute(parse_quote_request(data), policy(params or default, region))


def line(result, step):
    return next(ln for ln in result.lines if ln.step == step)


# DOMAIN §4: Changchun 50%, deductible 200 secondary / 100 primary / 0 village, 1000 a year.
@pytest.mark.parametrize(("level", "deductible", "fund"), [
    ("secondary", "200.00", "150.00"), ("primary", "100.00", "200.00"), ("village", "0.00", "250.00"),
])
def test_changchun_deductible_by_level_then_fifty_percent(level, deductible, fund):
    result = quote(level=level, a="400.00", b="100.00")
    assert line(result, "deductible").amount == Decimal(deductible)
    assert result.fund == Decimal(fund)
    assert result.personal == Decimal("500.00") - Decimal(fund)


def test_class_c_is_personal_and_class_b_has_no_copay():
    # DOMAIN §3 step 1 applies to every benefit; Decision: no class-B co-pay in the pool.
    result = quote(level="village", a="0.00", b="100.00", c="30.00")
    assert result.fund == Decimal("50.00")
    assert result.personal == Decimal("80.00")
    assert result.class_b_copay == 0
    assert result.as_dict()["settlement"]["fulamt_ownpay_amt"] == "30.00"


def test_deductible_is_yearly_and_carried_as_an_amount():
    # A first visit of 60 at a secondary hospital pays 60 of the 200; the next one the other 140.
    first = quote(level="secondary", a="60.00")
    assert first.fund == 0 and first.deductible_paid == Decimal("60.00")
    second = quote(level="secondary", a="300.00", ytd={"deductible_paid_amount": "60.00"})
    assert second.deductible_paid == Decimal("140.00")
    assert second.fund == Decimal("80.00")
    met = quote(level="secondary", a="300.00", ytd={"deductible_paid": True})
    assert met.deductible_paid == 0 and met.fund == Decimal("150.00")


def test_deductible_per_visit_when_the_policy_says_so():
    params = {**CHANGCHUN, "outpatient_pool.deductible_once_per_year": False}
    result = quote(level="secondary", a="300.00", ytd={"deductible_paid": True}, params=params)
    assert result.deductible_paid == Decimal("200.00")


def test_changchun_annual_cap_1000():
    result = quote(level="village", a="400.00", ytd={"fund_paid": "900.00"})
    assert result.fund == Decimal("100.00")
    cap = line(result, "fund_annual_cap")
    assert cap.amount == Decimal("100.00") and cap.payer == "personal"
    assert quote(level="village", a="400.00", ytd={"fund_paid": "1000.00"}).fund == 0


# DOMAIN §4: Jinan college students at the school clinic: 65%, no deductible, 500 a year.
def test_jinan_college_student_65_percent_no_deductible():
    result = quote(region="370100", category="college_student", a="100.00", b="50.00", c="10.00")
    assert result.fund == Decimal("97.50")
    assert result.deductible_paid == 0
    assert result.policy_version == "370100-2021"


def test_jinan_cap_500():
    result = quote(region="370100", category="college_student", a="200.00", ytd={"fund_paid": "450.00"})
    assert result.fund == Decimal("50.00")


def test_jinan_other_categories_are_not_eligible():
    with pytest.raises(NotEligible) as exc:
        quote(region="370100", category="adult", a="100.00")
    assert exc.value.as_dict()["code"] == "not_eligible"


def test_tertiary_hospital_is_not_a_pool_level():
    with pytest.raises(MissingParameter) as exc:
        quote(level="municipal_tertiary", a="100.00")
    assert exc.value.parameter == "outpatient_pool.deductible.municipal_tertiary"


def test_missing_rate_is_named():
    params = {k: v for k, v in CHANGCHUN.items() if k != "outpatient_pool.rate"}
    with pytest.raises(MissingParameter) as exc:
        quote(a="100.00", params=params)
    assert exc.value.parameter == "outpatient_pool.rate"


def test_out_of_area_flags_are_refused():
    with pytest.raises(InvalidRequest) as exc:
        quote(a="100.00", flags=["referral"])
    assert exc.value.field == "flags[0]"


money = st.decimals(min_value=0, max_value=5000, places=2)


@given(a=money, b=money, c=money, fund_paid=st.decimals(min_value=0, max_value=1200, places=2),
       ded=st.decimals(min_value=0, max_value=300, places=2),
       level=st.sampled_from(["secondary", "primary", "village"]))
def test_totals_reconcile_and_caps_hold(a, b, c, fund_paid, ded, level):
    result = quote(level=level, a=str(a), b=str(b), c=str(c),
                   ytd={"fund_paid": str(fund_paid), "deductible_paid_amount": str(ded)})
    assert result.fund + result.catastrophic + result.personal == result.total == a + b + c
    assert 0 <= result.fund <= max(Decimal("1000.00") - fund_paid, Decimal(0))
    assert result.fund <= (a + b) * Decimal("0.50") + Decimal("0.005")
    assert sum(ln.amount for ln in result.lines if ln.payer == "personal") == result.personal
