"""Properties of the inpatient engine over generated bills (DOMAIN.md §3, contracts/quote.md)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from medins.benefits import compute, parse_quote_request

from .builders import amount_of, request

LEVELS = ["provincial_tertiary", "municipal_tertiary", "secondary", "primary"]
CATEGORIES = ["adult", "minor", "student", "college_student", "newborn"]
FLAG_SETS = [
    [],
    ["long_term_out_of_area"],
    ["out_of_area_emergency"],
    ["out_of_area_non_emergency"],
    ["referral"],
    ["direct_settlement_skipped"],
    ["out_of_area_emergency", "direct_settlement_skipped"],
    ["out_of_area_non_emergency", "direct_settlement_skipped"],
    ["long_term_out_of_area", "direct_settlement_skipped"],
]
PROGRAMMES = [
    "district_hospital_admission",
    "dialysis_municipal",
    "dialysis_district",
    "palliative_care",
    "cataract_both_eyes",
]
FUND_CAP = Decimal("200000")
CATASTROPHIC_CAP = Decimal("300000")

PROPERTY_SETTINGS = settings(deadline=None, max_examples=300)


def cents(upper: int) -> st.SearchStrategy[str]:
    """Decimal strings with two places, 0 .. upper yuan (cents drawn uniformly)."""
    return st.integers(min_value=0, max_value=upper * 100).map(lambda c: f"{c // 100}.{c % 100:02d}")


bills = st.fixed_dictionaries({"a": cents(400_000), "b": cents(200_000), "c": cents(50_000)})


def near(upper: int, *points: str) -> st.SearchStrategy[str]:
    """Amounts up to `upper`, often exactly at or around the given points (caps, thresholds)."""
    return st.one_of(cents(upper), st.sampled_from(points))


year_to_date = st.fixed_dictionaries(
    {
        "fund_paid": near(250_000, "0.00", "150000.00", "195000.00", "199999.99", "200000.00", "210000.00"),
        "covered_personal": near(400_000, "0.00", "9999.99", "10000.00", "20000.00", "110000.00", "400000.00"),
        "catastrophic_paid": near(320_000, "0.00", "250000.00", "299999.99", "300000.00"),
        "fixed_copay_paid": near(1_000, "0.00", "600.00", "800.00"),
    }
)
contexts = st.fixed_dictionaries(
    {
        "benefit": st.sampled_from(["inpatient", "inpatient", "day_surgery"]),
        "category": st.sampled_from(CATEGORIES),
        "level": st.sampled_from(LEVELS),
        "flags": st.sampled_from(FLAG_SETS),
        "ytd": year_to_date,
    }
)


def _quote(policy, **kwargs):
    result = compute(parse_quote_request(request(**kwargs)), policy)
    return result, result.as_dict()


@PROPERTY_SETTINGS
@given(bill=bills, context=contexts, programme=st.none() | st.sampled_from(PROGRAMMES))
def test_shares_add_up_to_total(policy, bill, context, programme):
    """Contract: fund + catastrophic + personal == total to the cent, all non-negative, lines reconcile."""
    # given any bill and context (a programme only for plain inpatient)
    if programme is not None:
        context = context | {"benefit": "inpatient", "flags": []}
    # when quoted
    result, body = _quote(policy, programme=programme, **bill, **context)
    # then the shares partition the total and every figure has two places
    fund, catastrophic, personal = (Decimal(body[k]) for k in ("fund", "catastrophic", "personal"))
    assert fund + catastrophic + personal == Decimal(body["total"])
    assert min(fund, catastrophic, personal) >= 0
    assert personal >= Decimal(bill["c"])
    for key in ("total", "fund", "catastrophic", "personal", *body["settlement"]):
        value = body.get(key) or body["settlement"][key]
        assert value == f"{Decimal(value):.2f}"
    if programme is None:
        # the bill splits exactly into class C, co-pay, deductible and band parts
        parts = ("class_c_excluded", "class_b_copay", "deductible", "band_fund", "band_personal")
        assert sum(amount_of(body, step) for step in parts) == Decimal(body["total"])
        assert amount_of(body, "band_fund") - amount_of(body, "fund_annual_cap") == fund
        assert amount_of(body, "catastrophic_band") - amount_of(body, "catastrophic_annual_cap") == catastrophic


@PROPERTY_SETTINGS
@given(bill=bills, context=contexts)
def test_fund_never_exceeds_eligible(policy, bill, context):
    """DOMAIN §3.3-3.4: the fund pays only part of the eligible amount."""
    # given any bill, when quoted
    _, body = _quote(policy, **bill, **context)
    # then the fund is at most the eligible amount (inscp_scp_amt)
    assert Decimal(body["fund"]) <= Decimal(body["settlement"]["inscp_scp_amt"])


@PROPERTY_SETTINGS
@given(
    bill=bills,
    context=contexts,
    extra=cents(100_000),
    grown=st.sampled_from(["a", "b", "c"]),
    programme=st.none() | st.sampled_from(PROGRAMMES),
)
def test_more_bill_never_less_fund(policy, bill, context, extra, grown, programme):
    """DOMAIN §3: increasing any class of the bill never lowers the fund's share."""
    if programme is not None:
        context = context | {"benefit": "inpatient", "flags": []}
    # given a bill and the same bill with more of one class
    bigger = bill | {grown: str(Decimal(bill[grown]) + Decimal(extra))}
    # when both are quoted in the same context
    _, small = _quote(policy, programme=programme, **bill, **context)
    _, large = _quote(policy, programme=programme, **bigger, **context)
    # then the fund does not decrease
    assert Decimal(large["fund"]) >= Decimal(small["fund"])


@PROPERTY_SETTINGS
@given(bill=bills, context=contexts)
def test_student_never_gets_less_than_adult(policy, bill, context):
    """DOMAIN §3.3-3.4: the child group (lower deductible, +10 points) never gets less fund than an adult."""
    # given the same bill, level, flags and year to date
    # when quoted for an adult and for a student
    _, adult = _quote(policy, **bill, **(context | {"category": "adult"}))
    _, student = _quote(policy, **bill, **(context | {"category": "student"}))
    # then the student's fund share is at least the adult's
    assert Decimal(student["fund"]) >= Decimal(adult["fund"])


def _banded_catastrophic(accumulated: Decimal) -> Decimal:
    """Catastrophic supplement of a whole year's accumulator, unrounded (DOMAIN §3.6)."""
    excess = max(accumulated - Decimal("10000"), Decimal(0))
    first = min(excess, Decimal("10000"))
    second = min(max(excess - Decimal("10000"), Decimal(0)), Decimal("90000"))
    third = max(excess - Decimal("100000"), Decimal(0))
    return first * Decimal("0.6") + second * Decimal("0.7") + third * Decimal("0.8")


@settings(deadline=None, max_examples=150)
@given(
    admissions=st.lists(st.tuples(bills, st.sampled_from(["inpatient", "day_surgery"])), min_size=1, max_size=8),
    level=st.sampled_from(LEVELS),
    category=st.sampled_from(CATEGORIES),
)
def test_yearly_caps_hold_across_admissions(policy, admissions, level, category):
    """DOMAIN §3.5-3.6: over a year's admissions the fund pays at most 200 000, the supplement at most 300 000,
    and the supplement slices add up to the supplement of the year's accumulator."""
    # given a year of admissions, each fed the accumulators of the ones before
    fund_paid = covered_personal = catastrophic_paid = Decimal("0.00")
    for number, (bill, benefit) in enumerate(admissions, 1):
        ytd = {
            "fund_paid": str(fund_paid),
            "covered_personal": str(covered_personal),
            "catastrophic_paid": str(catastrophic_paid),
        }
        # when each is quoted
        result, _ = _quote(policy, benefit=benefit, level=level, category=category, ytd=ytd, **bill)
        fund_paid += result.fund
        covered_personal += result.covered_personal
        catastrophic_paid += result.catastrophic
        # then the yearly caps hold after every admission
        assert fund_paid <= FUND_CAP
        assert catastrophic_paid <= CATASTROPHIC_CAP
        # and the slices match the year's banded supplement (each slice rounds at most 3 lines by half a cent)
        expected = min(_banded_catastrophic(covered_personal), CATASTROPHIC_CAP)
        assert abs(catastrophic_paid - expected) <= Decimal("0.015") * number
