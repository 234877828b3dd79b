"""Read queries of the settlement app: head counts, month actuals, statements."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, JSONField, Max, OuterRef, Q, QuerySet, Subquery, Sum

from enrollment.models import CoveragePeriod, CoverageStatus
from medins.benefits.rounding import round_money
from medins.models import Institution

from .models import InstitutionOperator, InstitutionSettlement, PoolMembership, Visit

POOL_DESIGNATION = "outpatient_pool"


def pool_institutions(*, region_id: int) -> QuerySet[Institution]:
    """Active outpatient-pool institutions of a region, in a fixed order."""
    return Institution.objects.filter(region_id=region_id, active=True, designations__code=POOL_DESIGNATION).order_by("pk")


def _covered_on(day: dt.date) -> Exists:
    return Exists(CoveragePeriod.objects.filter(person_id=OuterRef("person_id"), status=CoverageStatus.ACTIVE,
                                                covered_from__lte=day, covered_to__gte=day))


def headcounts(*, institution_id: int, year: int, months: list[int]) -> dict[int, int]:
    """Members of the institution in the year covered on the 1st of each month (one query).

    Decision: a member is counted for a month when covered on its first day; cover starting
    later in the month counts from the next month, cover ending in the month still counts it.
    """
    if not months:
        return {}
    aggregates = {
        f"m{k}": Count("pk", filter=Q(_covered_on(dt.date(year, k, 1)))) for k in months
    }
    row = PoolMembership.objects.filter(institution_id=institution_id, year=year).aggregate(**aggregates)
    return {k: row[f"m{k}"] or 0 for k in months}


def _above(marks: dict[int, int], through_month: int) -> Q:
    """Visits of months ≤ through_month above their month's watermark (0: none settled yet)."""
    fresh = [k for k in range(1, through_month + 1) if not marks.get(k)]
    q = Q(month__in=fresh) if fresh else Q(pk__in=[])
    for k in range(1, through_month + 1):
        if marks.get(k):
            q |= Q(month=k, pk__gt=marks[k])
    return q


def _at_or_below(marks: dict[int, int]) -> Q:
    q = Q(pk__in=[])
    for k, mark in marks.items():
        q |= Q(month=k, pk__lte=mark)
    return q


def month_actuals(*, institution_id: int, year: int, through_month: int, marks: dict[int, int],
                  settled: bool = False) -> dict[int, tuple]:
    """{month: (fund-payable sum, visits, highest visit id)} of the visits of months ≤ through_month
    not settled yet (above their month's watermark in `marks`), or with settled=True of those
    settled already (at or below it). One GROUP BY month over (institution, year, month, id)."""
    qs = Visit.objects.filter(institution_id=institution_id, year=year, month__lte=through_month)
    qs = qs.filter(_at_or_below(marks) if settled else _above(marks, through_month))
    rows = (
        qs.values("month").annotate(fund=Sum("fund"), n=Count("pk"), top=Max("pk")).order_by("month")
    )
    # quantized: SQLite's SUM drops trailing zeros (39 for 39.00), and the sums are stored as text
    return {r["month"]: (round_money(r["fund"]), r["n"], r["top"]) for r in rows}


def watermarks_of(account) -> dict[int, int]:
    return {int(k): int(v) for k, v in (account.watermarks or {}).items()}


def with_account_marks(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    """Annotate each visit with its institution-year account's watermarks (`account_marks`), so
    `visit_is_settled` needs no further query."""
    from .models import PoolAccount

    marks = PoolAccount.objects.filter(institution_id=OuterRef("institution_id"), year=OuterRef("year"))
    return qs.annotate(account_marks=Subquery(marks.values("watermarks")[:1], output_field=JSONField()))


def visit_is_settled(visit: Visit) -> bool:
    """Settled when the visit's id is at most its month's watermark (see services/runs.py)."""
    marks = getattr(visit, "account_marks", None)
    if marks is None and not hasattr(visit, "account_marks"):
        from .models import PoolAccount

        marks = (PoolAccount.objects.filter(institution_id=visit.institution_id, year=visit.year)
                 .values_list("watermarks", flat=True).first())
    return visit.pk <= int((marks or {}).get(str(visit.month), 0))


def statement_visits(statement: InstitutionSettlement) -> QuerySet[Visit]:
    """The visits a statement settled: per month, the id range (after, through] it recorded."""
    ranges = statement.detail.get("visit_ranges") or {}
    q = Q(pk__in=[])
    for k, (after, through) in ranges.items():
        q |= Q(month=int(k), pk__gt=after, pk__lte=through)
    return Visit.objects.filter(q, institution_id=statement.institution_id, year=statement.run.year)


def statements() -> QuerySet[InstitutionSettlement]:
    return InstitutionSettlement.objects.select_related("run", "run__region", "institution", "released_by")


def operator_institution_id(user) -> int | None:
    """The institution an institution operator acts for; None for agency users (and anonymous)."""
    if not user or not user.is_authenticated:
        return None
    op = InstitutionOperator.objects.filter(user=user).only("institution_id").first()
    return op.institution_id if op else None


def may_act_for(user, institution_id: int) -> bool:
    """Object-level check (DESIGN "Permissions"): an institution operator only for its own
    institution; an agency user (no operator link) for every institution its permissions allow."""
    operator_of = operator_institution_id(user)
    return operator_of is None or operator_of == institution_id


def institutions_for(user) -> QuerySet[Institution]:
    """The institutions a user may send visits and sign-ups for: every active institution (certified
    visits come from hospitals and pharmacies too; a sign-up list for a non-pool institution is
    refused by pool_signups_import); an institution operator its own only."""
    qs = Institution.objects.filter(active=True).select_related("region")
    operator_of = operator_institution_id(user)
    return qs.filter(pk=operator_of) if operator_of is not None else qs.order_by("region__code", "code")
