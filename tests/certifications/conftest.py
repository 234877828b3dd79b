"""Fixtures of the certification tests: role users, covered persons, hospitals and their operators,
and `walk` to take an application through the workflow (DOMAIN.md §5)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from claims.certifications import services as cs
from claims.certifications.models import CertificationKind
from claims.models import SchoolOperator
from claims.settlement.models import InstitutionOperator
from medins.models import CatalogueItem, Institution
from tests.claims.factories import PersonFactory, SchoolFactory, cover
from tests.enrollment.factories import UserFactory

K = CertificationKind
DAY = dt.date(2021, 3, 1)


def role_user(username: str, role: str):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def intake(reference_data):
    return role_user("c_intake", "intake_clerk")


@pytest.fixture
def reviewer(reference_data):
    return role_user("c_reviewer", "reviewer")


@pytest.fixture
def approver(reference_data):
    return role_user("c_approver", "approver")


@pytest.fixture
def approver2(reference_data):
    return role_user("c_approver2", "approver")


def institution(code: str) -> Institution:
    return Institution.objects.get(code=code)


def item(region: str, code: str) -> CatalogueItem:
    return CatalogueItem.objects.get(region__code=region, code=code)


@pytest.fixture
def operator_of(reference_data):
    """operator_of("CC-H-003"): the institution operator account of that institution."""

    def make(code: str):
        user = role_user(f"op_{code}", "institution_operator")
        InstitutionOperator.objects.create(user=user, institution=institution(code))
        return user

    return make


@pytest.fixture
def cc_person(reference_data):
    person = PersonFactory(birth=dt.date(1960, 5, 1))
    cover(person)
    return person


@pytest.fixture
def jinan_school(reference_data):
    from medins.models import Region

    return SchoolFactory(kind="college", region=Region.objects.get(code="370100"))


@pytest.fixture
def jn_student(jinan_school):
    person = PersonFactory(area="370102", birth=dt.date(2001, 3, 4), school=jinan_school)
    cover(person)
    return person


@pytest.fixture
def school_operator(jinan_school):
    user = UserFactory(username="c_school")
    user.groups.add(Group.objects.get(name="school_operator"))
    SchoolOperator.objects.create(user=user, school=jinan_school)
    return user


def all_documents(cert, user):
    for doc in cert.documents.all():
        cs.certification_attach(acting_user=user, certification=cert, document_code=doc.code, filename=f"{doc.code}.pdf",
                                content_type="application/pdf", content=b"%PDF-1.4 scan")


def approve_path(cert, *, applicant, reviewer, approver, on=DAY):
    """Documents, review, approval: the shortest way to a certification in force."""
    all_documents(cert, applicant)
    cs.certification_start_review(acting_user=reviewer, certification=cert)
    cs.certification_approve(acting_user=approver, certification=cert, on=on)
    cert.refresh_from_db()
    return cert


@pytest.fixture
def chronic_cc(cc_person, operator_of):
    """apply(**overrides): a Changchun chronic application by the exam hospital 中日联谊医院 (CC-H-003),
    treated at 朝阳区医院 (CC-H-019)."""
    exam = operator_of("CC-H-003")

    def apply(**overrides):
        kwargs = dict(acting_user=exam, person=cc_person, kind=K.CHRONIC, item=item("220100", "diabetes"),
                      institution=institution("CC-H-019"))
        kwargs.update(overrides)
        return cs.certification_apply(**kwargs)

    apply.operator = exam
    return apply
