"""The block checks' shared pieces (issue 15 item 2, review): one rule for which new settlement a
block finding refuses, and the look-back read from the caller's PolicyCache."""

import datetime as dt

import pytest

from claims.supervision.services import look_back_days, refusals_of
from medins.selectors import PolicyCache


def finding(*refs):
    return {"rule": "duplicate_invoice", "settlements": list(refs), "evidence": "-"}


def test_a_pair_of_new_settlements_refuses_the_second_and_a_pair_with_a_paid_one_refuses_the_new_one():
    """Two rows of one batch with one invoice: the first received goes through; against a paid
    settlement, the new one is refused; each refused once, by its first finding."""
    new = ["row:2", "row:1", "row:3"]
    first, second = finding("row:1", "row:2"), finding("case:9", "row:3")
    assert refusals_of([first, second, finding("row:1", "row:3")], new) == {
        "row:1": first, "row:3": second}


@pytest.mark.django_db
def test_look_back_days_reads_the_callers_policy_cache(reference_data, django_assert_num_queries):
    """Changchun 2021: max(split admission 15, supply window 30) + 1 = 31 days, no query once cached."""
    policies = PolicyCache()
    day = dt.date(2021, 6, 15)
    policies.get(region="220100", date=day)
    with django_assert_num_queries(0):
        assert look_back_days("220100", day, policies) == 31
