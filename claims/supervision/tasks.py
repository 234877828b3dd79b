"""Celery tasks of fund supervision: thin wrappers around the services.

`supervision.nightly_check` is the beat entry of medins/schedules.py: the review rules over
yesterday's settlements of every region, one region per task (a region whose policy lacks the
fund_security parameters fails alone and is recorded as failed on its CheckRun).
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

log = logging.getLogger(__name__)


@shared_task(name="supervision.nightly_check")
def nightly_check(day: str | None = None) -> list[str]:
    """Enqueue one region check per region for `day` (ISO date; default: yesterday)."""
    from medins.models import Region

    day = day or (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    regions = list(Region.objects.order_by("code").values_list("code", flat=True))
    for code in regions:
        nightly_check_region.delay(code, day)
    return regions


@shared_task(name="supervision.nightly_check_region", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def nightly_check_region(region: str, day: str) -> dict:
    from medins.fund_security import InvalidRequest

    from .services import nightly_check as run_check

    try:
        run = run_check(region=region, day=dt.date.fromisoformat(day))
    except InvalidRequest as exc:  # terminal: recorded on the run, never retried
        log.error("fund-security check %s %s: %s", region, day, exc)
        return {"region": region, "day": day, "error": str(exc)}
    return {"region": region, "day": day, "new": run.findings_new, "known": run.findings_known}
