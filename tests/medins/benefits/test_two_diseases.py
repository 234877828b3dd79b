"""Hypertension/diabetes scheme (门诊“两病”, Jinan), DOMAIN.md §4.3; worked examples LB-E1, LB-E2 of
research/outpatient-care-security.md §3.3."""

import pytest

from medins.benefits import parse_quote_request
from medins.benefits.errors import InvalidRequest, NotEligible

from .shipped import line, quote


def lb(disease="hypertension", level="primary", a="0.00", b="0.00", c="0.00", insulin=False, **ytd):
    return {"region": "370100", "benefit": "two_diseases", "service_date": "2021-05-20",
            "person": {"category": "adult"}, "institution": {"level": level}, "disease": disease,
            "insulin_user": insulin, "bill": {"class_a": a, "class_b": b, "class_c": c}, "year_to_date": ytd}


def test_lb_e1_hypertension_room_50():
    """DOMAIN §4.3 (LB-E1): YTD 250; A 120 + B 80 → 50 % = 100; room 300 − 250 = 50 → fund 50, personal 150."""
    body = quote(lb(a="120.00", b="80.00", fund_paid="250.00"))
    assert (body["fund"], body["personal"]) == ("50.00", "150.00")


def test_lb_e2_insulin_diabetic_cap_400():
    """DOMAIN §4.3 (LB-E2, the contract example): E 900 → 450 → cap 400; personal 500."""
    body = quote(lb("diabetes", a="600.00", b="300.00", insulin=True))
    assert (body["fund"], body["personal"]) == ("400.00", "500.00")
    # without insulin the diabetic's cap is 300
    assert quote(lb("diabetes", a="600.00", b="300.00"))["fund"] == "300.00"


def test_insulin_switch_midyear_raises_the_room_by_100():
    """DOMAIN §4.3: the 400 applies from the day of registration as insulin user; earlier payments count."""
    assert quote(lb("diabetes", a="1000.00", insulin=True, fund_paid="300.00"))["fund"] == "100.00"


def test_no_deductible_no_class_b_copay_and_class_c_personal():
    body = quote(lb(a="10.00", b="10.00", c="5.00"))
    assert (body["fund"], body["personal"]) == ("10.00", "15.00")
    assert body["settlement"]["act_pay_dedc"] == body["settlement"]["preselfpay_amt"] == "0.00"


def test_an_exhausted_cap_never_spills_into_the_pool():
    """DOMAIN §4.3: the rest is personal; nothing is re-quoted under another benefit."""
    body = quote(lb(a="200.00", fund_paid="300.00"))
    assert body["fund"] == "0.00"
    assert line(body, "disease_annual_cap")[0]["amount"] == "100.00"


@pytest.mark.parametrize("level", ["secondary", "municipal_tertiary", "provincial_tertiary"])
def test_secondary_and_above_are_not_eligible(level):
    """DOMAIN §4.3 / contract: a level the scheme does not admit is refused with not_eligible."""
    with pytest.raises(NotEligible):
        quote(lb(level=level, a="10.00"))


def test_other_diseases_and_fields_of_other_benefits_are_refused():
    with pytest.raises(InvalidRequest) as exc:
        quote(lb("gout", a="1.00"))
    assert exc.value.field == "disease"
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request({**lb(), "drug": "JN-D-001"})
    assert exc.value.field == "drug"
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request({**lb(), "benefit": "inpatient"})
    assert exc.value.field == "disease"
