"""Chronic diseases (门诊慢性病; Jinan 门规), DOMAIN.md §4.2; worked examples of
research/outpatient-care-security.md §1.3.1 and §1.3.3 (CH-E1, CH-E2, CH-E3, JC-E1)."""

from decimal import Decimal

import pytest
import yaml

from medins.benefits import parse_quote_request
from medins.benefits.certified import split
from medins.benefits.chronic import chronic_terms
from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible
from medins.benefits.request import YearToDate

from .shipped import REFERENCE, line, params, quote, snapshot


def cc(certified=("coronary_heart_disease", "diabetes"), level="primary", a="0.00", b="0.00", c="0.00", **ytd):
    return {"region": "220100", "benefit": "chronic", "service_date": "2021-08-02",
            "person": {"category": "adult"}, "institution": {"level": level},
            "certified_diseases": list(certified), "bill": {"class_a": a, "class_b": b, "class_c": c},
            "year_to_date": ytd}


def jn(disease, level="secondary", a="0.00", b="0.00", c="0.00", township=False, poverty=False, **ytd):
    return {"region": "370100", "benefit": "chronic", "service_date": "2021-08-02",
            "person": {"category": "adult", "poverty_registered": poverty},
            "institution": {"level": level, "township": township},
            "certified_diseases": [disease], "disease": disease,
            "bill": {"class_a": a, "class_b": b, "class_c": c}, "year_to_date": ytd}


def test_ch_e1_pooled_cap_is_highest_plus_480_and_binds():
    """DOMAIN §4.2 (CH-E1, the contract example): 冠心病 3000 + 糖尿病 2400 → cap 3000 + 480 = 3480;
    fund YTD 3200 → room 280; 60 % of 800 = 480 → fund 280; personal 840 − 280 = 560."""
    body = quote(cc(a="500.00", b="300.00", c="40.00", fund_paid="3200.00", shared_fund_paid="3800.00"))
    assert (body["total"], body["fund"], body["personal"]) == ("840.00", "280.00", "560.00")
    (cap,) = line(body, "chronic_annual_cap")
    assert (cap["cap"], cap["remaining"], cap["amount"]) == ("3480.00", "280.00", "200.00")
    assert body["settlement"]["fulamt_ownpay_amt"] == "40.00"
    assert body["settlement"]["preselfpay_amt"] == "0.00"  # decision: no class-B co-pay
    assert body["settlement"]["act_pay_dedc"] == "0.00"  # decision: no deductible


def test_ch_e2_shared_6500_binds_before_the_pooled_cap():
    """DOMAIN §4.2 (CH-E2): 8 diseases, highest 3000 → 3000 + 7 × 480 = 6360; YTD chronic 5400,
    pool 900 → shared room 6500 − 6300 = 200 < pooled room 960 → fund 200."""
    eight = ("coronary_heart_disease", "diabetes", "heart_failure", "gout", "copd", "chronic_gastritis",
             "chronic_diarrhoea", "stroke_hemiplegia")
    body = quote(cc(certified=eight, a="1000.00", fund_paid="5400.00", shared_fund_paid="6300.00"))
    assert body["fund"] == "200.00"
    assert line(body, "chronic_annual_cap") == []
    (shared,) = line(body, "shared_annual_cap")
    assert (shared["cap"], shared["remaining"], shared["amount"]) == ("6500.00", "200.00", "400.00")
    assert line(body, "band_fund")[0]["pooled_cap"] == "6360.00"


def test_ch_e3_outpatient_pool_respects_the_shared_6500():
    """DOMAIN §4.2/§4.5 (CH-E3): pool visit, deductible met, eligible 300 → 150; pool room
    1000 − 600 = 400; shared room 6500 − (5800 + 600) = 100 → pool fund 100."""
    body = quote({"region": "220100", "benefit": "outpatient_pool", "service_date": "2021-08-02",
                  "person": {"category": "adult"}, "institution": {"level": "primary"},
                  "bill": {"class_a": "300.00", "class_b": "0.00", "class_c": "0.00"},
                  "year_to_date": {"fund_paid": "600.00", "deductible_paid": True, "shared_fund_paid": "6400.00"}})
    assert (body["fund"], body["personal"]) == ("100.00", "200.00")
    (shared,) = line(body, "shared_annual_cap")
    assert (shared["remaining"], shared["amount"]) == ("100.00", "50.00")


def test_pool_without_the_shared_figure_is_unchanged_and_jinan_pool_has_no_shared_total():
    """DOMAIN §4.5: the shared field defaults to zero; Jinan's pool shares nothing."""
    body = quote({"region": "370100", "benefit": "outpatient_pool", "service_date": "2021-08-02",
                  "person": {"category": "college_student"}, "institution": {"level": "primary"},
                  "bill": {"class_a": "300.00", "class_b": "0.00", "class_c": "0.00"},
                  "year_to_date": {"shared_fund_paid": "99999.00"}})
    assert body["fund"] == "195.00"  # 65 % of 300, nothing shared in Jinan


def test_single_disease_cap_is_its_own_and_class_b_is_paid_at_60():
    """DOMAIN §4.2: one disease → its own cap (gout 1900); A + B at 60 %, no co-pay."""
    body = quote(cc(certified=("gout",), a="100.00", b="100.00", fund_paid="1850.00", shared_fund_paid="1850.00"))
    assert body["fund"] == "50.00"  # 120 computed, 1900 − 1850 left
    assert line(body, "band_fund")[0]["pooled_cap"] == "1900.00"


@pytest.mark.parametrize("level", ["provincial_tertiary", "municipal_tertiary", "village"])
def test_changchun_level_outside_the_treatment_institutions_is_not_eligible(level):
    """DOMAIN §4.2: treatment at district hospitals (secondary) and community/township centres (primary)."""
    with pytest.raises(NotEligible, match="chronic.levels"):
        quote(cc(level=level, a="100.00"))


def test_unknown_or_repeated_disease_is_refused_naming_it():
    """Contract: certified_diseases are codes of the regional chronic catalogue."""
    with pytest.raises(InvalidRequest) as exc:
        quote(cc(certified=("gout", "SPD-027"), a="1.00"))
    assert exc.value.field == "certified_diseases[1]"
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(cc(certified=("gout", "gout")))
    assert exc.value.field == "certified_diseases[1]"
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(cc(certified=()))
    assert exc.value.field == "certified_diseases"


def test_disease_must_be_one_of_the_certified():
    data = {**cc(certified=("gout",)), "disease": "diabetes"}
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(data)
    assert exc.value.field == "disease"


def test_jc_e1_dialysis_secondary_pays_the_deductible_then_80():
    """DOMAIN §4.2 Jinan (JC-E1): dialysis A 5000 at a secondary hospital, first visit: deductible 200,
    4800 × 80 % = 3840; personal 1160."""
    body = quote(jn("uremia_dialysis", a="5000.00"))
    assert (body["fund"], body["personal"]) == ("3840.00", "1160.00")
    assert body["settlement"]["act_pay_dedc"] == "200.00"


def test_jc_e1_dialysis_at_a_township_centre_no_deductible_90():
    """DOMAIN §4.2 Jinan (JC-E1): the same bill at a township health centre: no deductible, 90 % → 4500."""
    body = quote(jn("uremia_dialysis", level="primary", township=True, a="5000.00"))
    assert (body["fund"], body["settlement"]["act_pay_dedc"]) == ("4500.00", "0.00")
    # a community centre (primary, not township) is exempt from the deductible but pays 80 %
    assert quote(jn("uremia_dialysis", level="primary", a="5000.00"))["fund"] == "4000.00"


def test_jinan_deductible_once_a_year_amount_based_and_poverty_exempt():
    """DOMAIN §4.2 Jinan: 200 once per person per year; none for poverty-registered persons."""
    assert quote(jn("uremia_dialysis", a="1000.00", deductible_paid_amount="150.00"))["fund"] == "760.00"  # (1000−50)×0.8
    body = quote(jn("uremia_dialysis", a="1000.00", poverty=True))
    assert (body["fund"], body["settlement"]["act_pay_dedc"]) == ("800.00", "0.00")
    assert line(body, "deductible")[0]["exempt"] == "person:poverty_registered"


def test_township_flag_only_at_primary_level():
    """DOMAIN §4.2: the township rate applies only at a primary-level institution flagged as one."""
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(jn("uremia_dialysis", level="secondary", township=True, a="1.00"))
    assert exc.value.field == "institution.township"


def test_jinan_class_b_lines_are_a_missing_parameter():
    """DOMAIN §4.2: Jinan's class-B first self-pay is not in the seeds."""
    with pytest.raises(MissingParameter) as exc:
        quote(jn("uremia_dialysis", a="1000.00", b="10.00"))
    assert exc.value.parameter == "chronic.class_b_copay_rate"


@pytest.mark.parametrize("disease", ["hypertension", "diabetes", "malignant_tumour", "haemophilia", "mental_disorder"])
def test_jinan_inpatient_ratio_diseases_are_a_missing_parameter(disease):
    """DOMAIN §4.2: "同住院报销比例" — Jinan inpatient ratios are not in the seeds."""
    with pytest.raises(MissingParameter) as exc:
        quote(jn(disease, a="1000.00"))
    assert exc.value.parameter == "inpatient.bands"
    assert exc.value.region == "370100"


def test_jinan_rate_floor_and_own_caps_with_inpatient_ratios_supplied():
    """DOMAIN §4.2 Jinan: cancer at least 75 %; diabetes capped at 1800 — checked with stand-in
    inpatient parameters (Jinan has none), so the rules are ready when they are given."""
    stand_in = {"inpatient.category_group": {"adult": "adult"},
                "inpatient.bands": {"secondary": [{"upto": "30000", "adult": "0.70"}, {"upto": None, "adult": "0.80"}]},
                "chronic.class_b_copay_rate": "0.10"}
    body = quote(jn("malignant_tumour", a="1200.00"), stand_in)
    assert body["fund"] == "750.00"  # (1200 − 200) × max(0.70, 0.75)
    body = quote(jn("diabetes", a="1200.00", fund_paid="1500.00", deductible_paid=True), stand_in)
    assert body["fund"] == "300.00"  # 840 computed, 1800 − 1500 left
    assert line(body, "disease_annual_cap")[0]["parameter"] == "chronic.annual_cap_by_disease.diabetes"
    body = quote(jn("mental_disorder", a="1000.00", b="100.00", fund_paid="249900.00"), stand_in)
    assert body["fund"] == "100.00"  # no deductible (mental disorder); 250 000 shared with inpatient
    assert line(body, "fund_annual_cap")[0]["parameter"] == "chronic.other_diseases_cap"


def test_jinan_village_clinic_is_not_eligible():
    with pytest.raises(NotEligible):
        quote(jn("uremia_dialysis", level="village", a="100.00"))


def test_fast_split_gives_the_compute_figures():
    """Item 6 of issue #12: terms once, split per visit — the same fund as the quote."""
    policy = snapshot("220100")
    terms = chronic_terms(policy, level="primary", category="adult",
                          certified_diseases=("coronary_heart_disease", "diabetes"))
    s = split(terms, Decimal("500.00"), Decimal("300.00"),
              YearToDate(fund_paid=Decimal("3200.00"), shared_fund_paid=Decimal("3800.00")))
    assert s.fund == Decimal("280.00") and s.eligible == Decimal("800.00")


def test_catalogue_attributes_agree_with_the_parameters():
    """DOMAIN §4.2: the Jinan catalogue's groups and caps are the parameters' (one source of figures)."""
    doc = yaml.safe_load((REFERENCE / "catalogues" / "370100.yaml").read_text("utf-8"))
    items = {row["code"]: row for row in doc["items"]["chronic_disease"]}
    p = params("370100-2021")
    assert {c for c, r in items.items() if r.get("group") == "dialysis"} == set(p["chronic.dialysis_diseases"])
    assert {c for c, r in items.items() if r.get("group") == "rate_floor"} == set(p["chronic.rate_floor_diseases"])
    assert {c: r["attributes"]["annual_cap"] for c, r in items.items() if r.get("group") == "capped"} == \
        p["chronic.annual_cap_by_disease"] == {"hypertension": "1100", "diabetes": "1800"}
    assert {c for c, r in items.items() if (r.get("attributes") or {}).get("deductible_exempt")} == \
        set(p["chronic.deductible_exemptions"]["diseases"])
    cc_items = yaml.safe_load((REFERENCE / "catalogues" / "220100.yaml").read_text("utf-8"))["items"]
    assert {r["code"]: r["attributes"]["annual_cap"] for r in cc_items["chronic_disease"]} == \
        params("220100-2021")["chronic.annual_cap_by_disease"]
