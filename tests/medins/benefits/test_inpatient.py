"""Inpatient rules 1-6 of DOMAIN.md §3 (Changchun 2021), figures computed by hand."""

from decimal import Decimal

import pytest

from .builders import amount_of, lines, quote

EXHAUSTED_FUND = {"fund_paid": "200000.00"}  # the fund pays nothing: covered personal = A + B


def test_class_c_is_personal_only(policy):
    """DOMAIN §3.1 class C is not covered: it adds to personal and changes nothing else."""
    # given a municipal adult admission with and without 1500 of class C
    without_c = quote(policy, a="10000.00")
    # when the same bill carries class C
    with_c = quote(policy, a="10000.00", c="1500.00")
    # then the fund is unchanged (9200 x 60%) and personal grows by exactly 1500
    assert with_c["fund"] == without_c["fund"] == "5520.00"
    assert Decimal(with_c["personal"]) - Decimal(without_c["personal"]) == Decimal("1500.00")
    assert lines(with_c, "class_c_excluded") == [{"step": "class_c_excluded", "amount": "1500.00", "payer": "personal"}]
    assert with_c["settlement"]["fulamt_ownpay_amt"] == "1500.00"
    assert with_c["total"] == "11500.00"


def test_class_b_copay_ten_percent(policy):
    """DOMAIN §3.2 class B: 10% co-pay is personal, 90% is eligible."""
    # given 10000 of class B at a municipal hospital (adult)
    # when quoted
    result = quote(policy, b="10000.00")
    # then 1000 co-pay, 9000 eligible, fund (9000 - 800) x 60%
    (copay,) = lines(result, "class_b_copay")
    assert copay["amount"] == "1000.00"
    assert copay["rate"] == "0.10"
    assert copay["parameter"] == "inpatient.class_b_copay_rate"
    assert result["settlement"]["preselfpay_amt"] == "1000.00"
    assert result["settlement"]["inscp_scp_amt"] == "9000.00"
    assert result["fund"] == "4920.00"


def test_class_b_copay_rounds_half_up(policy):
    """DOMAIN money rule: half-up to the cent; eligible = A + B - rounded co-pay (Decision)."""
    # given class B 123.45: 10% is 12.345
    # when quoted
    result = quote(policy, b="123.45")
    # then the co-pay rounds up to 12.35 (half-even would give 12.34) and eligible is the rest
    assert result["settlement"]["preselfpay_amt"] == "12.35"
    assert result["settlement"]["inscp_scp_amt"] == "111.10"


@pytest.mark.parametrize(
    ("level", "category", "deductible"),
    [
        ("provincial_tertiary", "adult", "1200.00"),
        ("provincial_tertiary", "student", "600.00"),
        ("municipal_tertiary", "adult", "800.00"),
        ("municipal_tertiary", "minor", "400.00"),
        ("secondary", "adult", "400.00"),
        ("secondary", "college_student", "200.00"),
        ("primary", "adult", "200.00"),
        ("primary", "newborn", "100.00"),
    ],
)
def test_deductible_per_level_and_group(policy, level, category, deductible):
    """DOMAIN §3.3 deductible per admission by institution level and rate group."""
    # given an eligible amount well above any deductible
    # when quoted
    result = quote(policy, level=level, category=category, a="5000.00")
    # then the person pays the table's deductible
    (line,) = lines(result, "deductible")
    assert line["amount"] == deductible
    assert line["parameter"] == "inpatient.deductible"
    assert result["settlement"]["act_pay_dedc"] == deductible


def test_eligible_below_deductible_pays_only_eligible(policy):
    """DOMAIN §3.3 an eligible amount below the deductible: the deductible paid is that amount."""
    # given a provincial adult admission of 1000 eligible (deductible 1200)
    # when quoted
    result = quote(policy, level="provincial_tertiary", a="1000.00")
    # then the deductible paid is 1000, the fund pays nothing
    assert result["settlement"]["act_pay_dedc"] == "1000.00"
    assert lines(result, "deductible")[0]["deductible"] == "1200.00"
    assert result["fund"] == "0.00"
    assert result["personal"] == "1000.00"
    assert lines(result, "band_fund") == []


@pytest.mark.parametrize(
    ("class_a", "fund"),
    [
        ("30000.00", "17520.00"),  # 29200 x 60%
        ("30000.01", "17520.01"),  # + 0.01 x 65% = 0.0065 -> 0.01
        ("60000.00", "37020.00"),  # 17520 + 30000 x 65%
        ("60000.01", "37020.01"),  # + 0.01 x 70% = 0.007 -> 0.01
        ("100000.00", "65020.00"),  # 37020 + 40000 x 70%
    ],
)
def test_band_boundaries_municipal_adult(policy, class_a, fund):
    """DOMAIN §3.4 banded ratios: limits 30 000 and 60 000 on the eligible amount, first band from the deductible."""
    # given a municipal adult admission at (or a cent past) a band limit
    # when quoted
    result = quote(policy, a=class_a)
    # then the fund is the banded sum to the cent
    assert result["fund"] == fund
    assert amount_of(result, "band_fund") == Decimal(fund)


def test_bands_lines_show_limits_and_ratios(policy):
    """DOMAIN §3.4 banded ratios, provincial adult 55/60/65 across all three bands."""
    # given a provincial adult admission of 100 000 eligible
    # when quoted
    result = quote(policy, level="provincial_tertiary", a="100000.00")
    # then 28800 x 55% + 30000 x 60% + 40000 x 65%
    bands = lines(result, "band_fund")
    assert [(b["from"], b["to"], b["rate"], b["amount"]) for b in bands] == [
        ("1200.00", "30000.00", "0.55", "15840.00"),
        ("30000.00", "60000.00", "0.60", "18000.00"),
        ("60000.00", "100000.00", "0.65", "26000.00"),
    ]
    assert [b["amount"] for b in lines(result, "band_personal")] == ["12960.00", "12000.00", "14000.00"]
    assert result["fund"] == "59840.00"


def test_bands_round_each_line_half_up(policy):
    """DOMAIN §3.4 banded ratios, secondary child: each band line rounded once, fund is their sum."""
    # given a secondary-level student with 45 678.91 eligible (deductible 200)
    # when quoted
    result = quote(policy, level="secondary", category="student", a="45678.91")
    # then 29800 x 80% = 23840.00 and 15678.91 x 85% = 13327.0735 -> 13327.07
    assert [b["amount"] for b in lines(result, "band_fund")] == ["23840.00", "13327.07"]
    assert result["fund"] == "37167.07"


@pytest.mark.parametrize(
    ("level", "adult_fund", "child_fund"),
    [
        ("municipal_tertiary", "11520.00", "13720.00"),  # 19200 x 60% vs 19600 x 70%
        ("secondary", "13720.00", "15840.00"),  # 19600 x 70% vs 19800 x 80%
        ("primary", "15840.00", "15920.00"),  # same 80% ratio, lower deductible
    ],
)
def test_students_and_minors_get_ten_points_more(policy, level, adult_fund, child_fund):
    """DOMAIN §3.4 +10 points for students and minors (none at primary level), half deductible."""
    # given the same 20 000 bill for an adult and a student
    # when both are quoted
    adult = quote(policy, level=level, a="20000.00")
    student = quote(policy, level=level, category="student", a="20000.00")
    # then the student's fund share is the higher-ratio figure
    assert adult["fund"] == adult_fund
    assert student["fund"] == child_fund


def test_fund_annual_cap_limits_this_admission(policy):
    """DOMAIN §3.5 pool fund at most 200 000 a year: only what is left is paid, the excess is personal."""
    # given 190 000 already paid by the fund this year
    ytd = {"fund_paid": "190000.00"}
    # when an admission would earn 17 520 from the fund (municipal adult, 30 000 eligible)
    result = quote(policy, a="30000.00", ytd=ytd)
    # then the fund pays the 10 000 left, 7 520 is personal and counts for the catastrophic supplement
    assert result["fund"] == "10000.00"
    (cap,) = lines(result, "fund_annual_cap")
    assert cap["amount"] == "7520.00"
    assert cap["payer"] == "personal"
    assert cap["parameter"] == "inpatient.fund_annual_cap"
    assert result["catastrophic"] == "6000.00"  # covered personal 20 000: (20 000 - 10 000) x 60%
    assert result["personal"] == "14000.00"


@pytest.mark.parametrize("fund_paid", ["200000.00", "250000.00"])
def test_fund_annual_cap_exhausted_pays_nothing(policy, fund_paid):
    """DOMAIN §3.5 pool fund cap: nothing left (or more than the cap recorded) means the fund pays 0."""
    # given the yearly fund cap already used up
    # when quoted
    result = quote(policy, a="30000.00", ytd={"fund_paid": fund_paid})
    # then the fund pays nothing and the whole computed share is personal
    assert result["fund"] == "0.00"
    assert lines(result, "fund_annual_cap")[0]["amount"] == "17520.00"


def test_contract_example_by_domain_rules(policy):
    """DOMAIN §3.1-3.6 the contract request: fund 28 200 x 60%, catastrophic 3 080 x 60%."""
    # given the contract's example request (municipal adult, A 20 000, B 10 000, C 1 500)
    # when quoted
    result = quote(policy, a="20000.00", b="10000.00", c="1500.00")
    # then eligible 29 000, deductible 800, fund 16 920; covered personal 13 080 -> catastrophic 1 848
    assert (result["total"], result["fund"], result["catastrophic"], result["personal"]) == (
        "31500.00",
        "16920.00",
        "1848.00",
        "12732.00",
    )
    assert result["settlement"] == {
        "medfee_sumamt": "31500.00",
        "fulamt_ownpay_amt": "1500.00",
        "preselfpay_amt": "1000.00",
        "inscp_scp_amt": "29000.00",
        "act_pay_dedc": "800.00",
        "hifp_pay": "16920.00",
        "hifmi_pay": "1848.00",
        "maf_pay": "0.00",
        "psn_cash_pay": "12732.00",
    }
    assert result["policy_version"] == "220100-2021"


@pytest.mark.parametrize(
    ("class_a", "catastrophic"),
    [
        ("10000.00", "0.00"),  # accumulator reaches the threshold exactly
        ("10000.01", "0.01"),  # 0.01 x 60% = 0.006 -> 0.01
        ("20000.00", "6000.00"),  # first 10 000 of excess at 60%
        ("30000.00", "13000.00"),  # 6000 + 10 000 x 70%
    ],
)
def test_catastrophic_threshold_and_first_bands(policy, class_a, catastrophic):
    """DOMAIN §3.6 catastrophic supplement: accumulation above 10 000, first 10 000 of it at 60%, then 70%."""
    # given a fund cap already used, so the whole bill is covered personal payment
    # when quoted
    result = quote(policy, a=class_a, ytd=EXHAUSTED_FUND)
    # then the supplement is banded on the excess over 10 000
    assert result["catastrophic"] == catastrophic


def test_catastrophic_counts_year_to_date_accumulator(policy):
    """DOMAIN §3.6 catastrophic supplement: this admission's slice of the year's banded excess."""
    # given 15 000 of covered personal payments already this year (3 000 supplement paid)
    ytd = EXHAUSTED_FUND | {"covered_personal": "15000.00", "catastrophic_paid": "3000.00"}
    # when 20 000 more covered personal payment arrives (accumulator 15 000 -> 35 000)
    result = quote(policy, a="20000.00", ytd=ytd)
    # then excess 5 000 -> 25 000: 5 000 x 60% + 15 000 x 70%
    assert [(b["from"], b["to"], b["rate"], b["amount"]) for b in lines(result, "catastrophic_band")] == [
        ("15000.00", "20000.00", "0.60", "3000.00"),
        ("20000.00", "35000.00", "0.70", "10500.00"),
    ]
    assert result["catastrophic"] == "13500.00"
    assert result["personal"] == "6500.00"


def test_catastrophic_top_band_eighty_percent(policy):
    """DOMAIN §3.6 catastrophic supplement: excess above 100 000 at 80%."""
    # given an accumulator of 105 000 (excess 95 000)
    ytd = EXHAUSTED_FUND | {"covered_personal": "105000.00"}
    # when 10 000 more covered personal payment arrives (excess 95 000 -> 105 000)
    result = quote(policy, a="10000.00", ytd=ytd)
    # then 5 000 x 70% + 5 000 x 80%
    assert result["catastrophic"] == "7500.00"


def test_catastrophic_annual_cap(policy):
    """DOMAIN §3.6 catastrophic supplement at most 300 000 a year."""
    # given 299 000 of supplement already paid and a large accumulator
    ytd = EXHAUSTED_FUND | {"covered_personal": "500000.00", "catastrophic_paid": "299000.00"}
    # when an admission would earn 8 000 of supplement (10 000 x 80%)
    result = quote(policy, a="10000.00", ytd=ytd)
    # then only 1 000 is paid and the rest stays personal
    assert result["catastrophic"] == "1000.00"
    (cap,) = lines(result, "catastrophic_annual_cap")
    assert (cap["amount"], cap["payer"], cap["parameter"]) == ("7000.00", "personal", "catastrophic.annual_cap")
    assert result["personal"] == "9000.00"


def test_catastrophic_annual_cap_exhausted(policy):
    """DOMAIN §3.6 catastrophic supplement cap already reached: nothing more is paid."""
    # given the yearly supplement cap used up
    ytd = EXHAUSTED_FUND | {"covered_personal": "500000.00", "catastrophic_paid": "300000.00"}
    # when quoted
    result = quote(policy, a="10000.00", ytd=ytd)
    # then the supplement is zero
    assert result["catastrophic"] == "0.00"
    assert result["personal"] == "10000.00"


def test_catastrophic_excludes_class_c(policy):
    """DOMAIN §3.6 the accumulator counts covered personal payment only (不含丙类)."""
    # given a bill that is all class C
    # when quoted
    result = quote(policy, c="50000.00")
    # then no supplement is paid
    assert result["catastrophic"] == "0.00"
    assert result["personal"] == "50000.00"


def test_deductible_is_per_admission_not_waived_by_year_to_date(policy):
    """DOMAIN §3.3 the inpatient deductible is per admission: year_to_date.deductible_paid does not waive it (Decision)."""
    # given the once-a-year deductible flag set
    # when an inpatient admission is quoted
    result = quote(policy, a="5000.00", ytd={"deductible_paid": True})
    # then the admission's deductible is still charged
    assert result["settlement"]["act_pay_dedc"] == "800.00"
