"""Fixtures of the fund-supervision tests: hand-built settlements of every kind, supervisors."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from claims.models import Case, CaseTransition, CaseType, Invoice
from claims.supervision.models import SettlementDetail, SettlementLine
from enrollment.models import CoveragePeriod
from medins.models import Institution
from medins.roles import roles_sync
from tests.claims.factories import PersonFactory
from tests.enrollment.factories import UserFactory

DAY = dt.date(2021, 6, 15)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def role_user(db):
    roles_sync()

    def make(username, role):
        user = UserFactory(username=username)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def supervisors(role_user):
    return role_user("sup1", "supervisor"), role_user("sup2", "supervisor")


@pytest.fixture
def hospitals(reference_data):
    return list(Institution.objects.filter(region__code="220100", kind="hospital").order_by("code")[:2])


@pytest.fixture
def person(reference_data):
    p = PersonFactory(birth=dt.date(1970, 3, 1))
    CoveragePeriod.objects.create(person=p, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                  covered_to=dt.date(2021, 12, 31))
    return p


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk-sup")


@pytest.fixture
def paid_case(clerk, reference_data):
    """paid_case(person, start, end, institution=..., approved_on=DAY, benefit="inpatient", fund=..., invoice=...,
    diagnosis=..., lines=[(date, item, kind, qty, amount)]) — an approved case as the rules read it."""
    counter = iter(range(1, 10_000))

    def make(person, start, end, *, institution=None, approved_on=DAY, benefit="inpatient", fund="1000.00",
             invoice=None, diagnosis=None, transfer=False, lines=(), state="approved", third_party="0.00",
             total="2000.00"):
        case_type = CaseType.objects.filter(region__code="220100", benefit=benefit).order_by("number").first()
        case = Case.objects.create(case_type=case_type, person=person, state=state, service_from=start, service_to=end,
                                   institution=institution, institution_level="municipal_tertiary", bank_account="6222000011112222",
                                   received_by=clerk, fund_amount=Decimal(fund), payable_amount=Decimal(fund),
                                   third_party_paid=Decimal(third_party))
        issuer, number = invoice or ("吉大一院", f"T{next(counter):06d}-{case.pk}")
        Invoice.objects.create(case=case, issuer=issuer, number=number, issued_on=end, class_a=Decimal(total))
        t = CaseTransition.objects.create(case=case, from_state="calculated", to_state="approved", actor=clerk)
        CaseTransition.objects.filter(pk=t.pk).update(at=at(approved_on))
        if diagnosis is not None:
            SettlementDetail.objects.create(kind="case", object_id=case.pk, diagnosis=diagnosis, transfer=transfer)
        SettlementLine.objects.bulk_create([
            SettlementLine(kind="case", object_id=case.pk, date=d, item=item, line_kind=kind, quantity=q, amount=Decimal(a))
            for d, item, kind, q, a in lines])
        return case

    return make
