"""Builders of the monthly care claim tests: approved assessments, stays, billed days."""

from __future__ import annotations

import datetime as dt

from carecare.models import Assessment, CareStay
from claims.models import Case, CaseType
from medins.models import Region
from tests.claims.factories import cover
from tests.enrollment.factories import PersonFactory

D = dt.date
JUNE = D(2021, 6, 1)
BORN_1943 = D(1943, 5, 10)  # aged 78 in June 2021
MAY_1 = D(2021, 5, 1)


def grade_of(score):
    return "severe" if score <= 40 else "moderate" if score <= 60 else "none"


def approved(person, score, valid_from, *, user, valid_to=None, state="approved"):
    """An approved assessment made directly (the workflow has its own tests)."""
    return Assessment.objects.create(
        person=person, requested_by="person", requested_on=valid_from, requested_by_user=user, state=state,
        scale_version="barthel_changchun_2015", items={}, score=score, grade=grade_of(score), assessed_on=valid_from,
        approved_on=valid_from, valid_from=valid_from, valid_to=valid_to or valid_from.replace(year=valid_from.year + 2))


def resident_in(home, *, user, birth=BORN_1943, score=None, admitted=MAY_1, covered=True, **kwargs):
    """A covered person staying in `home` since `admitted`, with an approved assessment of `score` (None: none)."""
    person = PersonFactory(birth=birth, **kwargs)
    if covered:
        cover(person)
    CareStay.objects.create(person=person, care_home=home, admitted_on=admitted, created_by=user)
    if score is not None:
        approved(person, score, D(2021, 1, 10), user=user)
    return person


def days(first=1, last=30, *, month=6, bed="40.00", nursing="60.00", supplies="15.00", other="0.00"):
    return [{"date": D(2021, month, d).isoformat(), "bed": bed, "nursing": nursing, "supplies": supplies, "other": other}
            for d in range(first, last + 1)]


def entry(person, day_list=None, **kwargs):
    return {"id_number": person.id_number, "days": day_list if day_list is not None else days(**kwargs)}


def inpatient_case(person, admitted, discharged, *, user, state="approved"):
    case_type, _created = CaseType.objects.get_or_create(
        region=Region.objects.get(code="220100"), code="TEST-INPATIENT",
        defaults={"name": "住院", "benefit": "inpatient"})
    return Case.objects.create(case_type=case_type, person=person, state=state, service_from=admitted,
                               service_to=discharged, institution_name="吉林大学第一医院",
                               institution_level="provincial_tertiary", bank_account="6222020200112345678",
                               received_by=user)
