"""Read queries of long-term care.

``care_days`` is what the monthly care claims check each billed day against: for many persons
and one month, per person per day, the home the person stayed in (admission day in, end day
out), whether the person was absent (hospital) and whether the person had died. It reads three
set-based queries per chunk of persons (stays, absences, deaths) whatever the number of
residents, and computes the days in Python with the pure :func:`month_days`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from enrollment.models import Stop, StopReason
from medins.models import Institution

from .models import (
    CARE_HOME_DESIGNATION,
    CARE_HOME_KIND,
    Assessment,
    AssessmentState,
    CareStay,
    StayAbsence,
    StayEndReason,
)

CHUNK = 5000


# ------------------------------------------------------------------------------ care homes, operators


def care_homes() -> QuerySet[Institution]:
    return Institution.objects.filter(kind=CARE_HOME_KIND, designations__code=CARE_HOME_DESIGNATION).distinct()


def is_care_home(institution) -> bool:
    return institution is not None and care_homes().filter(pk=institution.pk).exists()


def operator_home_id(user) -> int | None:
    """The care home an institution operator acts for (settlement.InstitutionOperator); None for
    agency users. An operator of an institution that is not a care home acts for that
    institution all the same: it then sees no care home's residents."""
    from claims.settlement.selectors import operator_institution_id

    return operator_institution_id(user)


# The one care-home scoping (a care-home operator sees and acts for its own home only; agency users
# for every home): the rows, the homes to choose from, and the check of a home acted for.


def own_home_rows(user, queryset: QuerySet, field: str = "care_home_id") -> QuerySet:
    """`queryset`'s rows of the user's care home (by `field`); all of them for agency users."""
    home = operator_home_id(user)
    return queryset if home is None else queryset.filter(**{field: home})


def homes_for(user) -> QuerySet[Institution]:
    """The care homes the user may choose: its own for a care-home operator, every one for agency users."""
    return own_home_rows(user, care_homes(), "pk")


def acts_for_home(user, home_id: int | None) -> bool:
    """The user may act for care home `home_id` (an agency user for any)."""
    home = operator_home_id(user)
    return home is None or home == home_id


def assessments_for(user) -> QuerySet[Assessment]:
    """Assessments a user may see: all for agency users; a care-home operator only those its home
    requested or of persons staying (or having stayed) in its home."""
    qs = Assessment.objects.all()
    home = operator_home_id(user)
    if home is None:
        return qs
    residents = CareStay.objects.filter(care_home_id=home).values("person_id")
    return qs.filter(Q(care_home_id=home) | Q(person_id__in=residents))


def stays_for(user) -> QuerySet[CareStay]:
    return own_home_rows(user, CareStay.objects.all())


def expiring_assessments(*, today: dt.date, within_days: int = 60) -> QuerySet[Assessment]:
    """Approved assessments whose validity ends within `within_days` (to re-assess), with no newer
    assessment already in progress for the person."""
    open_states = (AssessmentState.REQUESTED, AssessmentState.ASSESSED, AssessmentState.REASSESSED,
                   AssessmentState.UNDER_REVIEW)
    in_progress = Assessment.objects.filter(state__in=open_states).values("person_id")
    return (Assessment.objects.filter(state=AssessmentState.APPROVED, valid_to__gt=today,
                                      valid_to__lte=today + dt.timedelta(days=within_days))
            .exclude(person_id__in=in_progress).select_related("person").order_by("valid_to", "pk"))


@dataclass(frozen=True)
class AssessmentPeriod:
    """An approved assessment in force over days ``start <= day < end``."""

    assessment_id: int
    start: dt.date
    end: dt.date
    scale_version: str
    score: int | None
    grade: str


def assessment_periods(*, person_ids: Iterable[int], first: dt.date, end: dt.date) -> dict[int, list[AssessmentPeriod]]:
    """Per person, the approved assessments in force on the days first ≤ day < end, in date order
    — one query per chunk of persons. An assessment counts from its valid_from until its
    valid_to or, when a later one was approved (superseded), until that one's valid_from: a new
    assessment inside a month splits it (contract: one request per assessment)."""
    ids = sorted(set(person_ids))
    out: dict[int, list[AssessmentPeriod]] = {pid: [] for pid in ids}
    for start in range(0, len(ids), CHUNK):
        rows = (Assessment.objects.filter(person_id__in=ids[start:start + CHUNK],
                                          state__in=(AssessmentState.APPROVED, AssessmentState.SUPERSEDED),
                                          valid_from__lt=end, valid_to__gt=first)
                .order_by("person_id", "valid_from", "pk")
                .values_list("person_id", "pk", "valid_from", "valid_to", "scale_version", "score", "grade"))
        by_person: dict[int, list] = defaultdict(list)
        for row in rows:
            by_person[row[0]].append(row)
        for pid, items in by_person.items():
            for i, (_pid, pk, frm, to, version, score, grade) in enumerate(items):
                stop = min(to, items[i + 1][2]) if i + 1 < len(items) else to
                lo, hi = max(frm, first), min(stop, end)
                if lo < hi:
                    out[pid].append(AssessmentPeriod(pk, lo, hi, version, score, grade))
    return out


def approved_assessment_on(person_id: int, day: dt.date) -> Assessment | None:
    return (Assessment.objects.filter(person_id=person_id, valid_from__lte=day, valid_to__gt=day)
            .filter(state__in=(AssessmentState.APPROVED, AssessmentState.SUPERSEDED))
            .order_by("-valid_from", "-pk").first())


# ------------------------------------------------------------------------------ care days


@dataclass(frozen=True)
class StayRow:
    stay_id: int
    home_id: int
    admitted_on: dt.date
    ended_on: dt.date | None


@dataclass(frozen=True)
class AbsenceRow:
    stay_id: int
    from_date: dt.date
    to_date: dt.date | None
    reason: str


@dataclass(frozen=True)
class CareDay:
    date: dt.date
    home_id: int | None  # the home the person stayed in that day (None: in no home)
    stay_id: int | None
    absent: bool  # absent from the home that day (absence_reason says why)
    absence_reason: str
    dead: bool  # on or after the date of death


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First day and the day after the last day of the month."""
    first = dt.date(year, month, 1)
    return first, first + dt.timedelta(days=calendar.monthrange(year, month)[1])


def month_days(*, year: int, month: int, stays: Iterable[StayRow], absences: Iterable[AbsenceRow],
               died_on: dt.date | None) -> list[CareDay]:
    """Pure: one person's days of a month. A stay covers admitted_on ≤ day < ended_on; an absence
    from_date ≤ day < to_date; dead from the date of death on. Stays do not overlap (the services
    ensure it; on a transfer day the new stay, which starts that day, is the only one covering it)."""
    first, end = month_bounds(year, month)
    n = (end - first).days
    home: list[int | None] = [None] * n
    stay_of: list[int | None] = [None] * n
    # Day ranges as indexes into the month (claims read 10 500 persons × 30 days: no per-day search).
    for s in sorted(stays, key=lambda s: s.admitted_on):
        lo = max((s.admitted_on - first).days, 0)
        hi = n if s.ended_on is None else min((s.ended_on - first).days, n)
        for i in range(lo, hi):
            if stay_of[i] is None:  # the first stay (by admission) covering the day, as before
                stay_of[i], home[i] = s.stay_id, s.home_id
    reason: list[str | None] = [None] * n
    for a in absences:
        lo = max((a.from_date - first).days, 0)
        hi = n if a.to_date is None else min((a.to_date - first).days, n)
        for i in range(lo, hi):
            if reason[i] is None and stay_of[i] == a.stay_id:
                reason[i] = a.reason
    dead_from = n if died_on is None else min(max((died_on - first).days, 0), n)
    one = dt.timedelta(days=1)
    out = []
    day = first
    for i in range(n):
        out.append(CareDay(date=day, home_id=home[i], stay_id=stay_of[i], absent=reason[i] is not None,
                           absence_reason=reason[i] or "", dead=i >= dead_from))
        day += one
    return out


def care_days(*, person_ids: Iterable[int], year: int, month: int) -> dict[int, list[CareDay]]:
    """Per person (every id asked for) the days of the month: home, absent, dead.

    Three queries per chunk of CHUNK persons — the stays overlapping the month, their absences
    overlapping it, the dates of death (stays ended by death and stops of cover for death) — and
    no query per person or per day."""
    first, end = month_bounds(year, month)
    ids = sorted(set(person_ids))
    result: dict[int, list[CareDay]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        stays: dict[int, list[StayRow]] = defaultdict(list)
        stay_person: dict[int, int] = {}
        died: dict[int, dt.date] = {}
        for sid, pid, home, admitted, ended, reason in (
                CareStay.objects.filter(person_id__in=chunk).filter(
                    Q(admitted_on__lt=end) & (Q(ended_on__isnull=True) | Q(ended_on__gt=first) | Q(end_reason=StayEndReason.DEATH)))
                .values_list("pk", "person_id", "care_home_id", "admitted_on", "ended_on", "end_reason")):
            if reason == StayEndReason.DEATH:
                died[pid] = min(ended, died.get(pid, ended))
            if ended is None or ended > first:
                stays[pid].append(StayRow(sid, home, admitted, ended))
                stay_person[sid] = pid
        absences: dict[int, list[AbsenceRow]] = defaultdict(list)
        if stay_person:
            for sid, frm, to, reason in (
                    StayAbsence.objects.filter(stay__person_id__in=chunk, from_date__lt=end)
                    .filter(Q(to_date__isnull=True) | Q(to_date__gt=first))
                    .values_list("stay_id", "from_date", "to_date", "reason")):
                if sid in stay_person:
                    absences[stay_person[sid]].append(AbsenceRow(sid, frm, to, reason))
        for pid, stop_date in (Stop.objects.filter(person_id__in=chunk, reason=StopReason.DEATH, stop_date__lt=end)
                               .values_list("person_id", "stop_date")):
            died[pid] = min(stop_date, died.get(pid, stop_date))
        for pid in chunk:
            result[pid] = month_days(year=year, month=month, stays=stays.get(pid, ()), absences=absences.get(pid, ()),
                                     died_on=died.get(pid))
    return result


def person_timeline(person_id: int) -> list[dict]:
    """A person's assessments and stays (with absences) in date order, for the person's page."""
    events: list[dict] = []
    for a in Assessment.objects.filter(person_id=person_id).order_by("requested_on", "pk"):
        events.append({"date": a.requested_on, "kind": "assessment", "obj": a})
    for s in CareStay.objects.filter(person_id=person_id).select_related("care_home").prefetch_related("absences"):
        events.append({"date": s.admitted_on, "kind": "stay", "obj": s})
    events.sort(key=lambda e: (e["date"], e["kind"]))
    return events


# ------------------------------------------------------------------------------ monthly claims


def claim_facts(*, id_numbers: Iterable[str], year: int, month: int) -> dict:
    """What a month's claim checks need of its residents, by ID number (claim_checks.PersonFacts):
    persons, coverage periods, care days (stays, absences, deaths), inpatient cases, the
    assessments in force and the grey-list periods — a fixed number of set-based queries per chunk of CHUNK persons
    whatever the number of residents or days (tests pin it)."""
    from claims.models import Benefit, Case
    from claims.supervision.blocks import grey_listed_periods
    from claims.workflow import CaseState
    from enrollment.models import CoveragePeriod, CoverageStatus, Person

    from .claim_checks import PersonFacts, intervals_index

    first, end = month_bounds(year, month)
    persons: dict[str, tuple[int, dt.date]] = {}
    numbers = sorted(set(id_numbers))
    for start in range(0, len(numbers), CHUNK):
        for pk, number, birth in (Person.objects.filter(id_number__in=numbers[start:start + CHUNK])
                                  .values_list("pk", "id_number", "birth_date")):
            persons[number] = (pk, birth)
    ids = sorted(pk for pk, _birth in persons.values())
    covered: dict[int, tuple] = {}
    inpatient: dict[int, tuple] = {}
    days: dict[int, list] = {}
    periods: dict[int, list] = {}
    grey: dict[int, list] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        covered.update(intervals_index(
            CoveragePeriod.objects.filter(person_id__in=chunk, status=CoverageStatus.ACTIVE, covered_from__lt=end,
                                          covered_to__gte=first).values_list("person_id", "covered_from", "covered_to")))
        inpatient.update(intervals_index(
            Case.objects.filter(person_id__in=chunk, case_type__benefit=Benefit.INPATIENT, service_from__lt=end,
                                service_to__gte=first).exclude(state__in=(CaseState.REJECTED, CaseState.WITHDRAWN))
            .values_list("person_id", "service_from", "service_to")))
        days.update(care_days(person_ids=chunk, year=year, month=month))
        periods.update(assessment_periods(person_ids=chunk, first=first, end=end))
        grey.update(grey_listed_periods(chunk, first, end - dt.timedelta(days=1)))
    return {number: PersonFacts(pk, birth, covered.get(pk, ()), {d.date: d for d in days.get(pk, ())},
                                inpatient.get(pk, ()), tuple(periods.get(pk, ())),
                                tuple((a, b) for a, b in grey.get(pk, ())))
            for number, (pk, birth) in persons.items()}


def claims_for(user) -> QuerySet:
    """Monthly care claims a user may see: all for agency users, a care home's own only."""
    from .models import CareClaim

    return own_home_rows(user, CareClaim.objects.all())


def homes_without_claim(*, month: dt.date) -> list[dict]:
    """The designated care homes that had residents in the month (a stay covering one of its days)
    and have sent no claim for it — the monthly reminder's list (two queries)."""
    from .models import CareClaim

    first, end = month_bounds(month.year, month.month)
    with_residents = CareStay.objects.filter(admitted_on__lt=end).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=first)).values("care_home_id")
    sent = CareClaim.objects.filter(month=first).values("care_home_id")
    return [{"id": pk, "code": code, "name": name} for pk, code, name in
            care_homes().filter(pk__in=with_residents).exclude(pk__in=sent).order_by("code").values_list("pk", "code", "name")]
