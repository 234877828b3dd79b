"""Fixtures of the long-term care tests: clerks by role, care homes, residents."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from claims.settlement.models import InstitutionOperator
from medins.models import Institution
from tests.claims.factories import cover
from tests.enrollment.factories import PersonFactory, UserFactory

# DOMAIN.md §7 example LTC-E0: 35 → severe.
SEVERE_ITEMS = {"feeding": 5, "bathing": 0, "grooming": 0, "dressing": 5, "bowels": 10, "bladder": 5, "toilet": 5,
                "transfer": 5, "walking": 0, "stairs": 0}
MODERATE_ITEMS = {**SEVERE_ITEMS, "feeding": 10, "walking": 10}  # 50
NO_GRADE_ITEMS = {**MODERATE_ITEMS, "stairs": 10, "transfer": 15}  # 70


def role_user(username, *roles, **kwargs):
    user = UserFactory(username=username, **kwargs)
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def assessor(reference_data):
    return role_user("assessor1", "assessor")


@pytest.fixture
def assessor2(reference_data):
    return role_user("assessor2", "assessor")


@pytest.fixture
def reviewer(reference_data):
    return role_user("care_reviewer", "reviewer")


@pytest.fixture
def approver(reference_data):
    return role_user("care_approver", "approver")


@pytest.fixture
def intake(reference_data):
    return role_user("care_intake", "intake_clerk")


@pytest.fixture
def home(reference_data):
    return Institution.objects.get(region__code="220100", code="CC-L-001")


@pytest.fixture
def other_home(reference_data):
    return Institution.objects.get(region__code="220100", code="CC-L-002")


@pytest.fixture
def home_operator(home):
    user = role_user("home_op", "institution_operator")
    InstitutionOperator.objects.create(user=user, institution=home)
    return user


@pytest.fixture
def other_operator(other_home):
    user = role_user("other_op", "institution_operator")
    InstitutionOperator.objects.create(user=user, institution=other_home)
    return user


@pytest.fixture
def resident(reference_data):
    person = PersonFactory(birth=dt.date(1943, 5, 10))
    cover(person)
    return person
