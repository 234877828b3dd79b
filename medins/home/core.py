"""The core app's queue (institution imports to confirm) and the supervisor's three cards: payments
by month and benefit, queue sizes, processing times (charts drawn by Chart.js in the browser from
the card's data, embedded with json_script; the same figures as a table under each chart)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medins.roles import IMPORT_INSTITUTIONS
from medins.uploads import UploadStatus
from medins.value_display import format_money

from .aggregates import DaysBetween, Median
from .page import has_perms, queue_row, viewable_queues
from .registry import Card, Queue, payment_sources, processing_times, register_card, register_queue

MONTHS = 12  # the payments chart: this month and the eleven before
TIMES_DAYS = 365  # processing times: decisions of the last year

register_queue(Queue(
    key="medins.institution_import.confirm", group=_("Reference data and policy"), group_order=90,
    label=_("Institution imports checked, waiting for confirmation"), model="medins.InstitutionImport",
    lookups={"status__exact": UploadStatus.CHECKED},
    age_field="uploaded_at", roles=("policy_admin",), perms=IMPORT_INSTITUTIONS))


def month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def payments_by_month(today: dt.date | None = None) -> dict:
    """The fund's payments of the last MONTHS months by benefit, from every registered source."""
    today = today or timezone.localdate()
    months = [month_start(today, back) for back in range(MONTHS - 1, -1, -1)]
    amounts: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    labels: dict[str, str] = {}
    for source in payment_sources().values():
        for row in source(months[0]):
            month = row.month.date() if isinstance(row.month, dt.datetime) else row.month
            month = month_start(month)
            if month in months:
                amounts[row.benefit][month] += row.amount or Decimal("0")
                labels[row.benefit] = str(row.label)
    benefits = sorted(amounts, key=lambda b: -sum(amounts[b].values()))
    month_labels = [f"{m:%Y-%m}" for m in months]
    rows = [{"month": label, "amounts": [amounts[b][m] for b in benefits],
             "total": sum((amounts[b][m] for b in benefits), Decimal("0"))}
            for label, m in zip(month_labels, months, strict=True)]
    for row in rows:  # shown right-aligned with thousands separators (issue 14 item 5)
        row["shown"] = [format_money(a) for a in row["amounts"]]
        row["total_shown"] = format_money(row["total"])
    total = sum((r["total"] for r in rows), Decimal("0"))
    return {
        "benefits": [labels[b] for b in benefits],
        "rows": rows,
        "total": total,
        "total_shown": format_money(total),
        # The chart draws numbers; the table under it shows the exact Decimal amounts.
        "chart": {"type": "payments", "labels": month_labels,
                  "datasets": [{"label": labels[b], "data": [float(amounts[b][m]) for m in months]} for b in benefits]},
    }


def _payments_context(request) -> dict:
    return payments_by_month()


def _queues_context(request) -> dict:
    rows = [queue_row(request, q) for q in viewable_queues(request)]
    return {"rows": rows, "chart": {"type": "queues", "labels": [f"{r['group']} · {r['label']}" for r in rows],
                                    "data": [r["count"] for r in rows], "links": [r["url"] for r in rows]}}


def processing_time_rows(user, now: dt.datetime | None = None) -> list[dict]:
    """Per workflow the user may view: decisions of the last TIMES_DAYS days, median and average
    days from submission to decision (one aggregate each)."""
    since = (now or timezone.now()) - dt.timedelta(days=TIMES_DAYS)
    out = []
    for item in processing_times():
        if not has_perms(user, item.perms):
            continue
        figures = (item.decisions(since).order_by().annotate(_days=DaysBetween(item.end, item.start))
                   .aggregate(n=Count("pk"), median=Median("_days"), average=Avg("_days")))
        out.append({"key": item.key, "label": str(item.label), "count": figures["n"],
                    "median": round(figures["median"], 1) if figures["median"] is not None else None,
                    "average": round(figures["average"], 1) if figures["average"] is not None else None})
    return out


def _times_context(request) -> dict:
    rows = processing_time_rows(request.user)
    return {"rows": rows, "chart": {
        "type": "times", "labels": [r["label"] for r in rows],
        "datasets": [{"label": str(_("median days")), "data": [r["median"] for r in rows]},
                     {"label": str(_("average days")), "data": [r["average"] for r in rows]}]}}


register_card(Card(key="fund.payments", title=_("Payments by month and benefit"), order=10,
                   template="admin/medins/home/payments.html", context=_payments_context,
                   roles=("supervisor",), perms=("claims.view_paymentorder",)))
register_card(Card(key="fund.queues", title=_("Queue sizes"), order=20, template="admin/medins/home/queue_sizes.html",
                   context=_queues_context, roles=("supervisor",)))
register_card(Card(key="fund.times", title=_("Processing times (submission to decision, last 12 months)"), order=30,
                   template="admin/medins/home/times.html", context=_times_context, roles=("supervisor",)))
