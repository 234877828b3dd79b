"""Read queries of fund supervision: the queue and the evidence of one finding, side by side."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

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
            by_date.setdefault(line["date"], []).append(line)
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
