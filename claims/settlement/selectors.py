"""Read queries of the settlement app: head counts, month actuals, statements."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from enrollment.models import CoveragePeriod, CoverageStatus
from medins.models import Institution

from .models import InstitutionSettlement, PoolMembership, Visit

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


def month_actuals(*, institution_id: int, year: int, through_month: int) -> dict[int, tuple]:
    """{month: (fund-payable sum, visits)} of the visits already settled (GROUP BY month)."""
    rows = (
        Visit.objects.filter(institution_id=institution_id, year=year, month__lte=through_month,
                             settlement__isnull=False)
        .values("month").annotate(fund=Sum("fund"), n=Count("pk")).order_by("month")
    )
    return {r["month"]: (r["fund"], r["n"]) for r in rows}


def statements() -> QuerySet[InstitutionSettlement]:
    return InstitutionSettlement.objects.select_related("run", "run__region", "institution", "released_by")
