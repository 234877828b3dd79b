"""Celery tasks of the settlement app: thin wrappers around the run services.

`settlement.capitation_monthly` and `settlement.capitation_year_end` are the beat entries of
medins/schedules.py; they start (or find) the run of every region whose policy defines the
capitation parameters, and each run is processed by `settlement.capitation_run_process`.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from medins.benefits.errors import QuoteError
from medins.models import Region

from .models import RunKind
from .services import settlement_run_process, settlement_run_start
from .services.runs import PROCESS_TASK, previous_month, settlement_run_watchdog

log = logging.getLogger(__name__)


def _start_all(kind: str, year: int, month: int | None) -> list[int]:
    started = []
    for region in Region.objects.order_by("code"):
        try:
            run = settlement_run_start(acting_user=None, region=region, kind=kind, year=year, month=month)
        except QuoteError as exc:  # no capitation in this region's policy, or the year is closed
            log.info("no %s capitation run for %s %s: %s", kind, region.code, year, exc)
            continue
        started.append(run.pk)
    return started


@shared_task(name="settlement.capitation_monthly")
def capitation_monthly(year: int | None = None, month: int | None = None) -> list[int]:
    """Settle the previous month (or the given one) of every capitation region."""
    if year is None or month is None:
        year, month = previous_month(timezone.localdate())
    return _start_all(RunKind.MONTHLY, year, month)


@shared_task(name="settlement.fee_statements_monthly")
def fee_statements_monthly(year: int | None = None, month: int | None = None) -> list[int]:
    """The fee-for-service statements of certified visits for the previous month (or the given one)."""
    if year is None or month is None:
        year, month = previous_month(timezone.localdate())
    return _start_all(RunKind.FEE_FOR_SERVICE, year, month)


@shared_task(name="settlement.capitation_year_end")
def capitation_year_end(year: int | None = None) -> list[int]:
    """Year-end capitation settlement of the previous year (or the given one)."""
    return _start_all(RunKind.YEAR_END, year or timezone.localdate().year - 1, None)


@shared_task(name=PROCESS_TASK, bind=True, autoretry_for=(OperationalError,),
             retry_backoff=30, retry_backoff_max=600, max_retries=5, acks_late=True, reject_on_worker_lost=True)
def capitation_run_process(self, run_id: int) -> str:
    """Process (or resume) one run. Retries only on database connection/lock errors.

    Acknowledged late: a worker killed mid-run leaves the message unacknowledged, so it is
    delivered again; the watchdog (below) resumes the run in any case.
    """
    return settlement_run_process(run_id=run_id).state


@shared_task(name="settlement.runs_watchdog", acks_late=True, reject_on_worker_lost=True)
def runs_watchdog() -> list[int]:
    """Resume runs whose worker vanished (heartbeat older than SETTLEMENT_RUN_STALE_MINUTES)."""
    return settlement_run_watchdog(acting_user=None)
