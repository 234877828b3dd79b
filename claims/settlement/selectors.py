"""Read queries of the settlement app: head counts, month actuals, statements."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from enrollment.models import CoveragePeriod, CoverageStatus
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


def month_actuals(*, institution_id: int, year: int, through_month: int,
                  statement_id: int | None = None) -> dict[int, tuple]:
    """{month: (fund-payable sum, visits)} of the visits already settled (GROUP BY month), or only
    of those settled by one statement."""
    qs = Visit.objects.filter(institution_id=institution_id, year=year, month__lte=through_month)
    qs = qs.filter(settlement_id=statement_id) if statement_id is not None else qs.filter(settlement__isnull=False)
    rows = (
        qs.values("month").annotate(fund=Sum("fund"), n=Count("pk")).order_by("month")
    )
    return {r["month"]: (r["fund"], r["n"]) for r in rows}


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
    """The outpatient-pool institutions a user may send visits and sign-ups for."""
    qs = Institution.objects.filter(active=True, designations__code=POOL_DESIGNATION).select_related("region")
    operator_of = operator_institution_id(user)
    return qs.filter(pk=operator_of) if operator_of is not None else qs.order_by("region__code", "code")
