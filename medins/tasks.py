"""Celery tasks of the core app: thin wrappers around services and selectors."""

from celery import shared_task

from .quoting import quote_or_error


@shared_task(name="medins.quote")
def quote_task(request: dict) -> dict:
    """Compute one quote on a worker (used by batch jobs and as the worker health check).

    Reads policy only, so it is safe to retry or run twice.
    """
    _ok, body = quote_or_error(request)
    return body
