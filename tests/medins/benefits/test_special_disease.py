"""Special diseases (门诊特殊疾病, Changchun), DOMAIN.md §4.1; worked examples SD-E1..E3 of
research/outpatient-care-security.md §1.3.2."""

from decimal import Decimal

import pytest

from medins.benefits.certified import split
from medins.benefits.errors import InvalidRequest, NotEligible
from medins.benefits.request import YearToDate
from medins.benefits.special_disease import special_disease_terms

from .shipped import line, quote, snapshot


def sd(disease="SPD-027", category="adult", level="provincial_tertiary", a="0.00", b="0.00", c="0.00", flags=(), **ytd):
    return {"region": "220100", "benefit": "special_disease", "service_date": "2021-04-12",
            "person": {"category": category}, "institution": {"level": level}, "disease": disease,
            "bill": {"class_a": a, "class_b": b, "class_c": c}, "year_to_date": ytd, "flags": list(flags)}


def test_sd_e1_first_visit_pays_the_inpatient_deductible_and_band_1():
    """DOMAIN §4.1 (SD-E1, the contract example): A 3000 B 2000 C 100 at provincial level: co-pay 200,
    eligible 4800, deductible 1200, 3600 × 55 % = 1980; personal 5100 − 1980 = 3120."""
    body = quote(sd(a="3000.00", b="2000.00", c="100.00"))
    assert (body["total"], body["fund"], body["catastrophic"], body["personal"]) == \
        ("5100.00", "1980.00", "0.00", "3120.00")
    s = body["settlement"]
    assert (s["fulamt_ownpay_amt"], s["preselfpay_amt"], s["inscp_scp_amt"], s["act_pay_dedc"]) == \
        ("100.00", "200.00", "4800.00", "1200.00")


def test_sd_e2_bands_run_on_the_years_cumulative_eligible_amount():
    """DOMAIN §4.1 decision (SD-E2): YTD eligible 4800, deductible paid; A 20 000 B 10 000: co-pay
    1000, eligible 29 000 on [4800, 33 800]: 25 200 × 55 % + 3800 × 60 % = 16 140."""
    body = quote(sd(a="20000.00", b="10000.00", eligible_counted="4800.00", deductible_paid_amount="1200.00"))
    assert (body["fund"], body["personal"]) == ("16140.00", "13860.00")
    bands = line(body, "band_fund")
    assert [(x["from"], x["to"], x["amount"]) for x in bands] == [
        ("4800.00", "30000.00", "13860.00"), ("30000.00", "33800.00", "2280.00")]


def test_sd_e3_pku_minor_cap_15000():
    """DOMAIN §4.1 (SD-E3): minor, 苯丙酮尿症 SPD-041, municipal, deductible paid, YTD PKU fund 14 000;
    A 3000 × 70 % = 2100; room 1000 → fund 1000, personal 2000."""
    body = quote(sd("SPD-041", category="minor", level="municipal_tertiary", a="3000.00",
                    deductible_paid_amount="400.00", eligible_counted="20000.00", disease_fund_paid="14000.00",
                    fund_paid="14000.00"))
    assert (body["fund"], body["personal"]) == ("1000.00", "2000.00")
    (cap,) = line(body, "disease_annual_cap")
    assert (cap["cap"], cap["parameter"]) == ("15000.00", "special_disease.annual_cap_by_disease.SPD-041.minor")


@pytest.mark.parametrize(("category", "cap"), [("adult", "10000.00"), ("college_student", "10000.00"),
                                               ("student", "15000.00"), ("newborn", "15000.00")])
def test_pku_cap_by_group(category, cap):
    """DOMAIN §4.1: 15 000 for minors (minor, student, newborn), 10 000 for adults (adult, college student)."""
    body = quote(sd("SPD-041", category=category, level="secondary", a="50000.00", deductible_paid=True))
    assert line(body, "disease_annual_cap")[0]["cap"] == cap
    assert body["fund"] == cap


def test_only_pku_endometriosis_and_bone_metastasis_have_own_caps():
    """DOMAIN §4.1: SPD-042 12 000, SPD-043 35 000; the other 40 diseases none (the old all-disease
    15 000/10 000 cap is gone)."""
    big = {"a": "100000.00", "deductible_paid": True}
    assert quote(sd("SPD-042", **big))["fund"] == "12000.00"
    assert quote(sd("SPD-043", **big))["fund"] == "35000.00"
    body = quote(sd("SPD-027", **big))
    assert Decimal(body["fund"]) > Decimal("35000.00") and line(body, "disease_annual_cap") == []


def test_the_200000_fund_cap_is_shared_with_inpatient():
    """DOMAIN §4.1: special-disease fund counts toward the yearly pool-fund cap of inpatient."""
    body = quote(sd(a="10000.00", deductible_paid=True, fund_paid="199000.00"))
    assert body["fund"] == "1000.00"
    assert line(body, "fund_annual_cap")[0]["parameter"] == "inpatient.fund_annual_cap"


def test_a_later_visit_at_a_higher_level_pays_only_the_difference():
    """DOMAIN §4.1: one deductible a year, amount-based; 400 paid at secondary → 800 more at provincial."""
    body = quote(sd(a="3000.00", deductible_paid_amount="400.00"))
    assert body["settlement"]["act_pay_dedc"] == "800.00"


@pytest.mark.parametrize("level", ["primary", "village"])
def test_primary_or_village_is_not_eligible(level):
    """DOMAIN §4.1: a quote at a primary or village institution is not_eligible."""
    with pytest.raises(NotEligible):
        quote(sd(level=level, a="100.00"))


def test_unknown_disease_and_flags_are_refused():
    with pytest.raises(InvalidRequest) as exc:
        quote(sd("SPD-099", a="1.00"))
    assert exc.value.field == "disease"
    with pytest.raises(InvalidRequest) as exc:
        quote(sd(a="1.00", flags=["referral"]))
    assert exc.value.field == "flags[0]"
    with pytest.raises(InvalidRequest) as exc:
        quote({**sd(), "disease": None})
    assert exc.value.field == "disease"


def test_fast_split_gives_the_compute_figures():
    """Issue #12 item 6: terms once per date, split per visit — SD-E2's figures."""
    terms = special_disease_terms(snapshot("220100"), "provincial_tertiary", "adult", "SPD-027")
    s = split(terms, Decimal("20000.00"), Decimal("10000.00"),
              YearToDate(eligible_counted=Decimal("4800.00"), deductible_paid_amount=Decimal("1200.00")))
    assert (s.fund, s.first_copay, s.eligible, s.deductible_paid) == \
        (Decimal("16140.00"), Decimal("1000.00"), Decimal("29000.00"), Decimal("0.00"))
