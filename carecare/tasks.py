"""Celery tasks of long-term care: thin wrappers around selectors and services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .selectors import expiring_assessments

log = logging.getLogger(__name__)

EXPIRY_NOTICE_DAYS = 60


@shared_task(name="carecare.assessments_expiring", autoretry_for=(OperationalError,), retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def assessments_expiring(today: str | None = None, within_days: int = EXPIRY_NOTICE_DAYS) -> dict:
    """The approved assessments whose validity ends within 60 days and for which no re-assessment
    is in progress: the list to re-assess (returned, kept by django_celery_results, and logged
    with masked ID numbers). Reads only, so safe to run twice; the admin's assessment queue shows
    the same list (filter "expiring within 60 days")."""
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    rows = [{"assessment": a.pk, "person": a.person.masked_id_number, "name": a.person.name, "grade": a.grade,
             "valid_to": a.valid_to.isoformat()} for a in expiring_assessments(today=day, within_days=within_days)]
    log.info("care assessments expiring by %s: %d", day + dt.timedelta(days=within_days), len(rows))
    return {"today": day.isoformat(), "within_days": within_days, "count": len(rows), "assessments": rows}


@shared_task(name="carecare.care_claims_reminder", autoretry_for=(OperationalError,), retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def care_claims_reminder(month: str | None = None) -> dict:
    """The monthly reminder: the designated care homes that had residents last month (or in
    `month`, YYYY-MM) and have not sent its claim. Kept as one row per month
    (CareClaimReminder, listed in the admin for the clerks); running it again for the month
    updates that row, so it is safe to run twice."""
    from .models import CareClaimReminder
    from .selectors import homes_without_claim

    if month:
        first = dt.date.fromisoformat(month + "-01")
    else:
        first = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    homes = homes_without_claim(month=first)
    CareClaimReminder.objects.update_or_create(month=first, defaults={"homes": homes, "home_count": len(homes)})
    log.info("care claims of %s not sent: %d home(s)", f"{first:%Y-%m}", len(homes))
    return {"month": f"{first:%Y-%m}", "count": len(homes), "homes": [h["code"] for h in homes]}
