"""Read queries of the claims app."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from enrollment.models import CoveragePeriod
from enrollment.selectors import _active_on

from .models import Batch, Benefit, Case, CaseMaterial, CaseType, Invoice, MaterialsNotice, SchoolOperator
from .workflow import INVOICE_RELEASED

LOST_INVOICE_PROMISE = ("lost_invoice_promise", "不重复报销、重复享受待遇的书面承诺（发票遗失）")


def normalize_invoice_key(issuer: str, number: str) -> tuple[str, str]:
    return " ".join((issuer or "").split()), (number or "").strip().upper()


def invoice_conflict(issuer: str, number: str, *, exclude_case_id: int | None = None) -> Case | None:
    """The live case that already claims this invoice (issuer + number), if any (DOMAIN §6, §9)."""
    issuer, number = normalize_invoice_key(issuer, number)
    qs = Invoice.objects.filter(issuer=issuer, number=number, claimed=True)
    if exclude_case_id:
        qs = qs.exclude(case_id=exclude_case_id)
    invoice = qs.select_related("case").order_by("pk").first()
    return invoice.case if invoice else None


def claimed_invoices(keys) -> dict[tuple[str, str], int]:
    """For many normalized (issuer, number) keys at once: key -> id of the live case claiming it (one query)."""
    keys = set(keys)
    if not keys:
        return {}
    rows = (Invoice.objects.filter(claimed=True, number__in={n for _i, n in keys})
            .order_by("pk").values_list("issuer", "number", "case_id"))
    out: dict[tuple[str, str], int] = {}
    for issuer, number, case_id in rows:
        if (issuer, number) in keys:
            out.setdefault((issuer, number), case_id)
    return out


def covered_pairs(pairs) -> set[tuple[int, dt.date]]:
    """Which (person_id, day) pairs have cover on the day — enrollment's is_covered for many pairs, one query."""
    by_day: dict[dt.date, set[int]] = {}
    for person_id, day in pairs:
        by_day.setdefault(day, set()).add(person_id)
    if not by_day:
        return set()
    condition = reduce(or_, (_active_on(day) & Q(person_id__in=ids) for day, ids in by_day.items()))
    periods = CoveragePeriod.objects.filter(condition).values_list("person_id", "covered_from", "covered_to")
    out = set()
    for person_id, start, end in periods:
        out.update((person_id, day) for day, ids in by_day.items() if person_id in ids and start <= day <= end)
    return out


# DOMAIN §4 maternity: the lump sum is "not payable twice". Decision: two maternity cases of the
# same insured person are the same birth/pregnancy when their service periods overlap or lie
# less than `days` apart — the policy parameter maternity.same_pregnancy_days (42, the puerperium,
# 产褥期/产后42天: no second pregnancy can end within it, while a transfer between hospitals or a
# readmission for the same birth does), read from the policy in force on the new case's service
# date. Rejected and withdrawn cases do not count (they were never paid).


def maternity_conflicts(person_ids, *, exclude_case_id: int | None = None) -> dict[int, list[tuple[int, dt.date, dt.date]]]:
    """Live maternity cases of the persons (one query): person_id -> [(case_id, service_from, service_to)]."""
    person_ids = set(person_ids)
    if not person_ids:
        return {}
    qs = (Case.objects.filter(person_id__in=person_ids, case_type__benefit=Benefit.MATERNITY)
          .exclude(state__in=INVOICE_RELEASED).order_by("pk"))
    if exclude_case_id:
        qs = qs.exclude(pk=exclude_case_id)
    out: dict[int, list] = {}
    for case_id, person_id, start, end in qs.values_list("pk", "person_id", "service_from", "service_to"):
        out.setdefault(person_id, []).append((case_id, start, end))
    return out


def same_pregnancy(a_from: dt.date, a_to: dt.date, b_from: dt.date, b_to: dt.date, *, days: int) -> bool:
    gap = dt.timedelta(days=days)
    return a_from < b_to + gap and b_from < a_to + gap


def maternity_conflict(person_id: int, service_from: dt.date, service_to: dt.date, *, days: int,
                       exclude_case_id: int | None = None) -> int | None:
    """The id of a live maternity case of the same person for the same birth/pregnancy, if any."""
    for case_id, start, end in maternity_conflicts([person_id], exclude_case_id=exclude_case_id).get(person_id, []):
        if same_pregnancy(service_from, service_to, start, end, days=days):
            return case_id
    return None


def missing_materials(case: Case) -> list[tuple[str, str]]:
    """Every material still missing, as (code, name): the checklist plus the lost-invoice promise."""
    missing = list(CaseMaterial.objects.filter(case=case, received=False).order_by("pk").values_list("code", "name"))
    if not case.lost_invoice_promise and Invoice.objects.filter(case=case, kind="stub_copy").exists():
        missing.append(LOST_INVOICE_PROMISE)
    return missing


def case_types_for(region_code: str) -> dict[str, CaseType]:
    return {t.code: t for t in CaseType.objects.filter(region__code=region_code, active=True).prefetch_related("materials")}


def operator_school_id(user) -> int | None:
    if not user or not user.is_authenticated:
        return None
    op = SchoolOperator.objects.filter(user=user).only("school_id").first()
    return op.school_id if op else None


def school_batches(school_id: int) -> QuerySet[Batch]:
    return Batch.objects.filter(school_id=school_id).select_related("school")


def school_cases(school_id: int) -> QuerySet[Case]:
    """The cases a school submitted (object-level filtering from the record, issue #11 item 3).

    Not "the cases of its students": a student who moves to another school takes no case along,
    and the new school never reads what the old one submitted (nor cases the agency received).
    """
    return Case.objects.filter(school_id=school_id).select_related("case_type", "person", "institution", "batch")


def school_notices(school_id: int) -> QuerySet[MaterialsNotice]:
    """The notices of the cases the school submitted (as school_cases)."""
    return MaterialsNotice.objects.filter(case__school_id=school_id).select_related("case__person", "case__case_type")


def cases_older_than(days: int, *, today: dt.date) -> Q:
    return Q(received_at__date__lt=today - dt.timedelta(days=days))
