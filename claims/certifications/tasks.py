"""Celery tasks of certifications: thin wrappers around the services (schedule in medins/schedules.py)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .services import certifications_expire_due, certifications_year_end, system_user


@shared_task(name="certifications.expire_due", autoretry_for=(OperationalError,), retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def expire_due(on: str | None = None) -> dict:
    """Nightly: approvals whose validity ran out (episodic special diseases, special drugs) become expired."""
    day = dt.date.fromisoformat(on) if on else timezone.localdate()
    return {"on": day.isoformat(), "expired": certifications_expire_due(acting_user=system_user(), on=day)}


@shared_task(name="certifications.year_end", autoretry_for=(OperationalError,), retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def year_end(year: int | None = None) -> dict:
    """1 January: the year that ended — special drugs expire and are listed for renewal per hospital;
    certifications of persons not insured in the new year expire; the others carry over."""
    year = year or timezone.localdate().year - 1
    return {"year": year, **certifications_year_end(acting_user=system_user(), year=year)}
