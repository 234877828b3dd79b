"""The long_term_care benefit (DOMAIN.md §7; contracts/quote.md "long_term_care"; research
outpatient-care-security.md §4.3 worked examples LTC-E1..E6). Pure: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from medins.benefits import compute, parse_quote_request
from medins.benefits.errors import InvalidParameter, InvalidRequest, MissingParameter
from medins.benefits.long_term_care import (
    AssessmentWindow,
    age_on,
    care_terms,
    claim_periods,
)
from medins.benefits.policy import PolicySnapshot

LTC_FILE = Path(__file__).resolve().parents[3] / "medins/reference/policies/220100-2021/long_term_care.yaml"
JUNE = [dt.date(2021, 6, d) for d in range(1, 31)]


def ltc_params() -> dict:
    document = yaml.safe_load(LTC_FILE.read_text(encoding="utf-8"))
    return {key: entry["value"] for key, entry in document["parameters"].items()}


PARAMS = ltc_params()


def policy_of(changes: dict | None = None, region: str = "220100") -> PolicySnapshot:
    params = dict(PARAMS)
    for key, value in (changes or {}).items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    return PolicySnapshot(region=region, version=f"{region}-2021", date=dt.date(2021, 6, 1), params=params)


POLICY = policy_of()


def day(date: dt.date, bed="40.00", nursing="60.00", supplies="15.00", other="0.00") -> dict:
    return {"date": date.isoformat(), "bed": bed, "nursing": nursing, "supplies": supplies, "other": other}


def request(days: list[dict], *, birth_date: str = "1943-01-01", adl_score: int | None = 35, **extra) -> dict:
    data = {
        "region": "220100",
        "benefit": "long_term_care",
        "service_date": days[0]["date"],
        "person": {"category": "adult", "birth_date": birth_date},
        "institution": {"level": "care_home"},
        "care": {"adl_score": adl_score, "days": days},
    }
    data.update(extra)
    return data


def quote(data: dict, policy: PolicySnapshot = POLICY) -> dict:
    return compute(parse_quote_request(data), policy).as_dict()


def line(body: dict, step: str) -> dict:
    found = [x for x in body["lines"] if x["step"] == step]
    assert len(found) == 1, (step, [x["step"] for x in body["lines"]])
    return found[0]


def steps(body: dict) -> list[str]:
    return [x["step"] for x in body["lines"]]


def assert_reconciles(body: dict) -> None:
    total, fund, personal = (Decimal(body[k]) for k in ("total", "fund", "personal"))
    assert fund + personal == total and body["catastrophic"] == "0.00"
    assert sum(Decimal(x["amount"]) for x in body["lines"] if x["payer"] == "fund") == fund
    assert sum(Decimal(x["amount"]) for x in body["lines"] if x["payer"] == "personal") == personal


# --------------------------------------------------------------------------- worked examples (research §4.3)


def test_e1_severe_80_percent_of_at_most_107_a_day():
    """DOMAIN §7 rule 1 (LTC-E1): age 78, ADL 35, 30 days of 40+60+15 = 115: 0.80 × 107 × 30."""
    body = quote(request([day(d) for d in JUNE], adl_score=35))
    assert (body["total"], body["fund"], body["personal"]) == ("3450.00", "2568.00", "882.00")
    fund_line = line(body, "ltc_severe")
    assert (fund_line["rate"], fund_line["parameter"]) == ("0.80", "long_term_care.severe_rate")
    assert (fund_line["covered"], fund_line["eligible"], fund_line["days"]) == ("3450.00", "3210.00", 30)
    assert line(body, "ltc_severe_personal")["amount"] == "882.00"
    assert_reconciles(body)


def test_e2_moderate_is_70_percent_of_the_severe_rate():
    """DOMAIN §7 rule 2 (LTC-E2): ADL 55 → 0.56 × 3210."""
    body = quote(request([day(d) for d in JUNE], adl_score=55))
    assert (body["fund"], body["personal"]) == ("1797.60", "1652.40")
    assert line(body, "ltc_moderate")["rate"] == "0.56"
    assert_reconciles(body)


@pytest.mark.parametrize(("bed", "fund"), [("40.00", "600.00"), ("60.00", "750.00")])
def test_e3_aged_85_to_89_bed_fee_half_within_25_a_day_on_average(bed, fund):
    """DOMAIN §7 rule 4 (LTC-E3): age 87, ADL 70 (no grade): 0.50 × bed fee, fund ≤ 25 × 30; nursing and supplies personal."""
    body = quote(request([day(d, bed=bed, nursing="45.00", supplies="5.00") for d in JUNE],
                         birth_date="1934-01-10", adl_score=70))
    assert body["fund"] == fund
    fund_line = line(body, "ltc_aged_bed_fee")
    assert (fund_line["items"], fund_line["cap_on"], fund_line["cap_basis"]) == (["bed"], "fund", "period")
    assert_reconciles(body)


def test_e4_aged_90_or_over_without_grade_56_percent():
    """DOMAIN §7 rule 3 (LTC-E4): age 92, ADL 100: 90 a day ≤ 107 → 0.56 × 2700."""
    body = quote(request([day(d, bed="40.00", nursing="45.00", supplies="5.00") for d in JUNE],
                         birth_date="1929-03-01", adl_score=100))
    assert (body["fund"], body["personal"]) == ("1512.00", "1188.00")
    assert steps(body)[0] == "ltc_aged"
    assert line(body, "ltc_aged")["parameter"] == "long_term_care.aged_rate_factor"


def test_e5_ninetieth_birthday_inside_the_month_splits_it():
    """DOMAIN §7 age in completed years on each day (LTC-E5): born 16 June 1931, ADL 70, 90 a day:
    1–15 June age 89 bed fee 300.00; 16–30 June age 90, 0.56 × 1350 = 756.00."""
    body = quote(request([day(d, bed="40.00", nursing="45.00", supplies="5.00") for d in JUNE],
                         birth_date="1931-06-16", adl_score=70))
    assert (body["fund"], body["personal"]) == ("1056.00", "1644.00")
    bed_fee, aged = line(body, "ltc_aged_bed_fee"), line(body, "ltc_aged")
    assert (bed_fee["amount"], bed_fee["dates"], bed_fee["days"]) == ("300.00", [["2021-06-01", "2021-06-15"]], 15)
    assert (aged["amount"], aged["dates"], aged["days"]) == ("756.00", [["2021-06-16", "2021-06-30"]], 15)
    assert_reconciles(body)


def test_e6_inpatient_days_left_out_by_the_caller_are_not_paid():
    """DOMAIN §7 stays (LTC-E6): severe, inpatient 10–14 June → 25 payable days: 0.80 × 107 × 25 = 2140.00."""
    days = [day(d) for d in JUNE if not dt.date(2021, 6, 10) <= d <= dt.date(2021, 6, 14)]
    body = quote(request(days, adl_score=35))
    assert body["fund"] == "2140.00"
    assert line(body, "ltc_severe")["dates"] == [["2021-06-01", "2021-06-09"], ["2021-06-15", "2021-06-30"]]


# --------------------------------------------------------------------------- each rule of §7


@pytest.mark.parametrize(("score", "step"), [(0, "ltc_severe"), (40, "ltc_severe"), (45, "ltc_moderate"),
                                             (60, "ltc_moderate"), (65, "ltc_no_rule"), (100, "ltc_no_rule")])
def test_grade_comes_from_the_policy_bands_for_the_score(score, step):
    """DOMAIN §7: ≤ 40 severe, 41–60 moderate, above none (age 78: no age rule)."""
    body = quote(request([day(JUNE[0])], adl_score=score))
    assert steps(body)[0] == step


def test_the_bands_are_read_from_the_policy_not_the_request():
    """DOMAIN §7 "grades by the policy's bands": a policy whose severe band reaches 50 pays 80 % for 45."""
    bands = [{"grade": "severe", "min": "0", "max": "50"}, {"grade": "moderate", "min": "51", "max": "60"}]
    body = quote(request([day(JUNE[0])], adl_score=45), policy_of({"long_term_care.adl_grades": bands}))
    assert steps(body)[0] == "ltc_severe"
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request({**request([day(JUNE[0])]), "care": {"adl_score": 35, "grade": "severe", "days": [day(JUNE[0])]}})
    assert exc.value.field == "care.grade"


def test_severe_person_aged_over_90_gets_the_severe_rule():
    """DOMAIN §7 "first rule that applies": severe (80 %) before aged 90+ (56 %)."""
    body = quote(request([day(JUNE[0])], birth_date="1925-01-01", adl_score=20))
    assert body["fund"] == "85.60" and steps(body)[0] == "ltc_severe"


def test_moderate_person_aged_87_gets_the_moderate_rule_not_the_bed_fee():
    """DOMAIN §7 order: moderate (rule 2) before the 85–89 bed fee (rule 4)."""
    body = quote(request([day(JUNE[0])], birth_date="1934-01-01", adl_score=50))
    assert body["fund"] == "59.92" and steps(body)[0] == "ltc_moderate"


def test_the_107_caps_each_days_covered_cost():
    """DOMAIN §7 Decision: 107 caps each day's covered cost — an expensive day does not borrow a cheap day's room.
    15 days of 200 and 15 of 50: 0.80 × (15 × 107 + 15 × 50) = 1884.00 (a period cap would give 2568.00)."""
    days = [day(d, bed="100.00", nursing="80.00", supplies="20.00") for d in JUNE[:15]]
    days += [day(d, bed="20.00", nursing="25.00", supplies="5.00") for d in JUNE[15:]]
    body = quote(request(days, adl_score=35))
    assert body["fund"] == "1884.00"
    assert line(body, "ltc_severe")["eligible"] == "2355.00"
    period = quote(request(days, adl_score=35), policy_of({"long_term_care.daily_cap_basis": "period"}))
    assert period["fund"] == "2568.00"


def test_the_25_caps_the_bed_fee_fund_on_average_over_the_period():
    """DOMAIN §7 Decision: the 25 caps the fund over the period (25 × days), not each day.
    Age 86, 15 days of bed 10 and 15 of bed 80: 0.5 × 1350 = 675 ≤ 750 (a per-day cap would give 450)."""
    days = [day(d, bed="10.00") for d in JUNE[:15]] + [day(d, bed="80.00") for d in JUNE[15:]]
    body = quote(request(days, birth_date="1935-01-01", adl_score=None))
    assert body["fund"] == "675.00"
    per_day = quote(request(days, birth_date="1935-01-01", adl_score=None),
                    policy_of({"long_term_care.bed_fee_cap_basis": "day"}))
    assert per_day["fund"] == "450.00"


def test_the_bed_fee_average_cap_binds_over_the_days_of_that_rule_only():
    """DOMAIN §7: "25 × the days under that rule" — the aged-90 days of a birthday month do not add room."""
    days = [day(d, bed="100.00", nursing="0.00", supplies="0.00") for d in JUNE]
    body = quote(request(days, birth_date="1931-06-11", adl_score=None))
    # 1–10 June age 89: min(0.5 × 1000, 25 × 10) = 250; 11–30 June age 90: 0.56 × 20 × 100 = 1120
    assert line(body, "ltc_aged_bed_fee")["amount"] == "250.00"
    assert line(body, "ltc_aged")["amount"] == "1120.00"


def test_null_score_still_gets_the_age_rules():
    """Contract: adl_score null when the person has none; the age-only rules still apply (DOMAIN §7 rules 3, 4)."""
    assert steps(quote(request([day(JUNE[0])], birth_date="1930-01-01", adl_score=None)))[0] == "ltc_aged"
    assert steps(quote(request([day(JUNE[0])], birth_date="1935-01-01", adl_score=None)))[0] == "ltc_aged_bed_fee"
    nothing = quote(request([day(JUNE[0])], birth_date="1950-01-01", adl_score=None))
    assert (nothing["fund"], steps(nothing)[0]) == ("0.00", "ltc_no_rule")
    assert line(nothing, "ltc_no_rule")["amount"] == "115.00"


def test_under_85_without_a_grade_nothing_is_paid():
    """DOMAIN §7: none of the four rules applies to a 84-year-old without grade."""
    body = quote(request([day(d) for d in JUNE[:3]], birth_date="1936-06-04", adl_score=70))
    assert body["fund"] == "0.00" and body["personal"] == "345.00"


def test_aged_85_from_the_birthday_on():
    """DOMAIN §7 age on each day: the 85th birthday on 3 June starts the bed-fee rule that day."""
    body = quote(request([day(d) for d in JUNE[:4]], birth_date="1936-06-03", adl_score=None))
    assert line(body, "ltc_no_rule")["dates"] == [["2021-06-01", "2021-06-02"]]
    assert line(body, "ltc_aged_bed_fee")["dates"] == [["2021-06-03", "2021-06-04"]]
    assert body["fund"] == "40.00"  # 0.5 × 2 × 40


def test_fund_is_rounded_once_per_rule_group():
    """DOMAIN §7 "Fund per rule group is rounded once": moderate, 3 days of 10.01 covered:
    0.56 × 30.03 = 16.8168 → 16.82 (day by day 3 × 5.61 = 16.83)."""
    days = [day(d, bed="10.01", nursing="0.00", supplies="0.00") for d in JUNE[:3]]
    assert quote(request(days, adl_score=50))["fund"] == "16.82"
    # bed fee: 0.5 × 20.02 = 10.01 (day by day 2 × 5.01 = 10.02)
    bed = [day(d, bed="10.01", nursing="0.00", supplies="0.00") for d in JUNE[:2]]
    assert quote(request(bed, birth_date="1935-01-01", adl_score=None))["fund"] == "10.01"


def test_other_item_is_never_covered():
    """Contract: `other` is never covered; it is personal and shown on its own line."""
    days = [day(d, bed="20.00", nursing="20.00", supplies="10.00", other="100.00") for d in JUNE[:10]]
    body = quote(request(days, adl_score=35))
    assert body["fund"] == "400.00"  # 0.80 × 50 × 10: the 100 of other does not fill the 107
    assert line(body, "other_not_covered")["amount"] == "1000.00"
    assert body["total"] == "1500.00" and body["settlement"]["fulamt_ownpay_amt"] == "1000.00"
    assert_reconciles(body)


def test_birthday_on_29_february_is_completed_on_1_march():
    """DOMAIN §7 completed years (Decision: in a non-leap year a 29 Feb birthday is completed on 1 March)."""
    born = dt.date(1932, 2, 29)
    assert age_on(born, dt.date(2022, 2, 28)) == 89
    assert age_on(born, dt.date(2022, 3, 1)) == 90
    assert age_on(born, dt.date(2024, 2, 29)) == 92
    assert age_on(dt.date(1931, 6, 16), dt.date(2021, 6, 15)) == 89
    assert age_on(dt.date(1931, 6, 16), dt.date(2021, 6, 16)) == 90


def test_jinan_has_no_long_term_care_and_is_refused_naming_the_parameter():
    """DOMAIN preamble (a missing parameter is named) and §7 (Changchun only): Jinan is missing_parameter."""
    jinan = PolicySnapshot(region="370100", version="370100-2021", date=dt.date(2021, 6, 1), params={})
    with pytest.raises(MissingParameter) as exc:
        compute(parse_quote_request({**request([day(JUNE[0])]), "region": "370100"}), jinan)
    assert exc.value.parameter == "long_term_care.adl_grades"


@pytest.mark.parametrize("key", sorted(PARAMS))
def test_every_parameter_is_read_or_named(key):
    """DOMAIN preamble: the benefit reads its figures from the policy; each missing one is refused naming it.
    (assessment_* and benefit_start are read by the assessment workflow, not by the quote.)"""
    if key in ("long_term_care.assessment_scale", "long_term_care.assessment_valid_months",
               "long_term_care.benefit_start"):
        quote(request([day(JUNE[0])]), policy_of({key: None}))
        return
    with pytest.raises(MissingParameter) as exc:
        quote(request([day(JUNE[0])]), policy_of({key: None}))
    assert exc.value.parameter == key


def test_malformed_parameters_are_refused():
    with pytest.raises(InvalidParameter):
        care_terms(policy_of({"long_term_care.daily_cap_basis": "month"}))
    with pytest.raises(InvalidParameter):
        care_terms(policy_of({"long_term_care.covered_items": ["bed", "other"]}))
    with pytest.raises(InvalidParameter):
        care_terms(policy_of({"long_term_care.adl_grades": [{"grade": "severe", "min": "0", "max": "40"},
                                                            {"grade": "moderate", "min": "40", "max": "60"}]}))


# --------------------------------------------------------------------------- request checks


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r["care"]["days"][0].update(massage="1.00"), "care.days[0].massage"),
    (lambda r: r["care"]["days"][1].pop("supplies"), "care.days[1].supplies"),
    (lambda r: r["care"].update(adl_score=42), "care.adl_score"),
    (lambda r: r["care"].update(adl_score=105), "care.adl_score"),
    (lambda r: r["care"].update(adl_score="35"), "care.adl_score"),
    (lambda r: r["care"].pop("adl_score"), "care.adl_score"),
    (lambda r: r["care"]["days"].reverse(), "care.days[0].date"),
    (lambda r: r["care"]["days"].append(day(JUNE[1])), "care.days[2].date"),
    (lambda r: r["care"]["days"].append(day(dt.date(2021, 7, 1))), "care.days[2].date"),
    (lambda r: r.update(service_date="2021-05-31"), "care.days[0].date"),
    (lambda r: r["person"].pop("birth_date"), "person.birth_date"),
    (lambda r: r["person"].update(birth_date="2030-01-01"), "person.birth_date"),
    (lambda r: r.update(bill={"class_a": "1.00", "class_b": "0.00", "class_c": "0.00"}), "bill"),
    (lambda r: r["care"]["days"][0].update(bed="-1.00"), "care.days[0].bed"),
    (lambda r: r["care"].update(days=[]), "care.days"),
])
def test_bad_requests_name_the_field(change, field):
    """Contract: a refused request names the field at fault."""
    data = request([day(JUNE[0]), day(JUNE[1])])
    change(data)
    with pytest.raises(InvalidRequest) as exc:
        quote(data)
    assert exc.value.field == field


def test_care_fields_belong_to_long_term_care_only():
    data = {"region": "220100", "benefit": "inpatient", "service_date": "2021-05-10", "person": {"category": "adult"},
            "institution": {"level": "secondary"}, "bill": {"class_a": "1.00", "class_b": "0.00", "class_c": "0.00"},
            "care": {"adl_score": None, "days": []}}
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(data)
    assert exc.value.field == "care"


# --------------------------------------------------------------------------- periods for the caller


def test_claim_periods_split_at_a_new_assessment_and_keep_the_rest_together():
    """Contract: one request holds one assessment; a re-assessment inside the month supersedes from its date."""
    old = AssessmentWindow("A", dt.date(2019, 7, 1), dt.date(2021, 6, 30))
    new = AssessmentWindow("B", dt.date(2021, 6, 12), None)
    days = [d for d in JUNE if d.day not in (5, 6)]
    periods = claim_periods(days, [new, old])
    assert [(p.assessment, p.days[0].day, p.days[-1].day, len(p.days)) for p in periods] == [
        ("A", 1, 11, 9), ("B", 12, 30, 19)]


def test_claim_periods_days_without_assessment_and_across_months():
    expiring = AssessmentWindow(7, dt.date(2019, 6, 1), dt.date(2021, 6, 10))
    days = JUNE + [dt.date(2021, 7, 1)]
    periods = claim_periods(days, [expiring])
    assert [(p.assessment, p.days[0], len(p.days)) for p in periods] == [
        (7, dt.date(2021, 6, 1), 10), (None, dt.date(2021, 6, 11), 20), (None, dt.date(2021, 7, 1), 1)]


# --------------------------------------------------------------------------- properties

cents = st.integers(min_value=0, max_value=30_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
day_costs = st.fixed_dictionaries({"bed": cents, "nursing": cents, "supplies": cents, "other": cents})
births = st.sampled_from(["1943-01-01", "1936-06-15", "1935-02-01", "1931-06-16", "1931-06-30", "1929-03-01"])
scores = st.sampled_from([None, 0, 35, 40, 45, 55, 60, 65, 100])
PROPERTY_SETTINGS = settings(deadline=None, max_examples=200)


@st.composite
def periods(draw):
    picked = sorted(draw(st.sets(st.integers(min_value=1, max_value=30), min_size=1, max_size=30)))
    return [{"date": dt.date(2021, 6, d).isoformat(), **draw(day_costs)} for d in picked]


@PROPERTY_SETTINGS
@given(days=periods(), birth=births, score=scores)
def test_shares_add_up_to_the_cent(days, birth, score):
    """Contract: fund + personal == total to the cent; the lines add up to each share (DOMAIN §7 money)."""
    body = quote(request(days, birth_date=birth, adl_score=score))
    assert_reconciles(body)
    assert Decimal(body["total"]) == sum(Decimal(d[k]) for d in days for k in ("bed", "nursing", "supplies", "other"))


@PROPERTY_SETTINGS
@given(days=periods(), birth=births, score=scores)
def test_fund_never_above_the_rules_cap(days, birth, score):
    """DOMAIN §7: rules 1–3 pay at most rate × 107 a day; rule 4 at most 25 × its days; never more than the covered cost."""
    body = quote(request(days, birth_date=birth, adl_score=score))
    for x in body["lines"]:
        if x["payer"] != "fund":
            continue
        amount, n, cap, rate = Decimal(x["amount"]), x["days"], Decimal(x["cap"]), Decimal(x["rate"])
        assert amount <= Decimal(x["covered"])
        if x["cap_on"] == "fund":
            assert amount <= cap * n
        else:
            assert amount <= (rate * cap * n).quantize(Decimal("0.01"))


@PROPERTY_SETTINGS
@given(days=periods(), extra=st.lists(day_costs, min_size=1, max_size=5), birth=births, score=scores)
def test_more_days_never_mean_less_fund(days, extra, birth, score):
    """DOMAIN §7: adding payable days to a period never lowers the fund."""
    taken = {d["date"] for d in days}
    free = [dt.date(2021, 6, n).isoformat() for n in range(1, 31) if dt.date(2021, 6, n).isoformat() not in taken]
    added = [{"date": date, **costs} for date, costs in zip(free, extra, strict=False)]
    more = sorted(days + added, key=lambda d: d["date"])
    before = Decimal(quote(request(days, birth_date=birth, adl_score=score))["fund"])
    after = Decimal(quote(request(more, birth_date=birth, adl_score=score))["fund"])
    assert after >= before


def test_the_batch_path_gives_the_contracts_figures():
    """care_terms + care_split (carecare's monthly batch, bench/care_quote.py) = the contract path (LTC-E5)."""
    from medins.benefits.long_term_care import care_split

    costs = {"bed": Decimal("40.00"), "nursing": Decimal("45.00"), "supplies": Decimal("5.00"), "other": Decimal("0.00")}
    groups = care_split(care_terms(POLICY), birth_date=dt.date(1931, 6, 16), grade=None, days=[(d, costs) for d in JUNE])
    assert [(g.name, str(g.fund), len(g.dates)) for g in groups] == [("aged", "756.00", 15), ("aged_bed_fee", "300.00", 15)]
