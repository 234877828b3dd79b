"""Engine benefits accident and maternity (DOMAIN.md §4), pure: shipped parameters, no database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medins.benefits import compute, parse_quote_request
from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible
from medins.benefits.policy import PolicySnapshot
from tests.enrollment.conftest import shipped_params

CC = PolicySnapshot(region="220100", version="220100-2021", date=None, params=shipped_params("220100-2021"))
JN = PolicySnapshot(region="370100", version="370100-2021", date=None, params=shipped_params("370100-2021"))


def q(policy, benefit, *, category="student", level="secondary", a="0", b="0", c="0", ytd=None, **extra):
    req = {"region": policy.region, "benefit": benefit, "service_date": "2021-05-10", "person": {"category": category},
           "institution": {"level": level}, "bill": {"class_a": a, "class_b": b, "class_c": c}, **extra}
    if ytd:
        req["year_to_date"] = ytd
    return compute(parse_quote_request(req), policy).as_dict()


def test_changchun_accident_pays_80_percent_above_100_up_to_5000():
    """§4 accident, Changchun Q18: yearly compliant cost above 100 up to 5000 at 80%."""
    r = q(CC, "accident", a="6000.00", c="100.00")
    assert r["fund"] == "3920.00"  # (5000 - 100) * 0.8
    assert r["personal"] == "2180.00"


def test_changchun_accident_counts_the_year_already_used():
    """§4: the window is yearly — 4000 counted before leaves 1000 of the cap."""
    r = q(CC, "accident", a="3000.00", ytd={"eligible_counted": "4000.00"})
    assert r["fund"] == "800.00"


def test_changchun_accident_cost_of_exactly_100_pays_nothing():
    """Q18: above 100 (exclusive)."""
    assert q(CC, "accident", a="100.00")["fund"] == "0.00"


def test_changchun_accident_refuses_adults():
    """§4: Changchun accident benefit is for minors and students only."""
    with pytest.raises(NotEligible):
        q(CC, "accident", category="adult", a="1000.00")


def test_jinan_accident_deductible_200_80_percent_cap_2000_including_personal_part():
    """§4 accident, Jinan: deductible 200, 80%, compliant cost counted up to 2000."""
    r = q(JN, "accident", category="college_student", a="1500.00", b="1000.00", c="100.00")
    assert r["fund"] == "1440.00"  # (2000 - 200) * 0.8
    assert r["settlement"]["act_pay_dedc"] == "200.00"


@pytest.mark.parametrize(("delivery", "fund"), [("vaginal", "2250.00"), ("vaginal_episiotomy", "2350.00"),
                                                ("caesarean", "2750.00"), ("caesarean_with_surgery", "2850.00")])
def test_changchun_maternity_lump_sums_at_provincial_level(delivery, fund):
    """§4 maternity, Changchun: 2250 / 2350 / 2750 / 2850 (provincial level)."""
    assert q(CC, "maternity", category="adult", level="provincial_tertiary", a="9000.00", delivery=delivery)["fund"] == fund


def test_changchun_maternity_at_another_level_is_a_missing_parameter():
    """§4: amounts for other levels are not in the seed — refuse, never guess."""
    with pytest.raises(MissingParameter) as exc:
        q(CC, "maternity", category="adult", level="secondary", a="9000.00", delivery="vaginal")
    assert exc.value.parameter == "maternity.lump_sum.secondary"


@pytest.mark.parametrize(("delivery", "fund"), [("vaginal", "1100.00"), ("assisted_vaginal", "1350.00"), ("caesarean", "2300.00")])
def test_jinan_maternity_lump_sums(delivery, fund):
    """§4 maternity, Jinan: vaginal 1100, assisted 1350, caesarean 2300."""
    assert q(JN, "maternity", category="adult", a="5000.00", delivery=delivery)["fund"] == fund


@pytest.mark.parametrize(("delivery", "fund"), [("abortion", "150.00"), ("induced_labour", "1100.00")])
def test_jinan_college_student_abortion_and_induced_labour(delivery, fund):
    """§4 maternity, Jinan students: abortion 150, induced labour 1100."""
    assert q(JN, "maternity", category="college_student", a="3000.00", delivery=delivery)["fund"] == fund


def test_jinan_abortion_lump_sum_is_for_college_students_only():
    with pytest.raises(InvalidRequest) as exc:
        q(JN, "maternity", category="adult", a="3000.00", delivery="abortion")
    assert exc.value.field == "delivery"


def test_maternity_lump_sum_never_exceeds_the_compliant_cost():
    """Decision (maternity.py): the fund pays the lump sum but not more than class A + B."""
    assert q(JN, "maternity", category="college_student", a="100.00", delivery="abortion")["fund"] == "100.00"


def test_delivery_is_required_for_maternity_and_refused_elsewhere():
    """Quote contract: `delivery` is the maternity benefit's field."""
    with pytest.raises(InvalidRequest):
        q(JN, "maternity", a="1.00")
    with pytest.raises(InvalidRequest):
        q(JN, "accident", a="1.00", delivery="vaginal")


amounts = st.decimals(min_value=0, max_value=100000, places=2).map(lambda d: f"{d:.2f}")


@given(a=amounts, b=amounts, c=amounts, before=amounts)
def test_accident_totals_always_reconcile(a, b, c, before):
    """Quote contract: fund + catastrophic + personal == total, fund within the yearly window."""
    r = q(CC, "accident", a=a, b=b, c=c, ytd={"eligible_counted": before})
    assert Decimal(r["fund"]) + Decimal(r["catastrophic"]) + Decimal(r["personal"]) == Decimal(r["total"])
    assert Decimal("0") <= Decimal(r["fund"]) <= Decimal("3920.00")
