"""The periodic schedule, declared in one place.

`schedules_sync()` writes these into django_celery_beat so they are editable in the admin;
an entry that already exists is left as the operations team edited it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    crontab: dict  # minute, hour, day_of_month, month_of_year, day_of_week
    description: str


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("nightly payment orders", "claims.payment_orders_nightly", {"minute": "30", "hour": "1"},
             "Approved cases become payment orders and one bank payment file for the day."),
    Schedule("monthly capitation settlement", "settlement.capitation_monthly", {"minute": "0", "hour": "3", "day_of_month": "1"},
             "Settle the previous month of every outpatient-pool institution."),
    Schedule("monthly fee-for-service statements", "settlement.fee_statements_monthly",
             {"minute": "30", "hour": "3", "day_of_month": "1"},
             "Fee-for-service statements of the previous month's certified outpatient visits, per institution and benefit."),
    Schedule("year-end capitation settlement", "settlement.capitation_year_end",
             {"minute": "0", "hour": "4", "day_of_month": "5", "month_of_year": "1"},
             "Year-end capitation settlement of the previous year."),
    Schedule("certifications expire", "certifications.expire_due", {"minute": "15", "hour": "0"},
             "Approvals whose validity ran out (episodic special diseases, special drugs) become expired."),
    Schedule("certifications year end", "certifications.year_end",
             {"minute": "30", "hour": "0", "day_of_month": "1", "month_of_year": "1"},
             "Special-drug approvals expire and are listed for renewal per hospital; certifications of persons not "
             "insured in the new year expire, the others carry over."),
    Schedule("expire payment file previews", "enrollment.payment_imports_expire", {"minute": "15"},
             "Tax file previews not confirmed within a day are marked expired and their stored file dropped."),
    Schedule("settlement run watchdog", "settlement.runs_watchdog", {"minute": "*/5"},
             "Resume settlement runs whose worker vanished (no heartbeat for SETTLEMENT_RUN_STALE_MINUTES)."),
    Schedule("fund security nightly check", "supervision.nightly_check", {"minute": "45", "hour": "2"},
             "Run the fund-security review rules over yesterday's settlements of every region and record new findings."),
    Schedule("care assessments expiring", "carecare.assessments_expiring", {"minute": "0", "hour": "6"},
             "List approved long-term care assessments expiring within 60 days for re-assessment."),
    Schedule("care claims reminder", "carecare.care_claims_reminder", {"minute": "0", "hour": "7", "day_of_month": "6"},
             "List the care homes with residents that have not sent last month's long-term care claim."),
)


@transaction.atomic
def schedules_sync() -> dict[str, str]:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    result = {}
    for entry in SCHEDULES:
        if PeriodicTask.objects.filter(name=entry.name).exists():
            result[entry.name] = "kept"
            continue
        fields = {"minute": "*", "hour": "*", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*", **entry.crontab}
        crontab, _created = CrontabSchedule.objects.get_or_create(timezone="Asia/Shanghai", **fields)
        PeriodicTask.objects.create(name=entry.name, task=entry.task, crontab=crontab, description=entry.description)
        result[entry.name] = "created"
    return result
