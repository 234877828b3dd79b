"""The supervisor's home-page card (issue 15 item 5): findings and recoveries by month over the
last twelve months — a chart (findings; ordered and recovered amounts) and the table under it.
Two grouped queries (selectors.report_rows)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from medins.home import Card, register_card

from .selectors import report_rows

MONTHS = 12


def _months_back(today: dt.date, n: int) -> list[str]:
    y, m = today.year, today.month
    out = []
    for _i in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def recovery_context(request) -> dict:
    """By month: findings, amount ordered to the fund, amount recovered (the months holding
    findings, at most the latest twelve)."""
    by_month: dict[str, dict] = {}
    for r in report_rows():
        m = by_month.setdefault(r["month"], {"month": r["month"], "findings": 0, "confirmed": 0,
                                             "ordered": Decimal("0"), "recovered": Decimal("0"),
                                             "outstanding": Decimal("0")})
        for k in ("findings", "confirmed", "ordered", "recovered", "outstanding"):
            m[k] += r[k]
    months = sorted(by_month)[-MONTHS:] or _months_back(timezone.localdate(), 1)
    rows = [by_month.get(m, {"month": m, "findings": 0, "confirmed": 0, "ordered": Decimal("0"),
                             "recovered": Decimal("0"), "outstanding": Decimal("0")}) for m in months]
    return {"rows": rows, "chart": {
        "type": "recoveries", "labels": months,
        "datasets": [{"label": gettext("Findings"), "data": [r["findings"] for r in rows], "yAxisID": "count"},
                     {"label": gettext("Ordered to the fund"), "data": [float(r["ordered"]) for r in rows],
                      "yAxisID": "money"},
                     {"label": gettext("Recovered"), "data": [float(r["recovered"]) for r in rows], "yAxisID": "money"}]}}


register_card(Card(key="supervision.recoveries", title=_("Findings and recoveries"), order=40,
                   template="admin/supervision/home_recoveries.html", context=recovery_context,
                   roles=("supervisor",), perms=("supervision.view_finding",)))
