"""Celery tasks of the claims app: thin wrappers around services."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .services import payment_orders_create, system_user


@shared_task(name="claims.payment_orders_nightly", autoretry_for=(OperationalError,), retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def payment_orders_nightly(pay_date: str | None = None) -> dict:
    """Approved cases → payment orders and the day's bank file. Safe to run twice (one file per day).

    Retried with backoff only on database connection/lock errors (the job is one transaction, so
    a failed attempt leaves nothing behind); any other error is terminal.
    """
    import datetime as dt

    day = dt.date.fromisoformat(pay_date) if pay_date else timezone.localdate()
    payment_file, created = payment_orders_create(acting_user=system_user(), pay_date=day)
    return {"pay_date": day.isoformat(), "created": created, "orders": payment_file.order_count if payment_file else 0}
