"""The one care-home scoping (carecare.selectors): a care-home operator sees, chooses and acts for
its own home only; agency users for every home."""

import pytest

from carecare import selectors
from carecare.models import CareStay, StayEndReason

pytestmark = pytest.mark.django_db


def test_an_operator_is_scoped_to_its_home_and_an_agency_user_is_not(home, other_home, home_operator, intake):
    assert list(selectors.homes_for(home_operator)) == [home]
    assert {home, other_home} <= set(selectors.homes_for(intake))
    assert selectors.acts_for_home(home_operator, home.pk) and not selectors.acts_for_home(home_operator, other_home.pk)
    assert selectors.acts_for_home(intake, other_home.pk)


def test_rows_are_those_of_the_operators_home(home, other_home, home_operator, intake, resident):
    mine = CareStay(person=resident, care_home=home, admitted_on="2021-01-01", ended_on="2021-02-01",
                    end_reason=StayEndReason.TRANSFER, created_by=intake)
    theirs = CareStay(person=resident, care_home=other_home, admitted_on="2021-02-01", created_by=intake)
    CareStay.objects.bulk_create([mine, theirs])
    assert list(selectors.own_home_rows(home_operator, CareStay.objects.all())) == [mine]
    assert set(selectors.own_home_rows(intake, CareStay.objects.all())) == {mine, theirs}
