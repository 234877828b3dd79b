"""Read queries of fund supervision: the queue and the evidence of one finding, side by side."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _

from .facts import STAYS
from .models import Finding

ONE_DAY = dt.timedelta(days=1)


def findings_queue() -> QuerySet[Finding]:
    return Finding.objects.select_related("institution", "region")


def _days(record: dict) -> list[dt.date]:
    """The days a settlement covers: a stay's stay days (admitted up to the day before discharge;
    a same-day stay its one day), a care claim's care days, otherwise the service date."""
    if record.get("benefit") in STAYS and record.get("admitted"):
        a = dt.date.fromisoformat(record["admitted"])
        d = dt.date.fromisoformat(record.get("discharged") or record["admitted"])
        n = max((d - a).days, 1)
        return [a + dt.timedelta(days=i) for i in range(n)]
    if record.get("benefit") == "long_term_care":
        return sorted({dt.date.fromisoformat(line["date"]) for line in record.get("lines", [])})
    if record.get("service_date"):
        return [dt.date.fromisoformat(record["service_date"])]
    return []


def _benefit_label(code: str) -> str:
    from django.utils.translation import gettext

    from claims.models import Benefit

    if code in Benefit.values:
        return str(Benefit(code).label)
    return {"two_diseases": gettext("Two diseases (hypertension, diabetes)"),
            "long_term_care": gettext("Long-term care")}.get(code, code)


def via_label(code: str) -> str:
    from django.utils.translation import gettext

    return {"direct": gettext("direct settlement"), "manual": gettext("manual reimbursement")}.get(code, code)


def _line_kind_label(code: str) -> str:
    from .models import LineKind

    return str(LineKind(code).label) if code in LineKind.values else code


def finding_evidence(finding: Finding) -> dict:
    """The finding's settlements as columns (as the rules saw them), the days they share, the gap
    between two stays, and each settlement's lines by date."""
    columns = []
    day_sets = []
    for ref in finding.settlement_refs:
        record = (finding.facts or {}).get(ref, {})
        days = _days(record)
        day_sets.append(set(days))
        by_date: dict[str, list[dict]] = {}
        for line in record.get("lines", []):
            by_date.setdefault(line["date"], []).append({**line, "kind_label": _line_kind_label(line.get("kind", ""))})
        record = {**record, "benefit_label": _benefit_label(record.get("benefit", "")),
                  "via_label": via_label(record.get("via", "direct"))}
        columns.append({"ref": ref, "record": record, "days": days,
                        "first": days[0] if days else None, "last": days[-1] if days else None,
                        "lines": sorted(by_date.items())})
    shared = sorted(set.intersection(*day_sets)) if len(day_sets) > 1 else []
    gap = None
    stays = [c for c in columns if c["record"].get("benefit") in STAYS and c["record"].get("discharged")]
    if len(stays) == 2:
        first, second = sorted(stays, key=lambda c: c["record"]["admitted"])
        gap = (dt.date.fromisoformat(second["record"]["admitted"]) - dt.date.fromisoformat(first["record"]["discharged"])).days
    all_dates = sorted({d for c in columns for d, _lines in c["lines"]})
    line_rows = [{"date": d, "cells": [dict(c["lines"]).get(d, []) for c in columns], "shared": d in {x.isoformat() for x in shared}}
                 for d in all_dates]
    return {"columns": columns, "shared": shared, "gap": gap, "line_rows": line_rows}


# --------------------------------------------------------------------------- report (issue 15 item 5)

REPORT_COLUMNS = (
    ("month", _("Month")), ("rule", _("Rule")), ("institution", _("Institution")), ("findings", _("Findings")),
    ("confirmed", _("Confirmed")), ("dismissed", _("Dismissed")), ("suggested", _("Fund paid on the findings")),
    ("orders", _("Recovery orders")), ("ordered", _("Ordered to the fund")),
    ("refunds", _("Refunds ordered to persons")), ("recovered", _("Recovered")), ("written_off", _("Written off")),
    ("outstanding", _("Outstanding")),
)


def report_rows(*, year: int | None = None, region_id: int | None = None) -> list[dict]:
    """Findings and recoveries by month, rule and institution (issue 15 item 5): two grouped queries
    (findings; recovery orders), merged. Recovered = settled by offset or repayment."""
    from decimal import Decimal

    from django.db.models import Count, Q, Sum

    from .models import RecoveryKind, RecoveryOrder, RecoveryState

    zero = Decimal("0.00")
    findings = Finding.objects.all()
    orders = RecoveryOrder.objects.all()
    if year:
        findings = findings.filter(month__year=year)
        orders = orders.filter(month__year=year)
    if region_id:
        findings = findings.filter(region_id=region_id)
        orders = orders.filter(region_id=region_id)
    rows: dict[tuple, dict] = {}

    def row(month, rule, institution_id, name):
        key = (month, rule, institution_id)
        if key not in rows:
            rows[key] = {"month": f"{month:%Y-%m}", "rule": rule, "institution_id": institution_id,
                         "institution": name or "", "findings": 0, "confirmed": 0, "dismissed": 0, "suggested": zero,
                         "orders": 0, "ordered": zero, "refunds": zero, "recovered": zero, "written_off": zero,
                         "outstanding": zero}
        return rows[key]

    for r in (findings.values("month", "rule", "institution_id", "institution__name").order_by()
              .annotate(n=Count("pk"), confirmed=Count("pk", filter=Q(state="confirmed")),
                        dismissed=Count("pk", filter=Q(state="dismissed")), suggested=Sum("suggested_amount"))):
        out = row(r["month"], r["rule"], r["institution_id"], r["institution__name"])
        out.update(findings=r["n"], confirmed=r["confirmed"], dismissed=r["dismissed"], suggested=r["suggested"] or zero)
    recovery = Q(kind=RecoveryKind.RECOVERY)
    for r in (orders.values("month", "rule", "finding__institution_id", "finding__institution__name").order_by()
              .annotate(n=Count("pk", filter=recovery), ordered=Sum("amount", filter=recovery),
                        refunds=Sum("amount", filter=Q(kind=RecoveryKind.REFUND)),
                        paid=Sum(F("amount") - F("outstanding"), filter=recovery),
                        written_off=Sum("outstanding", filter=recovery & Q(state=RecoveryState.WRITTEN_OFF)),
                        outstanding=Sum("outstanding", filter=recovery & ~Q(state=RecoveryState.WRITTEN_OFF)))):
        out = row(r["month"], r["rule"], r["finding__institution_id"], r["finding__institution__name"])
        out.update(orders=r["n"], ordered=r["ordered"] or zero, refunds=r["refunds"] or zero,
                   recovered=r["paid"] or zero, written_off=r["written_off"] or zero,
                   outstanding=r["outstanding"] or zero)
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1], k[2] or 0))]
