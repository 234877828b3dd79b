"""Admin for enrollment clerks: thin, every change goes through the services."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from medins.admin_jobs import check_in_background, job_progress_url
from medins.admin_mixins import ChooserMixin, ReadOnlyAdmin, confirm_action
from medins.benefits.errors import QuoteError
from medins.jobs import job_live, job_start_once
from medins.models import PolicyVersion
from medins.uploads import estimated_rows
from medins.value_display import format_money, money_columns

from .admin_search import PERSON_SEARCH_HELP, PersonSearchMixin
from .idnumber import mask
from .imports import FileError, row_message
from .jobs import TAX_FILE_CHECK, TAX_FILE_IMPORT
from .messages import localized
from .models import (
    Category,
    CoveragePeriod,
    CoverageStatus,
    ImportStatus,
    Payment,
    PaymentImport,
    PaymentSource,
    Person,
    School,
    Stop,
    StopReason,
)
from .personal_data import MaskedHistoryMixin
from .selectors import category_ages_on, person_change_log, persons_in_category, persons_search
from .services import (
    payment_check,
    payment_import_prepare,
    payment_import_store,
    payment_record,
    person_save,
    person_stop,
    stop_refund,
)
from .services.stops import stop_refundable_payments

REVEAL = "enrollment.reveal_personal_data"


def _reveal(request) -> bool:
    return request.user.has_perm(REVEAL)


# --------------------------------------------------------------------------- paging


class EstimatedCountPaginator(Paginator):
    """Counts that stay cheap at 1 000 000 persons (PostgreSQL):

    - the unfiltered list pages on the table's row estimate instead of counting every row;
    - a search or filter is counted exactly up to EXACT_UP_TO rows (a count over a LIMIT
      subquery, which stops early); beyond that the planner's estimate of the filtered rows is
      used (never less than the rows actually seen). Clerks narrow a list of ten thousand
      persons down rather than page through it; the rows shown are always the real ones.
    """

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if query is None or connection.vendor != "postgresql":
            return super().count
        if not query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > 100_000:
                return row[0]
            return super().count
        seen = self.object_list[: self.EXACT_UP_TO + 1].count()
        if seen <= self.EXACT_UP_TO:
            return seen
        sql, params = query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(seen, int(plan[0]["Plan"]["Plan Rows"]))


# --------------------------------------------------------------------------- filters


class CategoryFilter(admin.SimpleListFilter):
    """DOMAIN §1 category today as birth-date ranges and school kind (`persons_in_category`); the
    list is then ordered youngest first, along the birth_date index (see PersonAdmin.get_ordering)."""

    title = _("category (today)")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return Category.choices

    def queryset(self, request, queryset):
        if self.value() not in Category.values:
            return queryset
        return persons_in_category(queryset, self.value(), timezone.localdate())


def _category_column():
    """A "category (today)" column for one page: the regions' boundaries are read at its first row."""
    day = timezone.localdate()
    read: dict[str, dict] = {}

    @admin.display(description=_("category (today)"))
    def category_today(obj):
        if "ages" not in read:
            read["ages"] = category_ages_on(day)
        ages = read["ages"].get(obj.region_id)
        return "—" if ages is None else Category(obj.category_on(day, ages=ages)).label

    return category_today


class CoverageYearFilter(admin.SimpleListFilter):
    title = _("covered in year")
    parameter_name = "covered_year"

    def lookups(self, request, model_admin):
        """Every year a policy version covers (cover is only ever bought under a policy) and this
        and next year, newest first: not a window relative to today, which on a 2026 clock had
        lost 2021, the demo's year (issue #14)."""
        this_year = timezone.localdate().year
        years = {this_year, this_year + 1}
        for start, end in PolicyVersion.objects.values_list("effective_from", "effective_to"):
            years.update(range(start.year, (end or start).year + 1))
        return [(str(y), str(y)) for y in sorted(years, reverse=True)]

    def queryset(self, request, queryset):
        if not self.value() or not self.value().isdigit():
            return queryset
        periods = CoveragePeriod.objects.filter(person=OuterRef("pk"), benefit_year=int(self.value()), status=CoverageStatus.ACTIVE)
        return queryset.filter(Exists(periods))


# --------------------------------------------------------------------------- inlines


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CoveragePeriodInline(_ReadOnlyInline):
    model = CoveragePeriod
    fields = readonly_fields = ("benefit_year", "covered_from", "covered_to", "waiting", "status", "payment", "stop")
    ordering = ("covered_from",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment", "stop__person")


class PaymentInline(_ReadOnlyInline):
    model = Payment
    fk_name = "person"
    fields = readonly_fields = money_columns(Payment, ("receipt_number", "paid_on", "amount", "category", "policy_version",
                                                       "source", "status"))


class StopInline(_ReadOnlyInline):
    model = Stop
    fields = readonly_fields = ("stop_date", "reason", "note", "created_by", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


# --------------------------------------------------------------------------- persons


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "region")
    list_filter = ("kind", "region")
    list_select_related = ("region",)
    search_fields = ("name", "code")

    @staticmethod
    def chooser_label(obj):
        """A school in an autocomplete box: its name and code."""
        return f"{obj.name}（{obj.code}）"


# Read-only sections other apps add to the person's page after the coverage timeline (the
# certifications' timeline): {name: permission needed to see it}. The section is a method the app
# attaches with person_page_section, so the dependency stays claims → enrollment.
PERSON_PAGE_SECTIONS: dict[str, str | None] = {}


def person_page_section(name: str, display, *, permission: str | None = None) -> None:
    setattr(PersonAdmin, name, display)
    PERSON_PAGE_SECTIONS[name] = permission


def _sections(request) -> list[str]:
    return [name for name, perm in PERSON_PAGE_SECTIONS.items() if perm is None or request.user.has_perm(perm)]


@admin.register(Person)
class PersonAdmin(ChooserMixin, MaskedHistoryMixin, SimpleHistoryAdmin):
    list_display = ("masked_id", "name", "sex", "birth_date", "category_today", "region", "school", "assistance")
    list_select_related = ("region", "school")
    list_filter = ("region", CategoryFilter, "school", CoverageYearFilter, "assistance")
    search_fields = ("name",)  # shows the box; the search itself is persons_search (indexed)
    search_help_text = PERSON_SEARCH_HELP
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-pk",)
    list_per_page = 50
    autocomplete_fields = ("school",)
    inlines = (CoveragePeriodInline, PaymentInline, StopInline)
    actions = ("stop_cover",)

    @admin.display(description=_("ID number"), ordering="id_number")
    def masked_id(self, obj):
        return obj.masked_id_number

    @staticmethod
    def chooser_label(obj):
        """A person in an autocomplete box: name and masked ID number (never the key, never the full number)."""
        return f"{obj.name} {obj.masked_id_number}"

    @admin.display(description=_("category (today)"))
    def category_today(self, obj):
        return _category_column()(obj)

    def get_list_display(self, request):
        """The category column reads the policies' boundaries once per page (`category_ages_on`)."""
        column = _category_column()
        return [column if name == "category_today" else name for name in super().get_list_display(request)]

    @admin.display(description=_("bank account"))
    def masked_bank(self, obj):
        return obj.masked_bank_account

    @admin.display(description=_("coverage timeline"))
    def coverage_timeline(self, obj):
        """One row per coverage period: dates, status, why it starts late or ends early, and a bar
        placed on its benefit year (green: covered, orange: after a waiting period, grey: cancelled)."""
        periods = list(obj.coverage_periods.select_related("stop").order_by("covered_from", "pk"))
        if not periods:
            return _("No cover recorded.")

        def row(p):
            year_days = 366 if calendar.isleap(p.benefit_year) else 365
            start = (p.covered_from - dt.date(p.benefit_year, 1, 1)).days
            days = (p.covered_to - p.covered_from).days + 1
            colour = "#9e9e9e" if p.status == CoverageStatus.CANCELLED else ("#f0ad4e" if p.waiting else "#5cb85c")
            notes = []
            if p.waiting:
                notes.append(str(_("after a waiting period")))
            if p.stop_id:
                notes.append(f"{_('ended by stop')} {date_format(p.stop.stop_date)}（{p.stop.get_reason_display()}）")
            return (p.benefit_year, date_format(p.covered_from), date_format(p.covered_to), p.get_status_display(),
                    "；".join(notes) or "—", f"{start * 100 / year_days:.1f}", f"{max(0.5, days * 100 / year_days):.1f}", colour)

        rows = format_html_join(
            "", '<tr><td>{}</td><td style="white-space:nowrap">{}</td><td style="white-space:nowrap">{}</td><td>{}</td>'
            '<td>{}</td><td style="min-width:16em"><div style="background:#eee;height:1em">'
            '<div style="margin-left:{}%;width:{}%;background:{};height:1em"></div></div></td></tr>',
            (row(p) for p in periods))
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                           _("benefit year"), _("covered from"), _("covered to"), _("status"), _("note"),
                           _("1 Jan – 31 Dec"))
        return format_html('<table class="coverage-timeline"><thead>{}</thead><tbody>{}</tbody></table>', head, rows)

    @admin.display(description=_("change log"))
    def change_log(self, obj):
        """Who changed what and when: the person, their payments, coverage periods and stops
        (field names only: the values stay on the pages that mask them)."""
        entries = person_change_log(obj)
        if not entries:
            return _("No change recorded.")
        actions = {"+": _("created"), "~": _("changed"), "-": _("deleted")}

        def row(e):
            opts = e.model._meta
            names = [str(opts.get_field(f[:-3] if f.endswith("_id") else f).verbose_name) for f in e.changed]
            try:
                link = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[e.object_id])
            except NoReverseMatch:
                link = ""
            return (date_format(timezone.localtime(e.when), "DATETIME_FORMAT"), e.user or "—", opts.verbose_name,
                    link, e.label, actions.get(e.action, e.action), "、".join(names) or "—")

        rows = format_html_join("", '<tr><td style="white-space:nowrap">{}</td><td>{}</td><td>{}</td>'
                                    '<td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>', (row(e) for e in entries))
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                           _("time"), _("by"), _("record"), _("which"), _("action"), _("changed fields"))
        return format_html('<table class="change-log"><thead>{}</thead><tbody>{}</tbody></table>', head, rows)

    def get_fields(self, request, obj=None):
        id_field = "id_number" if obj is None or _reveal(request) else "masked_id"
        bank_field = "bank_account" if obj is None or _reveal(request) else "masked_bank"
        fields = [id_field, "name", "region", "community", "phone", bank_field, "school", "assistance"]
        if obj is not None:
            fields += ["sex", "birth_date", "created_at", "coverage_timeline", *_sections(request), "change_log"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("masked_id", "masked_bank", "sex", "birth_date", "created_at", "coverage_timeline", *_sections(request),
                "change_log")

    def get_ordering(self, request):
        """Newest registrations first; under the category filter, youngest first: the filter is a
        birth-date range, and walking the birth_date index finds a page at once, where walking
        the primary key may pass 100 000 persons of other categories first."""
        if request.GET.get(CategoryFilter.parameter_name) in Category.values:
            return ("-birth_date", "-pk")
        return super().get_ordering(request)

    def get_search_results(self, request, queryset, search_term):
        return persons_search(queryset, search_term), False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not _reveal(request):  # a past version shows the full ID number and bank account
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        person_save(person=obj, acting_user=request.user)

    @admin.action(description=_("Stop cover of the selected person…"), permissions=["add_stop"])
    def stop_cover(self, request, queryset):
        persons = list(queryset.values_list("pk", flat=True)[:2])
        if len(persons) != 1:
            self.message_user(request, _("Select exactly one person to stop."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:enrollment_stop_add") + f"?person={persons[0]}")

    def has_add_stop_permission(self, request):
        return request.user.has_perm("enrollment.add_stop")


# --------------------------------------------------------------------------- payments


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ("person", "receipt_number", "paid_on", "amount", "newborn_registration")

    def clean(self):
        data = super().clean()
        person = data.get("person")
        if person is None or self.errors:
            return data
        existing = person.coverage_periods.filter(status=CoverageStatus.ACTIVE).values_list("covered_from", "covered_to")
        try:
            self.preview = payment_check(
                person=person, paid_on=data["paid_on"], amount=data["amount"],
                newborn_registration=data.get("newborn_registration", False), existing=list(existing),
                deceased=person.stops.filter(reason=StopReason.DEATH).exists())
        except QuoteError as exc:
            field = getattr(exc, "field", None)
            raise ValidationError({field if field in self.fields else "paid_on": localized(exc)}) from exc
        return data


@admin.register(Payment)
class PaymentAdmin(PersonSearchMixin, ChooserMixin, SimpleHistoryAdmin):
    form = PaymentForm
    list_display = money_columns(Payment, ("receipt_number", "person_name", "person_id_number", "paid_on", "amount", "category",
                                           "source", "status"))
    list_select_related = ("person",)
    list_filter = ("status", "source", "category", "person__region", "paid_on")
    number_fields = ("receipt_number",)
    show_full_result_count = False
    date_hierarchy = "paid_on"
    autocomplete_fields = ("person",)
    change_list_template = "admin/enrollment/payment/change_list.html"
    readonly_fields = money_columns(Payment, ("receipt_number", "person", "paid_on", "amount", "category", "newborn_registration",
                                              "policy_version", "source", "payment_import", "status", "refund_stop",
                                              "refunded_at", "created_at"))

    @admin.display(description=pgettext_lazy("person", "name"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def person_id_number(self, obj):
        return obj.person.masked_id_number

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else PaymentForm.Meta.fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        payment = payment_record(
            acting_user=request.user, person=obj.person, receipt_number=obj.receipt_number, paid_on=obj.paid_on,
            amount=obj.amount, newborn_registration=obj.newborn_registration, source=PaymentSource.MANUAL)
        obj.pk, obj.category, obj.policy_version = payment.pk, payment.category, payment.policy_version

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="enrollment_payment_import"),
            path("import/<int:pk>/confirm/", self.admin_site.admin_view(self.import_confirm_view),
                 name="enrollment_payment_import_confirm"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a tax file: validate every row and show the preview, nothing written yet. A file above
        JOB_UPLOAD_THRESHOLD rows is checked by a background job (progress page, then its result with
        the confirm button; issue #14 item 3)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TaxFileForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Import a tax bureau payment file")}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            large = check_in_background(
                request, filename=upload.name, content=content, kind=TAX_FILE_CHECK,
                store=lambda: payment_import_store(acting_user=request.user, filename=upload.name, content=content),
                params=lambda stored: {"payment_import": stored.pk, "expected_rows": estimated_rows(upload.name, content)})
            if large:
                return large
            try:
                payment_import, report = payment_import_prepare(acting_user=request.user, filename=upload.name,
                                                                content=content)
            except FileError as exc:
                form.add_error("file", localized(exc))
            else:
                errors = [{**e, "text": row_message(e)} for e in report.errors]
                context.update(payment_import=payment_import, report=report, errors=errors,
                               title=_("Check the file before importing"), valid=report.ok)
                return TemplateResponse(request, "admin/enrollment/payment/import_preview.html", context)
        return TemplateResponse(request, "admin/enrollment/payment/import_upload.html", context)

    def import_confirm_view(self, request, pk):
        """Confirming starts the import as a background job (issue #14 item 3) and shows its progress;
        a second click while it runs shows the same job."""
        if not self.has_add_permission(request) or request.method != "POST":
            raise PermissionDenied
        payment_import = get_object_or_404(PaymentImport, pk=pk)
        if payment_import.status != ImportStatus.PREVIEWED:
            self.message_user(request, _("This file is already imported, or its preview has expired."), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:enrollment_paymentimport_change", args=[payment_import.pk]))
        if job_live(payment_import, TAX_FILE_CHECK):  # nothing is imported before its check is done
            self.message_user(request, _("This file is still being checked."), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:enrollment_paymentimport_change", args=[payment_import.pk]))
        job = job_start_once(acting_user=request.user, kind=TAX_FILE_IMPORT, target=payment_import,
                             params={"payment_import": payment_import.pk})
        return HttpResponseRedirect(job_progress_url(job))


class TaxFileForm(forms.Form):
    file = forms.FileField(label=_("Tax bureau file (.csv or .xlsx)"))


@admin.register(PaymentImport)
class PaymentImportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("filename", "status", "uploaded_by", "uploaded_at", "total_rows", "imported_rows", "duplicate_rows",
                    "error_rows")
    list_select_related = ("uploaded_by",)
    list_filter = ("status",)
    fields = readonly_fields = ("filename", "status", "uploaded_by", "uploaded_at", "finished_at", "total_rows",
                                "imported_rows", "duplicate_rows", "error_rows", "row_errors", "confirm")

    @admin.display(description=_("row errors"))
    def row_errors(self, obj):
        if not obj.errors:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (e["row"], e.get("column") or e["field"], e.get("receipt_number", ""), e.get("id_number", ""), row_message(e))
            for e in obj.errors))
        return format_html("<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           _("row"), _("column"), _("receipt number"), _("ID number"), _("problem"), rows)

    @admin.display(description=_("confirm"))
    def confirm(self, obj):
        if obj.status in (ImportStatus.DONE, ImportStatus.EXPIRED):
            return "—"
        return format_html('<span class="help">{}</span>', _("Not imported yet: upload the file again to confirm."))


@admin.register(CoveragePeriod)
class CoveragePeriodAdmin(ReadOnlyAdmin, PersonSearchMixin, ChooserMixin, SimpleHistoryAdmin):
    list_display = ("person", "benefit_year", "covered_from", "covered_to", "waiting", "status", "payment")
    list_select_related = ("person", "payment")
    list_filter = ("benefit_year", "status", "waiting")
    show_full_result_count = False
    autocomplete_fields = ("person",)


# --------------------------------------------------------------------------- stops


class StopForm(forms.ModelForm):
    class Meta:
        model = Stop
        fields = ("person", "reason", "stop_date", "note")

    def clean(self):
        data = super().clean()
        person = data.get("person")
        if person is not None and person.stops.filter(reason=StopReason.DEATH).exists():
            raise ValidationError({"person": _("The person is already recorded as deceased.")})
        return data


def refundable_amount(stop):
    """What refunding `stop` would pay back, for its confirmation page: stop_refund's own rule
    (enrollment.services.stops.stop_refundable_payments), which may still refuse on the reason."""
    return sum((p.amount for p in stop_refundable_payments(stop)), Decimal("0.00"))


@admin.register(Stop)
class StopAdmin(PersonSearchMixin, ChooserMixin, SimpleHistoryAdmin):
    form = StopForm
    list_display = ("person_name", "person_id_number", "reason", "stop_date", "refunded", "created_by", "created_at")
    list_select_related = ("person", "created_by")
    list_filter = ("reason", "stop_date")
    autocomplete_fields = ("person",)
    actions = ("refund",)

    @admin.display(description=pgettext_lazy("person", "name"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def person_id_number(self, obj):
        return mask(obj.person.id_number)

    @admin.display(description=_("refunded payments"))
    def refunded(self, obj):
        return getattr(obj, "refunded_count", None) if getattr(obj, "refunded_count", 0) else "—"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(refunded_count=Count("refunded_payments"))

    def get_changeform_initial_data(self, request):
        return {"person": request.GET.get("person"), "stop_date": timezone.localdate()}

    def get_readonly_fields(self, request, obj=None):
        return ("person", "reason", "stop_date", "note", "created_by", "created_at") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        stop = person_stop(acting_user=request.user, person=obj.person, reason=obj.reason, stop_date=obj.stop_date,
                           note=obj.note)
        obj.pk, obj.created_by, obj.created_at = stop.pk, stop.created_by, stop.created_at

    @admin.action(description=_("Refund the contributions of the selected stops"), permissions=["change"])
    @confirm_action(amount=lambda stop: refundable_amount(stop), describe=lambda stop: f"{stop.person.name} {stop}",
                    warning=_("A refund cannot be undone: the payments are marked refunded and their cover ends."))
    def refund(self, request, queryset):
        for stop in queryset.select_related("person"):
            try:
                payments = stop_refund(acting_user=request.user, stop=stop)
            except QuoteError as exc:
                self.message_user(request, _("%(stop)s: refund refused: %(reason)s") % {"stop": stop, "reason": localized(exc)},
                                  messages.ERROR)
            else:
                total = sum(p.amount for p in payments)
                self.message_user(request, _("%(stop)s: refunded %(n)d payment(s), %(total)s yuan.")
                                  % {"stop": stop, "n": len(payments), "total": format_money(total)}, messages.SUCCESS)
