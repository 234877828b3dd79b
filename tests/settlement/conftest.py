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


# --------------------------------------------------------------------------- certified visits (Changchun)


@pytest.fixture
def changchun(reference_data):
    return Region.objects.get(code="220100")


@pytest.fixture
def cc(changchun):
    """Changchun institutions of the reference data by role: provincial tertiary special-drug
    hospital, secondary district hospital, primary community centre, village clinic, pharmacy."""
    codes = {"tertiary": "CC-H-001", "tertiary2": "CC-H-002", "secondary": "CC-H-019", "secondary2": "CC-H-020",
             "primary": "CC-C-001", "primary2": "CC-C-002", "village": "CC-C-003", "pharmacy": "CC-P-001",
             "pharmacy2": "CC-P-002"}
    by_code = {i.code: i for i in Institution.objects.filter(region=changchun, code__in=codes.values())
               .select_related("region")}
    return {role: by_code[code] for role, code in codes.items()}


@pytest.fixture
def make_resident(changchun):
    """make_resident(covered_from=..., covered_to=..., birth=...) -> a Changchun adult with cover in 2021."""

    def make(covered_from=dt.date(2021, 1, 1), covered_to=dt.date(2021, 12, 31), birth=dt.date(1960, 5, 6), **kwargs):
        person = ef.PersonFactory(area="220102", birth=birth, **kwargs)
        CoveragePeriod.objects.create(person=person, benefit_year=covered_from.year, covered_from=covered_from,
                                      covered_to=covered_to)
        return person

    return make


@pytest.fixture
def certify(changchun, make_user):
    """certify(person, kind, code, institution, valid_from=..., valid_to=None, state="approved",
    sites=[(institution, role, from, to)]) -> an approved Certification, written with the ORM."""
    from claims.certifications.models import Certification, CertificationSite, SiteRole
    from medins.models import CatalogueItem

    catalogue = {"chronic": "chronic_disease", "special_disease": "special_disease", "special_drug": "special_drug",
                 "two_diseases": "chronic_disease"}
    roles = {"chronic": SiteRole.TREATMENT, "special_disease": SiteRole.CERTIFYING,
             "special_drug": SiteRole.APPROVING, "two_diseases": SiteRole.REGISTERING}
    user = make_user("certifier")
    counter = iter(range(1, 10_000))

    def make(person, kind, code, institution, valid_from=dt.date(2021, 1, 1), valid_to=None, state="approved",
             sites=None, **kwargs):
        item = CatalogueItem.objects.get(region=person.region, kind=catalogue[kind], code=code)
        cert = Certification.objects.create(
            number=f"RD{next(counter):06d}{person.pk}", region=person.region, person=person, kind=kind, item=item,
            institution=institution, state=state, applied_by=user, valid_from=valid_from, valid_to=valid_to, **kwargs)
        for inst, role, start, end in sites if sites is not None else [(institution, roles[kind], valid_from, valid_to)]:
            CertificationSite.objects.create(certification=cert, institution=inst, role=role, valid_from=start,
                                             valid_to=end)
        return cert

    return make


def cvisit(visit_id, person, day, benefit, item, a="100.00", b="0.00", c="0.00"):
    return {"visit_id": visit_id, "id_number": person.id_number, "service_date": day.isoformat(), "benefit": benefit,
            "item_code": item, "class_a": a, "class_b": b, "class_c": c}
