"""Read queries of the enrollment app."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q, QuerySet

from .idnumber import normalize
from .models import CoveragePeriod, CoverageStatus, Person

_ID_QUERY = re.compile(r"^\d{1,17}[\dX]?$")


def _active_on(day: dt.date) -> Q:
    return Q(status=CoverageStatus.ACTIVE, covered_from__lte=day, covered_to__gte=day)


def is_covered(person: Person | int, day: dt.date) -> bool:
    """Whether the person has cover on the day (one indexed lookup on person, covered_from, covered_to)."""
    person_id = person if isinstance(person, int) else person.pk
    return CoveragePeriod.objects.filter(_active_on(day), person_id=person_id).exists()


def coverage_on(person: Person | int, day: dt.date) -> CoveragePeriod | None:
    person_id = person if isinstance(person, int) else person.pk
    return CoveragePeriod.objects.filter(_active_on(day), person_id=person_id).select_related("payment").first()


def coverage_timeline(person: Person) -> QuerySet[CoveragePeriod]:
    return CoveragePeriod.objects.filter(person=person).select_related("payment", "stop").order_by("covered_from", "pk")


def persons_search(queryset: QuerySet[Person], term: str) -> QuerySet[Person]:
    """Clerks' person search, every branch an indexed lookup (1 000 000 persons):

    - 18 characters: the full ID number, exact;
    - 1–17 digits: the last digits (prefix search on the reversed number) or the first digits;
    - anything else: the start of the name.
    """
    term = (term or "").strip()
    if not term:
        return queryset
    number = normalize(term)
    if len(number) == 18 and _ID_QUERY.match(number):
        return queryset.filter(id_number=number)
    if _ID_QUERY.match(number):
        return queryset.filter(Q(id_reversed__startswith=number[::-1]) | Q(id_number__startswith=number))
    return queryset.filter(name__startswith=term)


def persons_by_id_number(id_numbers: list[str]) -> dict[str, Person]:
    persons = Person.objects.filter(id_number__in=id_numbers).select_related("region", "school")
    return {p.id_number: p for p in persons}
