"""Fixtures of the claims tests: reference data, case types, covered persons, clerks, cases."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission

from claims.models import CaseType
from claims.services import case_receive
from medins.models import Institution
from tests.claims.factories import PersonFactory, SchoolFactory, cover, invoice
from tests.enrollment.factories import UserFactory


@pytest.fixture
def make_clerk(db):
    def make(username, *, perms=("claims",)):
        user = UserFactory(username=username)
        for app in perms:
            user.user_permissions.add(*Permission.objects.filter(content_type__app_label=app))
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["enrollment", "medins"],
                                                             codename__startswith="view_"))
        user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
        return user

    return make


@pytest.fixture
def intake(make_clerk):
    return make_clerk("intake1")


@pytest.fixture
def reviewer(make_clerk):
    return make_clerk("reviewer1")


@pytest.fixture
def approver(make_clerk):
    return make_clerk("approver1")


@pytest.fixture
def changchun_emergency(reference_data):
    return CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission")


@pytest.fixture
def jinan_type(reference_data):
    def get(code):
        return CaseType.objects.get(region__code="370100", code=code)

    return get


@pytest.fixture
def covered_adult(reference_data):
    person = PersonFactory(birth=dt.date(1980, 3, 1))
    cover(person)
    return person


@pytest.fixture
def school(reference_data):
    return SchoolFactory(kind="college")


@pytest.fixture
def hospital(reference_data):
    return Institution.objects.filter(region__code="220100", level="municipal_tertiary").first()


@pytest.fixture
def new_case(intake, changchun_emergency, covered_adult):
    """receive(**overrides): a Changchun out-of-province emergency admission with every material handed in."""

    def receive(**overrides):
        kwargs = dict(acting_user=intake, case_type=changchun_emergency, person=covered_adult,
                      service_from="2021-05-10", service_to="2021-05-20", institution_name="北京协和医院",
                      institution_level="municipal_tertiary", invoices=[invoice()],
                      materials_received=[m.code for m in changchun_emergency.materials.all()])
        kwargs.update(overrides)
        return case_receive(**kwargs)

    return receive
