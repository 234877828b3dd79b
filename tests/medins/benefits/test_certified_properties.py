"""Properties of the certified outpatient benefits over generated bills and years of visits
(DOMAIN.md §4.1–4.4, contracts/quote.md): shares add up to the cent, more bill never means less
fund, and no yearly cap is exceeded however the visits of a year fall (year_to_date fed forward
the way the yearly ledger does, claims/ledger/keys.py)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from medins.benefits import compute, parse_quote_request

from .shipped import snapshot

D = Decimal
ZERO = D("0.00")
PROPERTY_SETTINGS = settings(deadline=None, max_examples=150)
CC_CHRONIC = ["coronary_heart_disease", "diabetes", "heart_failure", "gout", "copd", "chronic_gastritis",
              "atrial_fibrillation", "chronic_diarrhoea"]
CC_CAPS = {"coronary_heart_disease": D(3000), "diabetes": D(2400), "heart_failure": D(2100), "gout": D(1900),
           "copd": D(1900), "chronic_gastritis": D(1700), "atrial_fibrillation": D(2500), "chronic_diarrhoea": D(1600)}
SPECIAL_DISEASES = ["SPD-001", "SPD-027", "SPD-041", "SPD-042", "SPD-043"]
SD_LEVELS = ["provincial_tertiary", "municipal_tertiary", "secondary"]
DRUG_LEVELS = ["provincial_tertiary", "municipal_tertiary"]
DRUGS = ["CC-D-003", "CC-D-094", "CC-D-001", "CC-D-098"]
CATEGORIES = ["adult", "minor", "student", "college_student", "newborn"]
MINORS = {"minor", "student", "newborn"}


def cents(upper: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=0, max_value=upper * 100).map(lambda c: f"{c // 100}.{c % 100:02d}")


def money(upper: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=upper * 100).map(lambda c: D(c) / 100)


def _request(benefit, region, a, b, c, ytd, **extra):
    data = {"region": region, "benefit": benefit, "service_date": "2021-06-01", "person": {"category": "adult"},
            "institution": {"level": "primary"}, "bill": {"class_a": str(a), "class_b": str(b), "class_c": str(c)},
            "year_to_date": {k: (v if isinstance(v, bool) else str(v)) for k, v in ytd.items()}}
    for key, value in extra.items():
        if key in ("category", "poverty_registered"):
            data["person"][key] = value
        elif key in ("level", "township"):
            data["institution"][key] = value
        else:
            data[key] = value
    return data


def _quote(data):
    req = parse_quote_request(data)
    return compute(req, snapshot(req.region, req.service_date)).as_dict()


# One generated context per benefit: (benefit, region, extra request fields, year_to_date keys)
contexts = st.one_of(
    st.builds(lambda diseases, level: ("chronic", "220100", {"certified_diseases": diseases, "level": level}),
              st.lists(st.sampled_from(CC_CHRONIC), min_size=1, max_size=8, unique=True),
              st.sampled_from(["primary", "secondary"])),
    st.builds(lambda d, level, cat: ("special_disease", "220100", {"disease": d, "level": level, "category": cat}),
              st.sampled_from(SPECIAL_DISEASES), st.sampled_from(SD_LEVELS), st.sampled_from(CATEGORIES)),
    st.builds(lambda d, level, cat: ("special_drug", "220100", {"drug": d, "level": level, "category": cat}),
              st.sampled_from(DRUGS), st.sampled_from(DRUG_LEVELS), st.sampled_from(CATEGORIES)),
    st.builds(lambda d, ins: ("two_diseases", "370100", {"disease": d, "insulin_user": ins}),
              st.sampled_from(["hypertension", "diabetes"]), st.booleans()),
    st.builds(lambda township, level, poverty: ("chronic", "370100", {
        "certified_diseases": ["uremia_dialysis"], "disease": "uremia_dialysis", "level": level,
        "township": township and level == "primary", "poverty_registered": poverty}),
        st.booleans(), st.sampled_from(["primary", "secondary", "municipal_tertiary"]), st.booleans()),
)
year_to_date = st.fixed_dictionaries({
    "fund_paid": st.one_of(cents(260_000), st.sampled_from(["0.00", "299.99", "1099.99", "3479.99", "199999.99"])),
    "shared_fund_paid": st.one_of(cents(7_000), st.sampled_from(["0.00", "6499.99", "6500.00"])),
    "disease_fund_paid": st.one_of(cents(40_000), st.sampled_from(["0.00", "9999.99", "14999.99"])),
    "eligible_counted": st.one_of(cents(100_000), st.sampled_from(["29999.99", "30000.00", "59999.99"])),
    "deductible_paid_amount": st.one_of(cents(1_500), st.sampled_from(["0.00", "199.99", "400.00", "1200.00"])),
})


def _bill(benefit, region, a, b):
    # Jinan 门规: class-B lines are refused (missing parameter), so the generated bill has none there
    return (a, ZERO) if (benefit, region) == ("chronic", "370100") else (a, b)


@PROPERTY_SETTINGS
@given(context=contexts, a=money(80_000), b=money(40_000), c=money(5_000), ytd=year_to_date)
def test_shares_add_up_and_lines_reconcile(context, a, b, c, ytd):
    """Contract: fund + catastrophic + personal == total to the cent, none negative; the fund is the
    banded fund less every cap's cut."""
    benefit, region, extra = context
    a, b = _bill(benefit, region, a, b)
    body = _quote(_request(benefit, region, a, b, c, ytd, **extra))
    total, fund, personal = D(body["total"]), D(body["fund"]), D(body["personal"])
    assert total == a + b + c
    assert fund + D(body["catastrophic"]) + personal == total
    assert body["catastrophic"] == "0.00"
    assert fund >= 0 and personal >= 0
    banded = sum((D(x["amount"]) for x in body["lines"] if x["step"] == "band_fund"), ZERO)
    cut = sum((D(x["amount"]) for x in body["lines"] if x["step"].endswith("_annual_cap")), ZERO)
    assert banded - cut == fund
    s = body["settlement"]
    assert D(s["fulamt_ownpay_amt"]) + D(s["preselfpay_amt"]) + D(s["inscp_scp_amt"]) == total


@PROPERTY_SETTINGS
@given(context=contexts, a=money(60_000), b=money(30_000), more_a=money(20_000), more_b=money(20_000), ytd=year_to_date)
def test_more_bill_never_means_less_fund(context, a, b, more_a, more_b, ytd):
    """DOMAIN §4: with the same year so far, a larger bill never gets a smaller fund share."""
    benefit, region, extra = context
    a, b = _bill(benefit, region, a, b)
    more_a, more_b = _bill(benefit, region, more_a, more_b)
    small = D(_quote(_request(benefit, region, a, b, ZERO, ytd, **extra))["fund"])
    large = D(_quote(_request(benefit, region, a + more_a, b + more_b, ZERO, ytd, **extra))["fund"])
    assert large >= small


visits = st.lists(st.tuples(money(20_000), money(10_000), st.integers(0, 9)), min_size=1, max_size=25)


@PROPERTY_SETTINGS
@given(diseases=st.lists(st.sampled_from(CC_CHRONIC), min_size=1, max_size=8, unique=True), year=visits)
def test_changchun_chronic_and_pool_never_pass_their_caps_over_a_year(diseases, year):
    """DOMAIN §4.2: chronic fund ≤ highest cap + 480 per further disease; chronic + pool ≤ 6 500;
    pool ≤ 1 000 — over any sequence of chronic and pool visits, year_to_date fed forward."""
    chronic = pool = pool_deductible = ZERO
    for a, b, kind in year:
        shared = chronic + pool
        if kind < 6:
            body = _quote(_request("chronic", "220100", a, b, ZERO,
                                   {"fund_paid": chronic, "shared_fund_paid": shared},
                                   certified_diseases=diseases))
            chronic += D(body["fund"])
        else:
            body = _quote(_request("outpatient_pool", "220100", a, b, ZERO,
                                   {"fund_paid": pool, "shared_fund_paid": shared,
                                    "deductible_paid_amount": pool_deductible}))
            pool += D(body["fund"])
            pool_deductible += D(body["settlement"]["act_pay_dedc"])
    assert chronic <= max(CC_CAPS[d] for d in diseases) + 480 * (len(diseases) - 1)
    assert pool <= 1000
    assert chronic + pool <= 6500


@PROPERTY_SETTINGS
@given(category=st.sampled_from(CATEGORIES), year=visits,
       admissions=st.lists(money(60_000), max_size=3))
def test_special_disease_own_caps_and_the_shared_200000_hold_over_a_year(category, year, admissions):
    """DOMAIN §4.1/§4.4: each special disease's own cap (SPD-041 by group, SPD-042, SPD-043); special
    diseases, special drugs and inpatient together ≤ 200 000 of pool fund a year."""
    caps = {"SPD-041": D(15000) if category in MINORS else D(10000), "SPD-042": D(12000), "SPD-043": D(35000)}
    per_disease: dict[str, Decimal] = {}
    shared = ZERO  # the year's cap_fund (inpatient + special disease + special drug)
    own = {"special_disease": [ZERO, ZERO], "special_drug": [ZERO, ZERO]}  # eligible, deductible
    for i, (a, b, pick) in enumerate(year):
        if pick < 5:
            benefit, extra = "special_disease", {"disease": SPECIAL_DISEASES[pick], "level": SD_LEVELS[pick % 3]}
        else:
            benefit, extra = "special_drug", {"drug": DRUGS[pick % 4], "level": DRUG_LEVELS[pick % 2]}
        code = extra.get("disease") or extra["drug"]
        eligible, deductible = own[benefit]
        ytd = {"fund_paid": shared, "eligible_counted": eligible, "deductible_paid_amount": deductible}
        if benefit == "special_disease":
            ytd["disease_fund_paid"] = per_disease.get(code, ZERO)
        body = _quote(_request(benefit, "220100", a * 5, b * 5, ZERO, ytd, category=category, **extra))
        fund = D(body["fund"])
        shared += fund
        per_disease[code] = per_disease.get(code, ZERO) + fund
        own[benefit] = [eligible + D(body["settlement"]["inscp_scp_amt"]),
                        deductible + D(body["settlement"]["act_pay_dedc"])]
        if i < len(admissions):
            inpatient = _quote(_request("inpatient", "220100", admissions[i] * 3, ZERO, ZERO, {"fund_paid": shared},
                                        category=category, level="municipal_tertiary"))
            shared += D(inpatient["fund"])
    for code, cap in caps.items():
        assert per_disease.get(code, ZERO) <= cap
    assert shared <= 200000


@PROPERTY_SETTINGS
@given(year=st.lists(st.tuples(money(2_000), money(1_000), st.booleans(), st.booleans()), min_size=1, max_size=20),
       insulin_from=st.integers(0, 25))
def test_two_diseases_caps_300_400_hold_over_a_year(year, insulin_from):
    """DOMAIN §4.3: per disease a year at most 300, 400 for a diabetic on insulin (from the day
    registered as such, earlier payments counting)."""
    paid = {"hypertension": ZERO, "diabetes": ZERO}
    for i, (a, b, diabetes, _) in enumerate(year):
        disease = "diabetes" if diabetes else "hypertension"
        body = _quote(_request("two_diseases", "370100", a, b, ZERO, {"fund_paid": paid[disease]},
                               disease=disease, insulin_user=i >= insulin_from))
        paid[disease] += D(body["fund"])
    assert paid["hypertension"] <= 300
    assert paid["diabetes"] <= (400 if insulin_from < len(year) else 300)


@PROPERTY_SETTINGS
@given(year=st.lists(st.tuples(money(60_000), st.sampled_from(["primary", "secondary"]), st.booleans()),
                     min_size=1, max_size=15),
       start=st.sampled_from([D(0), D(200000), D(249000)]))
def test_jinan_dialysis_never_passes_the_250000_shared_with_inpatient_nor_pays_200_twice(year, start):
    """DOMAIN §4.2 Jinan: other diseases' fund with inpatient ≤ 250 000; the 200 deductible once a year."""
    fund_paid, deductible = start, ZERO
    for a, level, township in year:
        body = _quote(_request("chronic", "370100", a * 4, ZERO, ZERO,
                               {"fund_paid": fund_paid, "deductible_paid_amount": deductible},
                               certified_diseases=["uremia_dialysis"], disease="uremia_dialysis", level=level,
                               township=township and level == "primary"))
        fund_paid += D(body["fund"])
        deductible += D(body["settlement"]["act_pay_dedc"])
    assert fund_paid <= 250000
    assert deductible <= 200
