"""Settlement fixtures: reference data (Jinan policy + 山东大学校医院), a college with its clinic,
members with cover, users by role, and helpers to ingest visits and run settlements."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission

from claims.settlement.models import SchoolClinic
from claims.settlement.services import visits_ingest
from enrollment.models import CoveragePeriod, SchoolKind
from medins.models import Institution, Region
from tests.enrollment import factories as ef


@pytest.fixture
def jinan(reference_data):
    return Region.objects.get(code="370100")


@pytest.fixture
def clinic(jinan):
    return Institution.objects.get(region=jinan, code="JN-S-001")


@pytest.fixture
def college(jinan, clinic):
    school = ef.SchoolFactory(region=jinan, kind=SchoolKind.COLLEGE, name="山东大学", code="SDU")
    SchoolClinic.objects.create(school=school, institution=clinic)
    return school


@pytest.fixture
def make_student(college):
    """make_student(covered_from=..., covered_to=...) -> a Jinan college student with cover in 2021."""

    def make(covered_from=dt.date(2021, 1, 1), covered_to=dt.date(2021, 12, 31), school=college, **kwargs):
        person = ef.PersonFactory(area="370102", birth=dt.date(2001, 3, 4), school=school, **kwargs)
        CoveragePeriod.objects.create(person=person, benefit_year=covered_from.year, covered_from=covered_from,
                                      covered_to=covered_to)
        return person

    return make


@pytest.fixture
def make_user(db):
    def make(username, *perms):
        user = ef.UserFactory(username=username)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return user

    return make


@pytest.fixture
def starter(make_user):
    return make_user("starter", "settlement.start_settlementrun", "settlement.view_settlementrun",
                     "settlement.view_institutionsettlement")


@pytest.fixture
def finance(make_user):
    return make_user("finance", "settlement.release_institutionsettlement", "settlement.view_institutionsettlement",
                     "settlement.view_settlementrun")


def visit(visit_id, person, day, a="100.00", b="0.00", c="0.00"):
    return {"visit_id": visit_id, "id_number": person.id_number, "service_date": day.isoformat(),
            "class_a": a, "class_b": b, "class_c": c}


@pytest.fixture
def ingest(clinic):
    def run(rows, institution=clinic):
        return visits_ingest(acting_user=None, institution=institution, rows=rows)

    return run
