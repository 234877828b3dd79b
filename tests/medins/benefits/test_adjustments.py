"""Out-of-area and referral adjustments, DOMAIN.md §3.7 (handbook Q22, Q24)."""

import pytest

from medins.benefits.errors import InvalidRequest

from .builders import lines, quote

# Municipal adult, 20 000 eligible: 19 200 above the 800 deductible, all in band 1 (60% / 70%).


def test_long_term_out_of_area_cuts_ten_points(policy):
    """DOMAIN §3.7 long-term out-of-area resident: each ratio -10 points."""
    # given a long-term out-of-area adult
    # when quoted
    result = quote(policy, a="20000.00", flags=["long_term_out_of_area"])
    # then 19 200 x 50%
    assert result["fund"] == "9600.00"
    (band,) = lines(result, "band_fund")
    assert (band["rate"], band["base_rate"]) == ("0.50", "0.60")
    assert band["adjustments"] == ["adjustment.long_term_out_of_area_points"]


def test_long_term_out_of_area_keeps_child_ten_points(policy):
    """DOMAIN §3.7 long-term cut applies to the child group's own (+10) ratio."""
    # given a long-term out-of-area student
    # when quoted
    result = quote(policy, category="student", a="20000.00", flags=["long_term_out_of_area"])
    # then 19 600 x (70% - 10%)
    assert result["fund"] == "11760.00"


@pytest.mark.parametrize("flag", ["out_of_area_emergency", "referral"])
def test_emergency_meeting_list_and_referral_keep_local_rates(policy, flag):
    """DOMAIN §3.7 out-of-area emergency meeting the list, approved referral: local rates."""
    # given an emergency on the list, or an approved referral
    # when quoted
    result = quote(policy, a="20000.00", flags=[flag])
    # then the local 60%
    assert result["fund"] == "11520.00"
    assert lines(result, "band_fund")[0]["flags"] == [flag]


@pytest.mark.parametrize(("category", "fund"), [("adult", "3840.00"), ("student", "3920.00")])
def test_non_emergency_flat_twenty_percent_after_deductible(policy, category, fund):
    """DOMAIN §3.7 out-of-area not meeting the emergency list: fund pays a flat 20% (deductible still applies, Decision)."""
    # given an out-of-area admission that is not an emergency
    # when quoted
    result = quote(policy, category=category, a="20000.00", flags=["out_of_area_non_emergency"])
    # then 20% of the eligible above the deductible (19 200 adult, 19 600 student), no +10, no bands
    assert result["fund"] == fund
    (band,) = lines(result, "band_fund")
    assert (band["rate"], band["parameter"]) == ("0.20", "adjustment.non_emergency_flat_rate")


def test_non_emergency_flat_rate_ignores_bands(policy):
    """DOMAIN §3.7 flat 20% across what would be three bands."""
    # given 100 000 eligible out of area, not an emergency
    # when quoted
    result = quote(policy, a="100000.00", flags=["out_of_area_non_emergency"])
    # then (100 000 - 800) x 20% in a single line
    assert [b["amount"] for b in lines(result, "band_fund")] == ["19840.00"]


@pytest.mark.parametrize(
    ("flags", "rate", "fund"),
    [
        (["direct_settlement_skipped"], "0.50", "9600.00"),
        (["out_of_area_emergency", "direct_settlement_skipped"], "0.50", "9600.00"),
        (["out_of_area_non_emergency", "direct_settlement_skipped"], "0.10", "1920.00"),
        (["long_term_out_of_area", "direct_settlement_skipped"], "0.40", "7680.00"),
    ],
)
def test_direct_settlement_skipped_ten_points_on_top(policy, flags, rate, fund):
    """DOMAIN §3.7 direct settlement skipped by the person's choice: -10 points on top of the applicable ratio."""
    # given the person skipped direct settlement
    # when quoted
    result = quote(policy, a="20000.00", flags=flags)
    # then the applicable ratio less 10 points
    assert lines(result, "band_fund")[0]["rate"] == rate
    assert result["fund"] == fund


def test_adjusted_ratio_never_below_zero(policy_with):
    """DOMAIN §3.7 ratios never go below 0 whatever the cut."""
    # given a policy whose long-term cut exceeds every ratio
    policy = policy_with({"adjustment.long_term_out_of_area_points": "-0.95"})
    # when quoted
    result = quote(policy, a="100000.00", flags=["long_term_out_of_area"])
    # then the fund pays nothing and every ratio shows 0
    assert result["fund"] == "0.00"
    assert {b["rate"] for b in lines(result, "band_fund")} == {"0.00"}


def test_where_treated_flags_exclude_each_other(policy):
    """DOMAIN §3.7 an admission is either an emergency meeting the list or not (Decision: refuse both)."""
    # given both emergency flags
    # when quoted, then the second flag is named
    with pytest.raises(InvalidRequest) as exc:
        quote(policy, a="100.00", flags=["out_of_area_emergency", "out_of_area_non_emergency"])
    assert exc.value.field == "flags[1]"
