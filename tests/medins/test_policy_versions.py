"""Versioned policy: the version in force on a date; overlapping versions are refused (DESIGN: policy is data)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from medins.benefits.errors import MissingParameter
from medins.models import PolicyVersion
from medins.selectors import policy_in_force


def test_policy_in_force_on_a_date_of_2021_is_the_2021_version(reference_data):
    snapshot = policy_in_force(region="220100", date=dt.date(2021, 5, 10))
    assert snapshot.version == "220100-2021"
    assert snapshot.get("outpatient_pool.annual_cap") == 1000
    assert snapshot.lookup("outpatient_pool.deductible", "village") == 0


def test_a_date_without_a_version_is_a_missing_parameter(reference_data):
    with pytest.raises(MissingParameter) as exc:
        policy_in_force(region="220100", date=dt.date(2019, 6, 1))
    assert exc.value.parameter == "policy_version"
    assert exc.value.region == "220100"


def test_a_jinan_inpatient_parameter_is_missing(reference_data):
    snapshot = policy_in_force(region="370100", date=dt.date(2021, 5, 10))
    assert snapshot.version == "370100-2021"
    with pytest.raises(MissingParameter) as exc:
        snapshot.get("inpatient.deductible")
    assert exc.value.parameter == "inpatient.deductible"


def test_an_overlapping_version_is_rejected(policy_version_factory):
    # given: 2021 is covered
    existing = policy_version_factory(effective_from=dt.date(2021, 1, 1), effective_to=dt.date(2021, 12, 31))
    # when: a version of the same region starting inside it
    overlapping = PolicyVersion(
        region=existing.region, code="x-2021b", title="t", effective_from=dt.date(2021, 7, 1), effective_to=None
    )
    # then
    with pytest.raises(ValidationError) as exc:
        overlapping.full_clean()
    assert "effective_from" in exc.value.message_dict


def test_a_following_version_and_another_region_are_accepted(policy_version_factory, region_factory):
    existing = policy_version_factory(effective_from=dt.date(2021, 1, 1), effective_to=dt.date(2021, 12, 31))
    PolicyVersion(region=existing.region, code="x-2022", title="t", effective_from=dt.date(2022, 1, 1)).full_clean()
    PolicyVersion(region=region_factory(), code="y-2021", title="t", effective_from=dt.date(2021, 1, 1)).full_clean()


def test_an_end_before_the_start_is_rejected(region_factory):
    version = PolicyVersion(
        region=region_factory(), code="z-2021", title="t", effective_from=dt.date(2021, 5, 1), effective_to=dt.date(2021, 4, 30)
    )
    with pytest.raises(ValidationError) as exc:
        version.full_clean()
    assert "effective_to" in exc.value.message_dict
