"""Missing or malformed policy data is refused and named, never guessed (DOMAIN.md preamble)."""

import datetime as dt

import pytest

from medins.benefits.errors import InvalidParameter, MissingParameter
from medins.benefits.policy import PolicySnapshot

from .builders import quote

JINAN = PolicySnapshot(region="370100", version="370100-2021", date=dt.date(2021, 5, 10), params={})


def test_jinan_inpatient_names_the_deductible():
    """DOMAIN §3 is Changchun's: a region without inpatient.* parameters fails naming inpatient.deductible."""
    # given a policy with no inpatient parameters
    # when an inpatient quote is asked for
    with pytest.raises(MissingParameter) as exc:
        quote(JINAN, region="370100", a="1000.00")
    # then the contract's error names the parameter, region and date
    assert exc.value.as_dict() == {
        "code": "missing_parameter",
        "message": str(exc.value),
        "parameter": "inpatient.deductible",
        "region": "370100",
        "date": "2021-05-10",
    }


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"benefit": "day_surgery"}, "day_surgery.deductible"),
        ({"programme": "cataract_both_eyes"}, "fixed_copay.programmes"),
    ],
)
def test_jinan_other_paths_name_their_parameter(kwargs, parameter):
    """DOMAIN §3.8/3.9 day surgery and programmes name their own first missing parameter."""
    # given a policy with no parameters
    # when quoted
    with pytest.raises(MissingParameter) as exc:
        quote(JINAN, region="370100", a="1000.00", **kwargs)
    # then the first parameter the rule reads is named
    assert exc.value.parameter == parameter


def test_village_level_has_no_inpatient_row(policy):
    """DOMAIN §3.3 village clinics (村卫生室) have no inpatient deductible row: missing parameter, level named."""
    # given a village-level admission
    # when quoted
    with pytest.raises(MissingParameter) as exc:
        quote(policy, level="village", a="1000.00")
    # then the row is named
    assert exc.value.parameter == "inpatient.deductible.village"


@pytest.mark.parametrize(
    "key",
    [
        "inpatient.class_b_copay_rate",
        "inpatient.bands",
        "inpatient.fund_annual_cap",
        "catastrophic.threshold",
        "catastrophic.bands",
        "catastrophic.annual_cap",
    ],
)
def test_each_rule_parameter_is_required(policy_with, key):
    """DOMAIN §3 every rule parameter is read for every quote, whatever the amounts."""
    # given a Changchun policy without one parameter
    policy = policy_with({key: None})
    # when a small admission is quoted (no band or supplement would be reached)
    with pytest.raises(MissingParameter) as exc:
        quote(policy, a="1.00")
    # then that parameter is named
    assert exc.value.parameter.startswith(key)


def test_adjustment_parameter_required_only_when_flag_given(policy_with):
    """DOMAIN §3.7 an adjustment parameter is needed only for the flag that uses it."""
    # given a policy without the long-term cut
    policy = policy_with({"adjustment.long_term_out_of_area_points": None})
    # when quoted without and with the flag
    assert quote(policy, a="20000.00")["fund"] == "11520.00"
    with pytest.raises(MissingParameter) as exc:
        quote(policy, a="20000.00", flags=["long_term_out_of_area"])
    # then only the flagged quote fails, naming the parameter
    assert exc.value.parameter == "adjustment.long_term_out_of_area_points"


def test_category_without_group_is_named(changchun_params, policy_with):
    """DOMAIN §1/§3.3 rate groups are policy data: an unmapped category is a missing parameter."""
    # given a category map without newborns
    groups = {k: v for k, v in changchun_params["inpatient.category_group"].items() if k != "newborn"}
    policy = policy_with({"inpatient.category_group": groups})
    # when a newborn is quoted
    with pytest.raises(MissingParameter) as exc:
        quote(policy, category="newborn", a="1000.00")
    # then the missing entry is named
    assert exc.value.parameter == "inpatient.category_group.newborn"


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"inpatient.class_b_copay_rate": "1.5"}, "inpatient.class_b_copay_rate"),
        ({"inpatient.fund_annual_cap": "-1"}, "inpatient.fund_annual_cap"),
        ({"inpatient.fund_annual_cap": "200000.005"}, "inpatient.fund_annual_cap"),
        ({"catastrophic.bands": [{"upto": "10000", "rate": "0.60"}]}, "catastrophic.bands[0]"),
        (
            {"catastrophic.bands": [{"upto": None, "rate": "0.6"}, {"upto": None, "rate": "0.7"}]},
            "catastrophic.bands[0]",
        ),
    ],
)
def test_malformed_parameter_is_refused(policy_with, changes, parameter):
    """DOMAIN preamble: a parameter of the wrong shape is refused, not coerced."""
    # given a policy with a malformed value
    policy = policy_with(changes)
    # when quoted
    with pytest.raises(InvalidParameter) as exc:
        quote(policy, a="1000.00")
    # then it is named
    assert exc.value.parameter == parameter
    assert exc.value.as_dict()["code"] == "invalid_parameter"
