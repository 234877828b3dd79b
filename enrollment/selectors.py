"""Read queries of the enrollment app."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from medins.benefits.errors import QuoteError
from medins.benefits.policy import PolicySnapshot
from medins.models import PolicyParameter, PolicyVersion

from .idnumber import normalize
from .models import Category, CoveragePeriod, CoverageStatus, Payment, Person, SchoolKind, Stop
from .preview import CategoryAges, add_months, age_on, category_ages

COVERED_BATCH = 5000

_ID_QUERY = re.compile(r"^\d{1,17}[\dX]?$")
SHORT_DIGITS = 6  # this many digits or fewer: the last digits of an ID number only


def _active_on(day: dt.date) -> Q:
    return Q(status=CoverageStatus.ACTIVE, covered_from__lte=day, covered_to__gte=day)


def is_covered(person: Person | int, day: dt.date) -> bool:
    """Whether the person has cover on the day (one indexed lookup on person, covered_from, covered_to)."""
    person_id = person if isinstance(person, int) else person.pk
    return CoveragePeriod.objects.filter(_active_on(day), person_id=person_id).exists()


def covered_person_ids(person_ids: Iterable[int], day: dt.date) -> set[int]:
    """The persons among `person_ids` who have cover on the day: `is_covered` for many persons
    (a claims batch, a settlement run) in one query per 5 000 ids instead of one per person."""
    ids = sorted(set(person_ids))
    covered: set[int] = set()
    for start in range(0, len(ids), COVERED_BATCH):
        batch = ids[start:start + COVERED_BATCH]
        covered.update(CoveragePeriod.objects.filter(_active_on(day), person_id__in=batch)
                       .values_list("person_id", flat=True).distinct())
    return covered


def covered_on_exists(day: dt.date, person: str = "pk") -> Exists:
    """`Exists` expression: the outer row's person (field `person`) has cover on the day; for
    filtering or annotating a queryset in the same query (`.filter(covered_on_exists(day))`)."""
    return Exists(CoveragePeriod.objects.filter(_active_on(day), person_id=OuterRef(person)))


def coverage_on(person: Person | int, day: dt.date) -> CoveragePeriod | None:
    person_id = person if isinstance(person, int) else person.pk
    return CoveragePeriod.objects.filter(_active_on(day), person_id=person_id).select_related("payment").first()


def coverage_timeline(person: Person) -> QuerySet[CoveragePeriod]:
    return CoveragePeriod.objects.filter(person=person).select_related("payment", "stop").order_by("covered_from", "pk")


def persons_search(queryset: QuerySet[Person], term: str) -> QuerySet[Person]:
    """Clerks' person search, every branch an indexed lookup (1 000 000 persons):

    - 18 characters: the full ID number, exact;
    - 1–6 digits (or ending in X): the last digits (prefix search on the reversed number);
    - 7–17 digits: the last digits or the first digits;
    - anything else: the start of the name.

    Decision (issue #14 item 6, the issue is silent): up to six digits are the last digits only.
    Six first digits are an area code, shared by a whole district: "the last 4 digits" would
    otherwise also list every person born in an area whose code starts with them, burying the one
    the clerk is looking for (a chooser shows 20 at a time).
    """
    term = (term or "").strip()
    if not term:
        return queryset
    number = normalize(term)
    if len(number) == 18 and _ID_QUERY.match(number):
        return queryset.filter(id_number=number)
    if _ID_QUERY.match(number):
        last = Q(id_reversed__startswith=number[::-1])
        if len(number) <= SHORT_DIGITS or number.endswith("X"):
            return queryset.filter(last)
        return queryset.filter(last | Q(id_number__startswith=number))
    return queryset.filter(name__startswith=term)


def persons_by_id_number(id_numbers: list[str]) -> dict[str, Person]:
    persons = Person.objects.filter(id_number__in=id_numbers).select_related("region", "school")
    return {p.id_number: p for p in persons}


# --------------------------------------------------------------------------- category on a date


def _first_birth_date(approx: dt.date, holds: Callable[[dt.date], bool]) -> dt.date:
    """The earliest birth date for which `holds` is true, `holds` being false for earlier dates
    and true for later ones (younger persons); searched day by day from `approx`."""
    day = dt.timedelta(days=1)
    birth = approx
    while holds(birth - day):
        birth -= day
    while not holds(birth):
        birth += day
    return birth


def category_birth_bounds(day: dt.date, ages: CategoryAges) -> tuple[dt.date, dt.date]:
    """(newborn_from, minor_from): on `day` a person born on or after newborn_from is a newborn,
    one born on or after minor_from is under the adult age — exactly as `preview.category_on`
    decides it with the same `ages` (month-end clamping and 29 February included)."""
    newborn_from = _first_birth_date(add_months(day, -ages.newborn_months), lambda b: day < ages.newborn_until(b))
    minor_from = _first_birth_date(add_months(day, -12 * ages.adult_age), lambda b: age_on(b, day) < ages.adult_age)
    return newborn_from, minor_from


_CATEGORY_KEYS = ("category.newborn_months", "category.adult_age")


def category_ages_on(day: dt.date) -> dict[int, CategoryAges | None]:
    """Region id -> the category boundaries a list or a filter "category (today)" shows (two queries).

    **Decision:** these are read from the region's policy version in force on `day`; when none is
    in force (the current year's policy not loaded yet), from the latest version that began
    before it — a list has to show something, and no money depends on it. Every computation
    (preview, case calculation, visit ingestion) uses the policy in force on its own date and
    refuses when it is missing. None: the region has no usable version (the category is unknown).
    """
    chosen: dict[int, PolicyVersion] = {}
    for version in PolicyVersion.objects.filter(effective_from__lte=day).order_by("region_id", "-effective_from", "-pk"):
        current = chosen.get(version.region_id)
        in_force = version.effective_to is None or version.effective_to >= day
        if current is None or (in_force and not (current.effective_to is None or current.effective_to >= day)):
            chosen[version.region_id] = version
    params: dict[int, dict] = {v.pk: {} for v in chosen.values()}
    for version_id, key, value in PolicyParameter.objects.filter(version_id__in=list(params), key__in=_CATEGORY_KEYS) \
            .values_list("version_id", "key", "value"):
        params[version_id][key] = value
    out: dict[int, CategoryAges | None] = {}
    for region_id, version in chosen.items():
        try:
            out[region_id] = category_ages(PolicySnapshot(region=str(region_id), version=version.code, date=day,
                                                          params=params[version.pk]))
        except QuoteError:
            out[region_id] = None
    return out


def persons_in_category(queryset: QuerySet[Person], category: str, day: dt.date,
                        ages: dict[int, CategoryAges | None] | None = None) -> QuerySet[Person]:
    """DOMAIN §1 category on a date as a filter: birth-date ranges (the birth_date index) and the
    school's kind, per region with its policy's boundaries (`category_ages_on`) — the same answer
    as `Person.category_on(day)` for every person. A region whose boundaries are unknown matches
    no category."""
    if category not in Category.values:
        return queryset
    ages = category_ages_on(day) if ages is None else ages
    condition = Q(pk__in=[])
    for region_id, region_ages in sorted(ages.items()):
        if region_ages is None:
            continue
        newborn_from, minor_from = category_birth_bounds(day, region_ages)
        condition |= Q(region_id=region_id) & {
            Category.NEWBORN: Q(birth_date__gte=newborn_from),
            Category.COLLEGE_STUDENT: Q(birth_date__lt=newborn_from, school__kind=SchoolKind.COLLEGE),
            Category.STUDENT: Q(birth_date__lt=newborn_from, school__kind=SchoolKind.PRIMARY_SECONDARY),
            Category.MINOR: Q(birth_date__gte=minor_from, birth_date__lt=newborn_from, school__isnull=True),
            Category.ADULT: Q(birth_date__lt=minor_from, school__isnull=True),
        }[category]
    return queryset.filter(condition)


# --------------------------------------------------------------------------- change log


@dataclass(frozen=True)
class ChangeEntry:
    """One recorded change on a person's page: when, by whom, what record, what happened."""

    when: dt.datetime
    user: str
    model: type
    object_id: int
    label: str
    action: str  # "+" created, "~" changed, "-" deleted
    changed: tuple[str, ...]  # field names changed, for "~"


_SKIP = {"history_id", "history_date", "history_change_reason", "history_type", "history_user", "history_user_id"}


def person_change_log(person: Person | int, limit: int = 50) -> list[ChangeEntry]:
    """The latest changes of the person and of their payments, coverage periods and stops, newest
    first, with author and time (DESIGN audit). One query per history table (four in all)."""
    person_id = person if isinstance(person, int) else person.pk
    sources = [
        (Person, Person.history.filter(id=person_id)),
        (Payment, Payment.history.filter(person_id=person_id)),
        (CoveragePeriod, CoveragePeriod.history.filter(person_id=person_id)),
        (Stop, Stop.history.filter(person_id=person_id)),
    ]
    entries = []
    for model, qs in sources:
        rows = list(qs.select_related("history_user").order_by("-history_date", "-history_id")[:500])[::-1]
        fields = [f.attname for f in rows[0]._meta.concrete_fields if f.attname not in _SKIP] if rows else []
        previous: dict[int, object] = {}
        for row in rows:
            before = previous.get(row.id)
            changed = tuple(f for f in fields if before is not None and getattr(before, f) != getattr(row, f))
            previous[row.id] = row
            entries.append(ChangeEntry(
                when=row.history_date, user=row.history_user.get_username() if row.history_user else "",
                model=model, object_id=row.id, label=_label(model, row), action=row.history_type, changed=changed))
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def _label(model, row) -> str:
    if model is Person:
        return row.name
    if model is Payment:
        return row.receipt_number
    if model is CoveragePeriod:
        return f"{row.benefit_year}: {row.covered_from} – {row.covered_to}"
    return f"{row.stop_date} {row.get_reason_display()}"
