"""Celery tasks of the core app: thin wrappers around services and selectors."""

from celery import shared_task
from django.db import OperationalError

from .quoting import quote_or_error


@shared_task(name="medins.quote")
def quote_task(request: dict) -> dict:
    """Compute one quote on a worker (used by batch jobs and as the worker health check).

    Reads policy only, so it is safe to retry or run twice.
    """
    _ok, body = quote_or_error(request)
    return body


@shared_task(name="medins.job_run", autoretry_for=(OperationalError,), retry_backoff=15, retry_backoff_max=300,
             max_retries=5, acks_late=True, reject_on_worker_lost=True)
def job_run_task(job_id: int) -> str | None:
    """Run one background job (medins.jobs): checks its state first, so a redelivered or repeated
    message does nothing; retried with backoff only on a lost database connection."""
    from .jobs import job_run

    job = job_run(job_id=job_id)
    return job.status if job else None
