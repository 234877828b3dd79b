"""Admin of outpatient-pool settlement: runs (start / resume), statements (export, print,
release by finance, four-eyes), visits, memberships and school-clinic links. Thin: every
change goes through the services."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.admin_search import PersonSearchMixin
from enrollment.messages import localized
from medins.admin_jobs import check_in_background, import_in_background
from medins.admin_mixins import AdministratorOnly, ChooserMixin, ReadOnlyAdmin, chooser_field, confirm_action
from medins.benefits.errors import QuoteError
from medins.models import Institution, Region
from medins.parsing import read_upload, safe_row
from medins.uploads import column_help, field_labels, upload_confirmable, upload_pending
from medins.value_display import (
    MONEY_NUMBER_FORMAT,
    amount_text,
    day_column,
    money_columns,
    pairs_table,
    rate_text,
    table,
)

from ..imports import COLUMNS as UPLOAD_COLUMNS
from ..imports import REQUIRED as UPLOAD_REQUIRED
from ..jobs import POOL_UPLOAD_CHECK, POOL_UPLOAD_IMPORT
from ..models import (
    InstitutionOperator,
    InstitutionSettlement,
    PoolMembership,
    PoolUpload,
    ReopeningState,
    RunKind,
    RunState,
    RunTransition,
    SchoolClinic,
    SettlementRun,
    UploadKind,
    Visit,
    YearReopening,
)
from ..selectors import institutions_for, operator_institution_id, statements, visit_is_settled, with_account_marks
from ..services import (
    settlement_release,
    settlement_run_start,
    settlement_year_reopen_approve,
    settlement_year_reopen_refuse,
    settlement_year_reopen_request,
)
from ..services.closing import PERMISSION as REOPEN_PERMISSION
from ..services.uploads import PERMISSION, pool_upload_check, pool_upload_confirm, pool_upload_store

EXPORT_COLUMNS = [
    ("run__region__name", _("region")), ("period", _("period")), ("kind", _("kind")),
    ("institution__code", _("institution code")), ("institution__name", _("institution")),
    ("headcount", _("head count")), ("quota", _("quota")), ("actual", _("actual fund-payable")),
    ("paid", _("paid for the period")), ("adjustment", _("late-visit adjustment")),
    ("settled_before", _("settled before")), ("payable", _("payable")), ("visits_count", _("visits settled")),
    ("state", _("state")),
]


def _row(s: InstitutionSettlement) -> list:
    values = {
        "run__region__name": s.run.region.name, "period": s.run.period, "kind": s.run.get_kind_display(),
        "institution__code": s.institution.code, "institution__name": s.institution.name,
        "state": s.get_state_display(),
    }
    # Text cells neutralised against formula injection (issue 11 item 4): names come from outside.
    return safe_row(values.get(key, getattr(s, key, "")) for key, _label in EXPORT_COLUMNS)


def _last_month():
    return timezone.localdate().replace(day=1) - dt.timedelta(days=1)


class StartRunForm(forms.Form):
    region = forms.ModelChoiceField(Region.objects.all(), label=_("region"))
    kind = forms.ChoiceField(choices=RunKind.choices, label=_("kind"))
    # Offered: last month, the period a clerk settles now (in January that is December, whose year
    # is also the one a year-end run closes).
    year = forms.IntegerField(min_value=2000, max_value=2100, label=_("year"), initial=lambda: _last_month().year)
    month = forms.IntegerField(min_value=1, max_value=12, required=False, label=_("month"),
                               help_text=_("Monthly runs only."), initial=lambda: _last_month().month)

    def clean(self):
        """A monthly run names its month (on the month field); a year-end run has none (issue #14)."""
        data = super().clean()
        if data.get("kind") == RunKind.MONTHLY and data.get("month") is None and "month" not in self.errors:
            self.add_error("month", _("A monthly run needs its month (1 to 12)."))
        if data.get("kind") == RunKind.YEAR_END:
            data["month"] = None
        return data


# The notes the run services write (in English, as stored), shown in the reader's language (issue 14 item 4).
RUN_NOTES = [
    (re.compile(r"started"), _("started")),
    (re.compile(r"processing"), _("processing")),
    (re.compile(r"(?P<n>\d+) institutions"), _("%(n)s institutions")),
    (re.compile(r"(?P<n>\d+) statements"), _("%(n)s statements")),
    (re.compile(r"watchdog: no sign of life since (?P<since>[\d:\- ]+); resumed"),
     _("watchdog: no sign of life since %(since)s; resumed")),
    (re.compile(r"reopened \(request #(?P<pk>\d+), asked by (?P<user>[^)]*)\): (?P<reason>.*)", re.S),
     _("reopened (request #%(pk)s, asked by %(user)s): %(reason)s")),
]


def run_note(note: str) -> str:
    """A stored run note in the active language (a note no pattern knows, e.g. an error, as stored)."""
    for pattern, message in RUN_NOTES:
        match = pattern.fullmatch(note or "")
        if match:
            return str(message) % match.groupdict() if match.groupdict() else str(message)
    return note


class TransitionInline(admin.TabularInline):
    model = RunTransition
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "from_state_label", "to_state_label", "by", "note_text"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("from"))
    def from_state_label(self, obj):
        return RunState(obj.from_state).label if obj.from_state in RunState.values else (obj.from_state or "—")

    @admin.display(description=_("to"))
    def to_state_label(self, obj):
        return RunState(obj.to_state).label if obj.to_state in RunState.values else obj.to_state

    @admin.display(description=_("note"))
    def note_text(self, obj):
        return run_note(obj.note)


@admin.register(SettlementRun)
class SettlementRunAdmin(SimpleHistoryAdmin):
    # the run's name says its region, period and kind (filters for each); the list fits 1366 px (issue #14 item 7)
    list_display = money_columns(SettlementRun, ["__str__", "state", "progress", "visits_count", "amount_total", "started_by",
                                                 day_column(SettlementRun, "created_at"),
                                                 day_column(SettlementRun, "finished_at")])
    list_filter = ["state", "kind", "region", "year"]
    list_select_related = ["region", "started_by"]
    readonly_fields = money_columns(SettlementRun, [f.name if f.name != "errors" else "errors_table" for f in SettlementRun._meta.fields])
    inlines = [TransitionInline]
    actions = ["resume_runs"]
    change_list_template = "admin/settlement/settlementrun/change_list.html"

    @admin.display(description=_("errors"))
    def errors_table(self, obj):
        """The run's errors as a table (when, what), not JSON (issue 14 item 4)."""
        if not obj.errors:
            return "—"
        return table((_("at"), _("error")), ((e.get("at", "—"), e.get("error", "")) if isinstance(e, dict) else ("—", e)
                                             for e in obj.errors))

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.institutions_done}/{obj.institutions_total}"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("start/", self.admin_site.admin_view(self.start_view), name="settlement_settlementrun_start"),
                *super().get_urls()]

    def start_view(self, request):
        if not request.user.has_perm("settlement.start_settlementrun"):
            raise PermissionDenied
        form = StartRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                run = settlement_run_start(acting_user=request.user, region=data["region"], kind=data["kind"],
                                           year=data["year"], month=data["month"])
            except QuoteError as exc:  # in the user's language (a missing parameter too), shown once
                form.add_error(None, localized(exc))
            else:
                self.message_user(request, _("Run %(run)s started.") % {"run": run}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:settlement_settlementrun_change", args=[run.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Start a settlement run")}
        return TemplateResponse(request, "admin/settlement/settlementrun/start.html", context)

    @admin.action(description=_("Resume the selected unfinished runs"), permissions=["start"])
    def resume_runs(self, request, queryset):
        """Each run through settlement_run_start; a refusal (e.g. a monthly run of a closed year) is a
        message naming the run, never an error page (issue 11 finding 6)."""
        resumed = 0
        for run in queryset.select_related("region").order_by("pk"):
            if run.state in (RunState.FINISHED, RunState.REOPENED):
                self.message_user(request, _("%(run)s: already %(state)s, nothing to resume.")
                                  % {"run": run, "state": run.get_state_display()}, messages.WARNING)
                continue
            try:
                settlement_run_start(acting_user=request.user, region=run.region, kind=run.kind, year=run.year,
                                     month=run.month)
            except QuoteError as exc:
                self.message_user(request, f"{run}: {localized(exc)}", messages.ERROR)
            else:
                resumed += 1
        if resumed:
            self.message_user(request, _("%(n)d run(s) resumed.") % {"n": resumed}, messages.SUCCESS)

    def has_start_permission(self, request):
        return request.user.has_perm("settlement.start_settlementrun")


class ReopeningForm(forms.ModelForm):
    class Meta:
        model = YearReopening
        fields = ["region", "year", "reason"]


@admin.register(YearReopening)
class YearReopeningAdmin(SimpleHistoryAdmin):
    """Finance requests the reopening of a closed year here (the add form); another finance user
    approves or refuses it with the actions. Both go through services/closing.py."""

    list_display = ["region", "year", "state", "reason", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["state", "region", "year"]
    list_select_related = ["region", "requested_by", "decided_by"]
    actions = ["approve", "refuse"]
    form = ReopeningForm

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in YearReopening._meta.fields] if obj is not None else []

    def has_add_permission(self, request):
        return request.user.has_perm(REOPEN_PERMISSION)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_reopen_permission(self, request):
        return request.user.has_perm(REOPEN_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        """The request form: settlement_year_reopen_request, its refusal shown on the form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ReopeningForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                settlement_year_reopen_request(acting_user=request.user, region=data["region"], year=data["year"],
                                               reason=data["reason"])
            except QuoteError as exc:
                form.add_error(None, localized(exc))
            else:
                self.message_user(request, _("Reopening requested; another finance user must approve it."),
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:settlement_yearreopening_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Request the reopening of a closed settlement year")}
        return TemplateResponse(request, "admin/settlement/yearreopening/request.html", context)

    def _decide(self, request, queryset, service, done_message):
        done = 0
        for reopening in queryset.filter(state=ReopeningState.REQUESTED).order_by("pk"):
            try:
                service(acting_user=request.user, reopening=reopening)
            except QuoteError as exc:
                self.message_user(request, f"{reopening}: {localized(exc)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected reopenings (reopens the year)"), permissions=["reopen"])
    @confirm_action(warning=_("Reopening a closed settlement year lets it be settled again; it cannot be undone."))
    def approve(self, request, queryset):
        self._decide(request, queryset, settlement_year_reopen_approve, _("%(n)d reopening(s) approved."))

    @admin.action(description=_("Refuse the selected reopenings"), permissions=["reopen"])
    @confirm_action()
    def refuse(self, request, queryset):
        self._decide(request, queryset, settlement_year_reopen_refuse, _("%(n)d reopening(s) refused."))


@admin.register(InstitutionSettlement)
class InstitutionSettlementAdmin(SimpleHistoryAdmin):
    list_display = money_columns(InstitutionSettlement, ["institution", "period", "headcount", "quota", "actual", "paid",
                                                         "adjustment", "payable", "state", "released_by", "print_link"])
    list_filter = ["state", "run__kind", "run__year", "run__region"]
    list_select_related = ["run", "run__region", "institution", "released_by"]
    search_fields = ["institution__name", "institution__code"]
    readonly_fields = money_columns(InstitutionSettlement, [f.name if f.name != "detail" else "detail_table"
                                                            for f in InstitutionSettlement._meta.fields])
    exclude = ("detail",)  # shown as tables (detail_table), never as an editable JSON box
    actions = ["release", "export_csv", "export_xlsx"]

    def get_queryset(self, request):
        return statements()

    @admin.display(description=_("computation"))
    def detail_table(self, obj):
        """The statement's computation as tables, not JSON (issue 14 item 4)."""
        d = obj.detail or {}
        if not d:
            return "—"
        summary = pairs_table([(label, text) for label, text in (
            (_("policy version"), d.get("policy_version", "—")),
            (_("capitation per person per year"), amount_text(d["per_person_per_year"]) if "per_person_per_year" in d else "—"),
            (_("surplus share"), rate_text(d["surplus_share"]) if "surplus_share" in d else "—"),
            (_("annual quota"), amount_text(d["annual_quota"]) if "annual_quota" in d else "—"),
            (_("annual actual"), amount_text(d["annual_actual"]) if "annual_actual" in d else "—"),
            (_("final amount for the year"), amount_text(d["final"]) if "final" in d else "—"),
            (_("paid by the monthly runs"), amount_text(d["paid_monthly"]) if "paid_monthly" in d else "—"),
        )])
        months = table((_("month"), _("head count"), _("quota"), _("actual"), _("paid")),
                       ((m.get("month", ""), m.get("headcount", ""), amount_text(m.get("quota", "")),
                         amount_text(m.get("actual", "")), amount_text(m.get("paid", ""))) for m in d.get("monthly", [])))
        return format_html("{}{}", summary, months)

    @admin.display(description=_("period"))
    def period(self, obj):
        """The period and the kind of run in one column (the list fits 1366 px, issue #14 item 7)."""
        return format_html('{}<br><span class="help">{}</span>', obj.run.period, obj.run.get_kind_display())

    @admin.display(description=_("kind"))
    def kind(self, obj):
        return obj.run.get_kind_display()

    @admin.display(description=_("statement"))
    def print_link(self, obj):
        from django.utils.html import format_html
        return format_html('<a href="{}" target="_blank">{}</a>',
                           reverse("admin:settlement_institutionsettlement_print", args=[obj.pk]), _("Print"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("<int:pk>/print/", self.admin_site.admin_view(self.print_view),
                     name="settlement_institutionsettlement_print"), *super().get_urls()]

    def print_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        statement = get_object_or_404(statements(), pk=pk)
        return TemplateResponse(request, "settlement/statement_print.html",
                                {"s": statement, "months": statement.detail.get("monthly", [])})

    @admin.action(description=_("Release the selected statements for payment"), permissions=["release"])
    @confirm_action(amount=lambda s: s.payable, describe=lambda s: f"{s.institution.name} {s.run.period}",
                    warning=_("Releasing orders the payment to the institution (a negative amount is recovered); it "
                              "cannot be undone."))
    def release(self, request, queryset):
        done = 0
        for statement in queryset.order_by("pk"):
            try:
                settlement_release(acting_user=request.user, statement=statement)
                done += 1
            except QuoteError as exc:
                self.message_user(request, f"{statement}: {localized(exc)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)d statements released.") % {"n": done}, messages.SUCCESS)

    def has_release_permission(self, request):
        return request.user.has_perm("settlement.release_institutionsettlement")

    @admin.action(description=_("Export the selected statements (CSV)"), permissions=["view"])
    def export_csv(self, request, queryset):
        buffer = io.StringIO()
        buffer.write("\ufeff")  # Excel opens UTF-8 Chinese correctly with a BOM
        writer = csv.writer(buffer)
        writer.writerow([str(label) for _key, label in EXPORT_COLUMNS])
        for s in queryset.select_related("run", "run__region", "institution"):
            writer.writerow(_row(s))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="capitation-statements.csv"'
        return response

    @admin.action(description=_("Export the selected statements (XLSX)"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append([str(label) for _key, label in EXPORT_COLUMNS])
        for s in queryset.select_related("run", "run__region", "institution"):
            values = ["" if v is None else v if isinstance(v, (int, str, Decimal)) else str(v) for v in _row(s)]
            sheet.append(values)  # amounts as Decimal, never float (DESIGN money)
            for cell, value in zip(sheet[sheet.max_row], values, strict=True):
                if isinstance(value, Decimal):
                    cell.number_format = MONEY_NUMBER_FORMAT  # a number cell shown as 12,345.60
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(out.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = 'attachment; filename="capitation-statements.xlsx"'
        return response


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin, PersonSearchMixin, admin.ModelAdmin):
    list_display = money_columns(Visit, ["visit_id", "institution", "person", "service_date", "total", "fund", "personal",
                                         "settled", "received_at"])
    list_filter = ["year", "month"]
    list_select_related = ["institution", "person"]
    number_fields = ("visit_id",)
    search_help_text = _("Name, full ID number or its last digits, or the visit number")
    readonly_fields = money_columns(Visit, [f.name for f in Visit._meta.fields])
    show_full_result_count = False
    change_list_template = "admin/settlement/upload_link_change_list.html"
    upload_kind = UploadKind.VISITS

    def get_queryset(self, request):
        return with_account_marks(_own(request, super().get_queryset(request)))

    @admin.display(boolean=True, description=_("settled"))
    def settled(self, obj):
        return visit_is_settled(obj)


@admin.register(PoolMembership)
class PoolMembershipAdmin(PersonSearchMixin, ChooserMixin, admin.ModelAdmin):
    list_display = ["person", "institution", "year", "source", "signed_on"]
    list_filter = ["year", "source"]
    list_select_related = ["person", "institution"]
    autocomplete_fields = ["person", "institution"]
    show_full_result_count = False
    change_list_template = "admin/settlement/upload_link_change_list.html"
    upload_kind = UploadKind.SIGNUPS

    def get_queryset(self, request):
        return _own(request, super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # sign-ups go through the upload page (pool_signups_import), one institution per person-year

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A membership is never moved or removed within its year: its institution alone advances
        # the person's yearly ledger (services/visits.py) and counts the person's head.
        return False


@admin.register(SchoolClinic)
class SchoolClinicAdmin(ChooserMixin, SimpleHistoryAdmin):
    list_display = ["school", "institution"]
    list_select_related = ["school", "institution"]
    autocomplete_fields = ["school", "institution"]


def _own(request, queryset):
    """An institution operator sees only its own institution's rows (DESIGN "Permissions")."""
    institution_id = operator_institution_id(request.user)
    return queryset if institution_id is None else queryset.filter(institution_id=institution_id)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=UploadKind.choices, label=_("kind"))
    institution = forms.ModelChoiceField(Institution.objects.none(), label=_("institution"))
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False, label=_("year"),
                              help_text=_("Sign-up lists only: the year of the membership."))
    file = forms.FileField(label=_("File (.csv or .xlsx)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions_for(user)
        if operator_institution_id(user) is not None:
            self.fields["institution"].empty_label = None  # its own institution, chosen already
        else:  # the agency's clerk: any of the city's institutions, by name or code (issue #14 item 6)
            chooser_field(self.fields["institution"], PoolUpload, "institution", admin.site)

    def clean(self):
        data = super().clean()
        if data.get("kind") == UploadKind.SIGNUPS and not data.get("year"):
            self.add_error("year", _("A sign-up list needs its year."))
        return data


@admin.register(PoolUpload)
class PoolUploadAdmin(ChooserMixin, admin.ModelAdmin):
    """Upload → check (every row's problem, naming its field) → confirm, like the tax-file import."""

    list_display = ["filename", "kind", "institution", "year", "status", "uploaded_by", "uploaded_at", "rows_total",
                    "rows_with_problems"]
    list_filter = ["kind", "status"]
    list_select_related = ["institution", "uploaded_by"]
    fields = readonly_fields = ["filename", "kind", "institution", "year", "status", "uploaded_by", "uploaded_at",
                                "imported_at"]
    change_list_template = "admin/settlement/upload_link_change_list.html"

    def get_queryset(self, request):
        return _own(request, super().get_queryset(request))

    @admin.display(description=_("rows"))
    def rows_total(self, obj):
        return obj.preview.get("total", "")

    @admin.display(description=_("rows with problems"))
    def rows_with_problems(self, obj):
        return len((obj.result or obj.preview).get("errors", []))

    def has_add_permission(self, request):
        return False  # through the upload page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="settlement_poolupload_upload"),
            path("<int:pk>/confirm/", self.admin_site.admin_view(self.confirm_view),
                 name="settlement_poolupload_confirm"),
            *super().get_urls(),
        ]

    def _may_upload(self, request) -> bool:
        return any(request.user.has_perm(p) for p in PERMISSION.values())

    def may_choose(self, request, db_field) -> bool:
        return db_field.name == "institution" and self._may_upload(request)

    def chooser_queryset(self, request, db_field, queryset, term):
        return queryset.filter(pk__in=institutions_for(request.user).values("pk"))

    def upload_view(self, request):
        if not self._may_upload(request):
            raise PermissionDenied
        initial = {"kind": request.GET.get("kind", UploadKind.VISITS), "year": timezone.localdate().year}
        form = UploadForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Upload visits or a sign-up list"),
                   "visit_columns": column_help(UPLOAD_COLUMNS["visits"], UPLOAD_REQUIRED["visits"]),
                   "stay_columns": column_help(UPLOAD_COLUMNS["stays"], UPLOAD_REQUIRED["stays"]),
                   "signup_columns": column_help(UPLOAD_COLUMNS["signups"], UPLOAD_REQUIRED["signups"])}
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            try:
                content = read_upload(upload)
                large = check_in_background(
                    request, filename=upload.name, content=content, kind=POOL_UPLOAD_CHECK,
                    confirm_url_name="admin:settlement_poolupload_confirm",
                    store=lambda: pool_upload_store(acting_user=request.user, kind=data["kind"],
                                                    institution=data["institution"], year=data["year"],
                                                    filename=upload.name, content=content))
                if large:
                    return large
                checked = pool_upload_check(acting_user=request.user, kind=data["kind"],
                                            institution=data["institution"], year=data["year"],
                                            filename=upload.name, content=content)
            except QuoteError as exc:
                form.add_error("file" if getattr(exc, "field", "") in ("file", "") else None, localized(exc))
            else:
                return HttpResponseRedirect(reverse("admin:settlement_poolupload_change", args=[checked.pk]))
        return TemplateResponse(request, "admin/settlement/poolupload/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        upload = get_object_or_404(self.get_queryset(request), pk=object_id)
        report = upload.result or upload.preview
        extra_context = {**(extra_context or {}), "upload": upload, "report": report, "pending": upload_pending(upload),
                         "field_labels": field_labels(UPLOAD_COLUMNS[upload.kind]),
                         "can_confirm": upload_confirmable(upload) and request.user.has_perm(PERMISSION[upload.kind])}
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request, pk):
        if request.method != "POST":
            raise PermissionDenied
        upload = get_object_or_404(self.get_queryset(request), pk=pk)
        if not request.user.has_perm(PERMISSION[upload.kind]):  # medins.roles.ADMIN_VIEWS
            raise PermissionDenied
        large = import_in_background(request, upload, kind=POOL_UPLOAD_IMPORT)
        if large:
            return large
        try:
            upload = pool_upload_confirm(acting_user=request.user, upload=upload)
        except QuoteError as exc:
            self.message_user(request, localized(exc), messages.ERROR)
        else:
            created, errors = upload.result.get("created", 0), len(upload.result.get("errors", []))
            self.message_user(request, _("%(created)d rows imported, %(errors)d rows with problems skipped.")
                              % {"created": created, "errors": errors},
                              messages.WARNING if errors else messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:settlement_poolupload_change", args=[upload.pk]))


@admin.register(InstitutionOperator)
class InstitutionOperatorAdmin(ChooserMixin, AdministratorOnly, SimpleHistoryAdmin):
    list_display = ["user", "institution"]
    list_select_related = ["user", "institution"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["institution"]
