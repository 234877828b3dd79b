"""django-celery-beat's pages (periodic tasks and their schedules) in the reader's language (issue 14 item 4).

The policy administrator edits the periodic jobs here (issue 12 item 6). django-celery-beat names
a crontab by its expression with English abbreviations and time zone ("0 7 6 * * (m/h/dM/MY/d)
Asia/Shanghai"), describes it in English ("At 07:00 AM, on day 6 of the month") and labels some
fields with untranslatable strings; its admin classes are replaced by subclasses that show the
schedule as a sentence in the active language (cron_descriptor's own Chinese), the expression and
the task's registered name as codes, and the time zone by its name.
"""

from __future__ import annotations

import calendar

from cron_descriptor import (
    ExpressionDescriptor,
    FormatException,
    MissingFieldException,
    Options,
    WrongArgumentException,
)
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from .admin_mixins import RecordTitleMixin
from .value_display import code_html

# cron_descriptor's locales by the site's languages; it writes month and weekday names in English
# whatever the locale (from the calendar module), so those are replaced in cron_text.
_CRON_LOCALES = {"zh-hans": "zh_CN", "en": "en_US"}
TIME_ZONES = {"Asia/Shanghai": _("Beijing time"), "UTC": _("Coordinated Universal Time")}


# cron_descriptor's Chinese keeps the English names of months and weekdays: replaced by these.
_ZH_NAMES = {
    **{calendar.month_name[i]: f"{i}月" for i in range(1, 13)},
    **dict(zip(calendar.day_name, ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"), strict=True)),
}


def cron_expression(crontab: CrontabSchedule) -> str:
    return " ".join((crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week))


def time_zone_text(zone) -> str:
    name = str(zone)
    return str(TIME_ZONES.get(name, name))


def cron_text(crontab: CrontabSchedule) -> str:
    """ "在 07:00，每月的 6 号（北京时间）": the crontab as a sentence in the active language."""
    options = Options()
    options.locale_code = _CRON_LOCALES.get(get_language() or "", "zh_CN")
    options.use_24hour_time_format = True
    try:
        text = ExpressionDescriptor(cron_expression(crontab), options).get_description()
    except (FormatException, MissingFieldException, WrongArgumentException):
        return gettext("%(expression)s (%(zone)s)") % {
            "expression": cron_expression(crontab),
            "zone": time_zone_text(crontab.timezone),
        }
    if options.locale_code == "zh_CN":
        for english, local in _ZH_NAMES.items():
            text = text.replace(english, local)
        text = text.replace(", ", "，")
    return gettext("%(expression)s (%(zone)s)") % {"expression": text, "zone": time_zone_text(crontab.timezone)}


def schedule_text(task: PeriodicTask) -> str:
    """A periodic task's schedule as a reader reads it."""
    if task.crontab_id:
        return cron_text(task.crontab)
    for schedule in (task.interval, task.solar, task.clocked):
        if schedule is not None:
            return str(schedule)
    return "—"


def _crontab_str(crontab: CrontabSchedule) -> str:
    return gettext("%(expression)s: %(description)s") % {
        "expression": cron_expression(crontab),
        "description": cron_text(crontab),
    }


# A crontab names itself in English abbreviations ("0 7 6 * * (m/h/dM/MY/d) Asia/Shanghai"), and a
# periodic task by its crontab; both are shown in the admin wherever Django prints a record (the
# tasks using a schedule, the choices of a task's crontab). Their name here: the expression and the
# sentence in the active language.
CrontabSchedule.__str__ = _crontab_str


class TasksOfScheduleInline(beat_admin.PeriodicTaskInline):
    fields = ("name", "task_code", "enabled")
    readonly_fields = fields

    @admin.display(description=_("task"))
    def task_code(self, obj):
        return code_html(obj.task)


class ScheduleTitleMixin(RecordTitleMixin):
    inlines = [TasksOfScheduleInline]

    def record_title(self, obj):
        return cron_text(obj) if isinstance(obj, CrontabSchedule) else str(obj)


class PeriodicTaskAdmin(RecordTitleMixin, beat_admin.PeriodicTaskAdmin):
    list_display = ("name", "enabled", "schedule", "task_code", "start_time", "last_run_at", "one_off")
    list_filter = ["enabled", "one_off", "start_time", "last_run_at"]  # by task: the search box
    change_form_template = "admin/medins/periodictask_change_form.html"

    def record_title(self, obj):
        return obj.name

    @admin.display(description=_("schedule"))
    def schedule(self, obj):
        return schedule_text(obj)

    @admin.display(description=_("task"), ordering="task")
    def task_code(self, obj):
        return code_html(obj.task)

    @admin.display(description=_("schedule in words"))
    def crontab_translation(self, obj):
        return cron_text(obj.crontab) if obj.crontab_id else "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "task" in form.base_fields:  # django-celery-beat labels it with a plain English string
            form.base_fields["task"].label = _("task (registered name)")
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "crontab" and field is not None:
            field.label_from_instance = cron_text
        return field

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # the sentence of each crontab, for the page's script when another one is chosen
        readable = {crontab.pk: cron_text(crontab) for crontab in CrontabSchedule.objects.all()}
        return super().changeform_view(
            request, object_id, form_url, {**(extra_context or {}), "readable_crontabs": readable}
        )


class CrontabScheduleAdmin(ScheduleTitleMixin, beat_admin.CrontabScheduleAdmin):
    list_display = ("expression", "in_words")
    fields = ("in_words", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("in_words",)

    @admin.display(description=_("crontab expression"))
    def expression(self, obj):
        return format_html("{}", code_html(cron_expression(obj)))

    @admin.display(description=_("schedule in words"))
    def in_words(self, obj):
        return cron_text(obj) if obj.pk else "—"


class IntervalScheduleAdmin(ScheduleTitleMixin, beat_admin.IntervalScheduleAdmin):
    pass


class SolarScheduleAdmin(ScheduleTitleMixin, beat_admin.SolarScheduleAdmin):
    pass


class ClockedScheduleAdmin(ScheduleTitleMixin, beat_admin.ClockedScheduleAdmin):
    pass


for _model, _admin in (
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
    (IntervalSchedule, IntervalScheduleAdmin),
    (SolarSchedule, SolarScheduleAdmin),
    (ClockedSchedule, ClockedScheduleAdmin),
):
    if _model in admin.site._registry:
        admin.site.unregister(_model)
    admin.site.register(_model, _admin)
