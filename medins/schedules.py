"""The periodic schedule, declared in one place.

`schedules_sync()` writes these into django_celery_beat so they are editable in the admin;
an entry that already exists is left as the operations team edited it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _n


@dataclass(frozen=True)
class Schedule:
    name: str  # names and descriptions are msgids: written in the site's language (schedules_sync)
    task: str
    crontab: dict  # minute, hour, day_of_month, month_of_year, day_of_week
    description: str


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(_n("nightly payment orders"), "claims.payment_orders_nightly", {"minute": "30", "hour": "1"},
             _n("Approved cases become payment orders and one bank payment file for the day.")),
    Schedule(_n("monthly capitation settlement"), "settlement.capitation_monthly", {"minute": "0", "hour": "3", "day_of_month": "1"},
             _n("Settle the previous month of every outpatient-pool institution.")),
    Schedule(_n("monthly fee-for-service statements"), "settlement.fee_statements_monthly",
             {"minute": "30", "hour": "3", "day_of_month": "1"},
             _n("Fee-for-service statements of the previous month's certified outpatient visits, per institution and benefit.")),
    Schedule(_n("year-end capitation settlement"), "settlement.capitation_year_end",
             {"minute": "0", "hour": "4", "day_of_month": "5", "month_of_year": "1"},
             _n("Year-end capitation settlement of the previous year.")),
    Schedule(_n("certifications expire"), "certifications.expire_due", {"minute": "15", "hour": "0"},
             _n("Approvals whose validity ran out (episodic special diseases, special drugs) become expired.")),
    Schedule(_n("certifications year end"), "certifications.year_end",
             {"minute": "30", "hour": "0", "day_of_month": "1", "month_of_year": "1"},
             _n("Special-drug approvals expire and are listed for renewal per hospital; certifications of persons not "
              "insured in the new year expire, the others carry over.")),
    Schedule(_n("expire payment file previews"), "enrollment.payment_imports_expire", {"minute": "15"},
             _n("Tax file previews not confirmed within a day are marked expired and their stored file dropped.")),
    Schedule(_n("settlement run watchdog"), "settlement.runs_watchdog", {"minute": "*/5"},
             _n("Resume settlement runs whose worker vanished (no heartbeat for SETTLEMENT_RUN_STALE_MINUTES).")),
    Schedule(_n("fund security nightly check"), "supervision.nightly_check", {"minute": "45", "hour": "2"},
             _n("Run the fund-security review rules over yesterday's settlements of every region and record new findings.")),
    Schedule(_n("care assessments expiring"), "carecare.assessments_expiring", {"minute": "0", "hour": "6"},
             _n("List approved long-term care assessments expiring within 60 days for re-assessment.")),
    Schedule(_n("care claims reminder"), "carecare.care_claims_reminder", {"minute": "0", "hour": "7", "day_of_month": "6"},
             _n("List the care homes with residents that have not sent last month's long-term care claim.")),
)


@transaction.atomic
def schedules_sync() -> dict[str, str]:
    """Create each declared schedule that has no periodic task yet ({name: "created" | "kept"}).
    Name and description are written in the site's language (LANGUAGE_CODE: the operations team
    reads them in the admin); an entry is known by its task, or by its name as an earlier sync wrote it."""
    from django.db.models import Q
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    result = {}
    with translation.override(settings.LANGUAGE_CODE):
        for entry in SCHEDULES:
            name = gettext(entry.name)
            if PeriodicTask.objects.filter(Q(task=entry.task) | Q(name__in=(entry.name, name))).exists():
                result[entry.name] = "kept"
                continue
            fields = {"minute": "*", "hour": "*", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*",
                      **entry.crontab}
            crontab, _created = CrontabSchedule.objects.get_or_create(timezone="Asia/Shanghai", **fields)
            PeriodicTask.objects.create(name=name, task=entry.task, crontab=crontab, description=gettext(entry.description))
            result[entry.name] = "created"
    return result

