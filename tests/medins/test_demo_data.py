"""The newcomer's demo (README, issue #2 item 7): `demo_data` loads both regions, a user per role,
sample persons and cases, and can be run again without creating anything twice."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from claims.models import Case
from claims.settlement.models import SettlementRun
from enrollment.models import Person, School
from medins.models import Institution, PolicyVersion, Region
from medins.roles import ROLES


def _counts():
    return {model.__name__: model.objects.count()
            for model in (Region, Institution, PolicyVersion, Person, School, Case, SettlementRun, get_user_model())}


@pytest.mark.django_db(transaction=True)
def test_demo_data_has_every_role_both_regions_and_is_idempotent():
    call_command("demo_data", stdout=io.StringIO())
    first = _counts()
    assert set(Region.objects.values_list("code", flat=True)) >= {"220100", "370100"}
    users = set(get_user_model().objects.values_list("username", flat=True))
    assert {role.code for role in ROLES} <= users
    assert first["Person"] > 0 and first["Case"] > 0 and first["SettlementRun"] > 0
    # one school per name and region: the enrollment, claims and settlement demos share them
    names = list(School.objects.values_list("region__code", "name"))
    assert len(names) == len(set(names)), names
    # the README's clerk path ends with a certified visits' statement released to payment: every place
    # of use of a demo certification has the bank account release requires
    places = Institution.objects.filter(certification_sites__isnull=False).distinct()
    assert places.exists() and not places.filter(bank_account="").exists()
    call_command("demo_data", stdout=io.StringIO())
    assert _counts() == first
