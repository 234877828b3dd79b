"""Special drugs (门诊特药), DOMAIN.md §4.4; worked examples DR-E1..E3 of
research/outpatient-care-security.md §2.3.1."""

import datetime as dt
from decimal import Decimal

import pytest

from medins.benefits import compute, parse_quote_request
from medins.benefits.certified import split
from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible
from medins.benefits.policy import CatalogueEntry
from medins.benefits.request import YearToDate
from medins.benefits.special_drug import special_drug_terms

from .shipped import catalogue, line, quote, snapshot


def dr(drug="CC-D-003", category="adult", level="provincial_tertiary", a="0.00", b="0.00", c="0.00", region="220100",
       **ytd):
    return {"region": region, "benefit": "special_drug", "service_date": "2021-03-08",
            "person": {"category": category}, "institution": {"level": level}, "drug": drug,
            "bill": {"class_a": a, "class_b": b, "class_c": c}, "year_to_date": ytd}


def test_dr_e1_copay_35_replaces_the_class_b_copay():
    """DOMAIN §4.4 (DR-E1, the contract example): 曲妥珠单抗 20 000, approved at a provincial hospital:
    first self-pay 7000, eligible 13 000, deductible 1200, 11 800 × 55 % = 6490; personal 13 510."""
    body = quote(dr(b="20000.00"))
    assert (body["fund"], body["personal"]) == ("6490.00", "13510.00")
    assert body["settlement"]["preselfpay_amt"] == "7000.00"  # 35 %, no extra 10 % class-B co-pay
    assert line(body, "special_drug_first_copay")[0]["rate"] == "0.35"


def test_dr_e2_copay_10_minor_municipal():
    """DOMAIN §4.4 (DR-E2): 伊马替尼 (copay_10) 10 000, minor, municipal: 1000 first, deductible 400,
    8600 × 70 % = 6020; personal 3980."""
    body = quote(dr("CC-D-094", category="minor", level="municipal_tertiary", b="10000.00"))
    assert (body["fund"], body["personal"]) == ("6020.00", "3980.00")


def test_dr_e3_third_purchase_crosses_into_band_2():
    """DOMAIN §4.4 (DR-E3): YTD eligible 26 000, deductible paid; 20 000: eligible 13 000 on
    [26 000, 39 000]: 4000 × 55 % + 9000 × 60 % = 7600; personal 12 400."""
    body = quote(dr(b="20000.00", eligible_counted="26000.00", deductible_paid_amount="1200.00"))
    assert (body["fund"], body["personal"]) == ("7600.00", "12400.00")


def test_the_first_self_pay_applies_to_class_a_too_and_class_c_is_personal():
    body = quote(dr(a="10000.00", c="500.00", deductible_paid=True))
    assert body["settlement"]["preselfpay_amt"] == "3500.00"
    assert body["fund"] == "3575.00"  # 6500 × 55 %
    assert body["personal"] == "6925.00"


def test_fund_counts_toward_the_200000_shared_with_inpatient():
    body = quote(dr(b="20000.00", deductible_paid=True, fund_paid="199999.00"))
    assert body["fund"] == "1.00"


@pytest.mark.parametrize("level", ["secondary", "primary", "ungraded"])
def test_a_level_of_no_special_drug_hospital_is_not_eligible(level):
    """DOMAIN §4.4 decision: the approving hospital's level (the ten are tertiary)."""
    with pytest.raises(NotEligible):
        quote(dr(b="100.00", level=level))


def test_jinan_basic_special_drug_is_a_missing_parameter():
    """DOMAIN §4.4: the Jinan class-B rule and inpatient ratios are missing."""
    with pytest.raises(MissingParameter) as exc:
        quote(dr("JN-D-013", region="370100", b="1000.00"))  # 伊马替尼
    assert exc.value.parameter == "special_drug.first_copay_rate"
    with pytest.raises(MissingParameter) as exc:
        quote(dr("JN-D-025", region="370100", b="1000.00"))  # 阿扎胞苷, its own 40 %
    assert exc.value.parameter.startswith("inpatient.")


@pytest.mark.parametrize("drug", ["JN-D-053", "JN-D-054", "JN-D-055", "JN-D-056"])
def test_jinan_catastrophic_insurance_drugs_are_handed_off(drug):
    """DOMAIN §4.4: the four catastrophic-insurance drugs are paid by the insurer: record and hand off."""
    with pytest.raises(NotEligible) as exc:
        quote(dr(drug, region="370100", b="1000.00"))
    error = exc.value.as_dict()
    assert error["code"] == "not_eligible"
    assert error["hand_off"] == "大病保险承办保险公司"


def test_unknown_drug_and_a_drug_outside_its_validity_are_refused():
    with pytest.raises(InvalidRequest) as exc:
        quote(dr("CC-D-999", b="1.00"))
    assert exc.value.field == "drug"
    # a catalogue item ended before the service date is not in force (contract: the group in force)
    items = dict(catalogue("220100"))
    old = items[("special_drug", "CC-D-003")]
    items[("special_drug", "CC-D-003")] = CatalogueEntry(old.kind, old.code, old.name, old.group, old.attributes,
                                                         valid_to=dt.date(2020, 12, 31))
    policy = snapshot("220100", dt.date(2021, 3, 8))
    policy.catalogue = items
    with pytest.raises(InvalidRequest):
        compute(parse_quote_request(dr(b="1.00")), policy)


def test_fast_split_gives_the_compute_figures():
    """Issue #12 item 6: DR-E3 through terms + split."""
    terms = special_drug_terms(snapshot("220100"), "provincial_tertiary", "adult", "CC-D-003")
    s = split(terms, Decimal("0.00"), Decimal("20000.00"),
              YearToDate(eligible_counted=Decimal("26000.00"), deductible_paid=True))
    assert s.fund == Decimal("7600.00")
