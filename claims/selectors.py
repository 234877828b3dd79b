"""Read queries of the claims app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q, QuerySet

from .models import Batch, Case, CaseMaterial, CaseType, Invoice, MaterialsNotice, SchoolOperator
from .workflow import CaseState

# A manual case counts towards the year's use of a benefit once it is approved.
_COUNTED = (CaseState.APPROVED, CaseState.PAYMENT_ORDERED, CaseState.PAID, CaseState.PAYMENT_FAILED)

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


def missing_materials(case: Case) -> list[tuple[str, str]]:
    """Every material still missing, as (code, name): the checklist plus the lost-invoice promise."""
    missing = list(CaseMaterial.objects.filter(case=case, received=False).order_by("pk").values_list("code", "name"))
    if not case.lost_invoice_promise and Invoice.objects.filter(case=case, kind="stub_copy").exists():
        missing.append(LOST_INVOICE_PROMISE)
    return missing


def case_types_for(region_code: str) -> dict[str, CaseType]:
    return {t.code: t for t in CaseType.objects.filter(region__code=region_code, active=True).prefetch_related("materials")}


def year_to_date(*, person_id: int, benefit: str, year: int, exclude_case_id: int | None) -> dict[str, Decimal]:
    """What earlier approved manual cases of the person used of a benefit in the year.

    Only this app's cases count: a ledger of direct settlements does not exist yet.
    """
    cases = (Case.objects.filter(person_id=person_id, case_type__benefit=benefit, state__in=_COUNTED,
                                 service_from__year=year)
             .exclude(pk=exclude_case_id).values_list("breakdown", flat=True))
    fund = catastrophic = covered = eligible = Decimal("0.00")
    deductible_paid = False
    for breakdown in cases:
        quote = (breakdown or {}).get("quote") or {}
        settlement = quote.get("settlement") or {}
        fund += Decimal(quote.get("fund", "0"))
        catastrophic += Decimal(quote.get("catastrophic", "0"))
        covered += Decimal(quote.get("total", "0")) - Decimal(settlement.get("fulamt_ownpay_amt", "0")) - Decimal(quote.get("fund", "0"))
        eligible += Decimal(settlement.get("inscp_scp_amt", "0"))
        deductible_paid = deductible_paid or Decimal(settlement.get("act_pay_dedc", "0")) > 0
    out = {"fund_paid": fund, "catastrophic_paid": catastrophic, "covered_personal": covered, "deductible_paid": deductible_paid}
    if benefit == "accident":
        out["eligible_counted"] = eligible
    return out


def operator_school_id(user) -> int | None:
    if not user or not user.is_authenticated:
        return None
    op = SchoolOperator.objects.filter(user=user).only("school_id").first()
    return op.school_id if op else None


def school_batches(school_id: int) -> QuerySet[Batch]:
    return Batch.objects.filter(school_id=school_id).select_related("school")


def school_cases(school_id: int) -> QuerySet[Case]:
    """A school's cases: submitted by it, or of its students (object-level filtering)."""
    return (Case.objects.filter(Q(school_id=school_id) | Q(person__school_id=school_id))
            .select_related("case_type", "person", "institution", "batch"))


def school_notices(school_id: int) -> QuerySet[MaterialsNotice]:
    return (MaterialsNotice.objects.filter(Q(case__school_id=school_id) | Q(case__person__school_id=school_id))
            .select_related("case__person", "case__case_type"))


def cases_older_than(days: int, *, today: dt.date) -> Q:
    return Q(received_at__date__lt=today - dt.timedelta(days=days))
