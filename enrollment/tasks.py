"""Celery tasks of the enrollment app: thin wrappers around services."""

from celery import shared_task
from django.db import OperationalError

from .services import payment_imports_expire as expire


@shared_task(name="enrollment.payment_imports_expire", autoretry_for=(OperationalError,), retry_backoff=30, max_retries=3)
def payment_imports_expire() -> dict:
    """Abandoned tax file previews (已预览，待确认 for more than a day) become expired. Idempotent."""
    return {"expired": expire()}
