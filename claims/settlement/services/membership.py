"""Who belongs to which outpatient-pool institution in a year (DOMAIN §8).

- College students belong to their school's clinic (SchoolClinic) automatically:
  `pool_members_sync_schools` adds every college student of the region with cover in the
  year (set-based, idempotent). The settlement run calls it before counting heads.
- Residents belong to the institution they sign with (sign-up list, CSV import).
- One institution per person and year (unique person + year): a second sign-up for another
  institution in the same year is refused, the same one again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from enrollment.models import CoveragePeriod, CoverageStatus, Person, SchoolKind
from medins.models import Institution
from medins.parsing import ParseError, parse_date

from ..errors import InvalidRequest
from ..models import MembershipSource, PoolMembership, SchoolClinic
from ..selectors import POOL_DESIGNATION

BATCH = 5000


def _check_pool_institution(institution: Institution) -> None:
    if not institution.designations.filter(code=POOL_DESIGNATION).exists():
        raise InvalidRequest("institution", _("%(institution)s is not an outpatient-pool institution") % {
            "institution": institution})


@transaction.atomic
def school_clinic_link(*, acting_user, school, institution: Institution) -> SchoolClinic:
    """Link a college to the clinic that serves its students (replaces an earlier link)."""
    if school.kind != SchoolKind.COLLEGE:
        raise InvalidRequest("school", _("only colleges have a school clinic in the outpatient pool"))
    if school.region_id != institution.region_id:
        raise InvalidRequest("institution", _("the clinic is not in the school's region"))
    _check_pool_institution(institution)
    link = SchoolClinic.objects.select_for_update().filter(school=school).first()
    if link is None:
        link = SchoolClinic(school=school, institution=institution)
    elif link.institution_id == institution.pk:
        return link
    link.institution = institution
    link._history_user = acting_user
    link.save()
    return link


@transaction.atomic
def pool_members_sync_schools(*, acting_user, region_id: int, year: int) -> int:
    """Add the college students of the region's linked schools with cover in `year`; returns how many were added.

    Set-based: EXISTS / NOT EXISTS subqueries (never `NOT IN` over every member of the year, which
    PostgreSQL cannot hash once it outgrows work_mem), and on PostgreSQL one INSERT … SELECT …
    ON CONFLICT DO NOTHING instead of streaming the persons through Python.
    """
    covered = CoveragePeriod.objects.filter(person_id=OuterRef("pk"), benefit_year=year, status=CoverageStatus.ACTIVE)
    member = PoolMembership.objects.filter(person_id=OuterRef("pk"), year=year)
    rows = (
        Person.objects.filter(region_id=region_id, school__kind=SchoolKind.COLLEGE, school__clinic__isnull=False)
        .filter(Exists(covered)).exclude(Exists(member))
        .values_list("pk", "school__clinic__institution_id")
        .order_by("pk")
    )
    if connection.vendor == "postgresql":
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {PoolMembership._meta.db_table} (person_id, institution_id, year, source, created_at) "
                f"SELECT q.*, %s, %s, now() FROM ({sql}) AS q ON CONFLICT (person_id, year) DO NOTHING",
                [year, MembershipSource.SCHOOL, *params])
            return cursor.rowcount
    added = 0
    batch = []
    for person_id, institution_id in rows.iterator(chunk_size=BATCH):
        batch.append(PoolMembership(person_id=person_id, institution_id=institution_id, year=year,
                                    source=MembershipSource.SCHOOL))
        if len(batch) == BATCH:
            added += len(PoolMembership.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        added += len(PoolMembership.objects.bulk_create(batch, ignore_conflicts=True))
    return added


def _id_number(row) -> str:
    value = row.get("id_number") if isinstance(row, dict) else None
    text = value.strip().upper() if type(value) is str else ""
    return text if len(text) <= 18 else ""


@dataclass
class SignupResult:
    created: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)


@transaction.atomic
def pool_signups_import(*, acting_user, institution: Institution, year: int, rows: Iterable[dict]) -> SignupResult:
    """Sign-up list of residents for an institution and year: rows {id_number, signed_on}."""
    _check_pool_institution(institution)
    result = SignupResult()
    rows = list(rows)
    id_numbers = [_id_number(row) for row in rows]
    persons = {p.id_number: p.pk for p in Person.objects.filter(id_number__in=set(id_numbers) - {""},
                                                               region_id=institution.region_id)}
    wanted: dict[int, tuple[int, dt.date | None]] = {}
    for number, (row, id_number) in enumerate(zip(rows, id_numbers, strict=True), 1):
        if not isinstance(row, dict):  # e.g. a list of strings: this row's error, not a 500 (issue 11 finding 6)
            result.errors.append({"row": number, "field": "row", "message": _("must be an object {id_number, signed_on}")})
            continue
        person_id = persons.get(id_number)
        if person_id is None:
            result.errors.append({"row": number, "field": "id_number", "message": _("no insured person of this region")})
            continue
        try:
            signed = parse_date(row.get("signed_on"), "signed_on", default=None, lenient=True)
        except ParseError as exc:
            result.errors.append({"row": number, "field": "signed_on", "message": exc.message.localized()})
            continue
        wanted[person_id] = (number, signed)
    existing = dict(PoolMembership.objects.select_for_update().filter(year=year, person_id__in=list(wanted))
                    .order_by("pk").values_list("person_id", "institution_id"))
    new = []
    for person_id, (number, signed) in wanted.items():
        current = existing.get(person_id)
        if current == institution.pk:
            result.unchanged += 1
        elif current is not None:
            result.errors.append({"row": number, "field": "id_number",
                                  "message": _("already a member of another institution in %(year)s") % {"year": year}})
        else:
            new.append(PoolMembership(person_id=person_id, institution=institution, year=year,
                                      source=MembershipSource.SIGNUP, signed_on=signed))
    result.created = len(PoolMembership.objects.bulk_create(new, ignore_conflicts=True))
    return result
