"""Monthly care claims in the admin (DOMAIN.md §7): the claims list (filters: month, state, home),
the claim page with each resident's line and every refused day with its reason, the workflow
buttons from the transitions table (carecare.workflow.CARE_CLAIMS), the file upload with a
preview (check first, nothing written, then confirm) and the monthly reminder's lists.

Every change goes through carecare.services.claims; a care home's operator sees its own home's
claims and uploads only (another home's is a 404). Registered by carecare.admin.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.admin_search import PersonSearchMixin
from enrollment.messages import localized
from medins.admin_jobs import check_in_background, import_in_background
from medins.admin_mixins import (
    ChooserMixin,
    ConfirmRow,
    ReadOnlyAdmin,
    TransitionHistoryInline,
    chooser_field,
    object_url,
)
from medins.admin_workflow import WorkflowActMixin, WorkflowButtons
from medins.parsing import read_upload
from medins.uploads import column_help, field_labels, upload_confirmable, upload_pending
from medins.value_display import money_columns

from . import selectors
from .claim_checks import COLUMN_ALIASES, FLAGS, REASONS, REQUIRED_COLUMNS, RULE_LABELS
from .errors import CareError
from .jobs import CARE_UPLOAD_CHECK, CARE_UPLOAD_IMPORT
from .models import CareClaim, CareClaimReminder, CareClaimState, CareClaimTransition, CareClaimUpload
from .services import claims as claim_services
from .workflow import CARE_CLAIMS, CLAIM_QUEUES

C = CareClaimState

# The clerk's steps, declared once; the buttons shown come from the transitions table
# (medins.admin_workflow: the services with an edge out of the claim's state) and the
# permission each step needs.
CLAIM_ACTIONS = {
    # name: (label, service, permission)
    "check": (_("Check the claim"), "care_claim_check", claim_services.CHECK),
    "approve": (_("Approve (second clerk)"), "care_claim_approve", claim_services.APPROVE),
    "order_payment": (_("Order the payment"), "care_claim_order_payment", claim_services.APPROVE),
    "reject": (_("Reject"), "care_claim_reject", claim_services.CHECK),
}
BUTTONS = WorkflowButtons(CARE_CLAIMS, {name: (label, service, name == "reject")
                                        for name, (label, service, _perm) in CLAIM_ACTIONS.items()},
                          {name: (perm,) for name, (_label, _service, perm) in CLAIM_ACTIONS.items()},
                          confirm={  # the steps that move money ask first (issue #14 item 5)
                              "approve": _("Approving orders the payment of the fund's share to the care home."),
                              "order_payment": _("The payment of the fund's share to the care home is ordered."),
                          })


def claim_actions_for(claim, user=None) -> list[tuple[str, str]]:
    return BUTTONS.for_state(claim.state, user)


def amount(value):
    """A count in a column of figures, right-aligned like the amounts beside it (medins.value_display)."""
    return format_html('<span class="care-amount" style="display:block;text-align:right">{}</span>', value)


def month_text(day: dt.date) -> str:
    return f"{day:%Y-%m}"


class MonthFilter(admin.SimpleListFilter):
    title = _("month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = selectors.claims_for(request.user).order_by("-month").values_list("month", flat=True).distinct()[:24]
        return [(month_text(m), month_text(m)) for m in months]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(month=dt.date.fromisoformat(self.value() + "-01"))
            except ValueError:
                return queryset.none()
        return queryset


class QueueFilter(admin.SimpleListFilter):
    title = _("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _states) in CLAIM_QUEUES.items()]

    def queryset(self, request, queryset):
        if self.value() in CLAIM_QUEUES:
            return queryset.filter(state__in=CLAIM_QUEUES[self.value()][1])
        return queryset


class HomeFilter(admin.SimpleListFilter):
    title = _("care home")
    parameter_name = "home"

    def lookups(self, request, model_admin):
        homes = selectors.care_homes().filter(pk__in=selectors.claims_for(request.user).values("care_home_id"))
        return [(str(pk), f"{code} {name}") for pk, code, name in homes.order_by("code").values_list("pk", "code", "name")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(care_home_id=int(self.value()))
        return queryset


class ClaimTransitionInline(TransitionHistoryInline):
    model = CareClaimTransition


@admin.register(CareClaim)
class CareClaimAdmin(WorkflowActMixin, PersonSearchMixin, SimpleHistoryAdmin):
    list_display = money_columns(CareClaim, ("number", "care_home", "month_label", "state", "residents", "days_billed",
                                             "days_refused_col", "total", "fund", "personal", "refused_amount", "received_at"))
    list_display_links = ("number",)
    list_select_related = ("care_home",)
    list_filter = (QueueFilter, MonthFilter, "state", HomeFilter)
    # the claims with a line of the person (name, full ID number or its last digits), the care home by
    # code or the start of its name, or the claim number (HL00000012)
    person_path = "lines__person"
    search_help_text = _("Resident's name, full ID number or its last digits; care home name or code; claim number")
    list_per_page = 50
    ordering = ("-month", "care_home__code")
    change_form_template = "admin/carecare/careclaim/change_form.html"
    change_list_template = "admin/carecare/careclaim/change_list.html"
    inlines = (ClaimTransitionInline,)
    workflow_buttons = BUTTONS
    workflow_errors = (CareError,)
    readonly_fields = money_columns(CareClaim, (
        "number", "care_home", "month_label", "state", "source", "sends", "received_at", "received_by", "checked_by",
        "approved_by", "state_changed_at", "rejection_reason", "policy_version", "residents", "days_billed", "days_refused",
        "total", "fund", "personal", "refused_amount", "payment_order"))
    fields = readonly_fields

    def get_queryset(self, request):
        return selectors.claims_for(request.user).select_related("care_home")

    def has_add_permission(self, request):
        return False  # a claim arrives from the home (API) or through the file upload

    def get_search_fields(self, request):
        return ("lines__person__name", "care_home__name", "care_home__code")

    def search_number(self, term):
        match = re.fullmatch(r"HL0*(\d{1,12})", term.upper())
        homes = Q(care_home__code=term) | Q(care_home__name__startswith=term)
        return homes | Q(pk=int(match.group(1))) if match else homes

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("claim number"), ordering="pk")
    def number(self, obj):
        return obj.number

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return month_text(obj.month)

    @admin.display(description=_("days refused"), ordering="days_refused")
    def days_refused_col(self, obj):
        return amount(obj.days_refused)

    # ---- the claim's steps (medins.admin_workflow.WorkflowActMixin: <pk>/act/)

    def workflow_steps(self, request, obj):
        return dict(claim_actions_for(obj, request.user))

    def workflow_confirm_row(self, obj):
        return ConfirmRow(f"{obj.number} {obj.care_home.name} {month_text(obj.month)}", object_url(obj), obj.fund,
                          obj.get_state_display())

    def workflow_run(self, request, obj, name):
        if name == "check":
            claim_services.care_claim_check(acting_user=request.user, claim=obj)
        elif name == "approve":
            done = claim_services.care_claim_approve(acting_user=request.user, claim=obj,
                                                     reason=(request.POST.get("reason") or "").strip())
            if getattr(done, "payment_refusal", ""):
                return gettext("Approved; the payment is not ordered yet: %(why)s") % {"why": done.payment_refusal}
        elif name == "order_payment":
            claim_services.care_claim_order_payment(acting_user=request.user, claim=obj)
        elif name == "reject":
            claim_services.care_claim_reject(acting_user=request.user, claim=obj, reason=request.POST.get("reason", ""))
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        claim = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if claim is not None:
            extra_context["claim_actions"] = claim_actions_for(claim, request.user)
            extra_context["claim_lines"] = claim_lines(claim)
        return super().change_view(request, object_id, form_url, extra_context)


def claim_lines(claim) -> list[dict]:
    """Each resident's line for the claim page: the result and every refused (and flagged) day
    with its reason (one query)."""
    reveal = False
    out = []
    for line in claim.lines.select_related("person").order_by("pk"):
        refused = [(d["date"], str(REASONS.get(d["refused"], d["refused"]))) for d in line.days if d.get("refused")]
        flagged = [(d["date"], str(FLAGS.get(d["flag"], d["flag"]))) for d in line.days if d.get("flag")]
        rules = [(str(RULE_LABELS.get(g["rule"], g["rule"])), g["days"], g["fund"]) for g in line.groups]
        out.append({"line": line, "name": line.person.name if line.person else "—",
                    "id_number": line.id_number if reveal else line.id_number[:6] + "********" + line.id_number[-4:],
                    "refused": refused, "flagged": flagged, "rules": rules,
                    "line_refusal": str(REASONS.get(line.line_refusal, "")) if line.line_refusal else ""})
    return out


# --------------------------------------------------------------------------- upload with preview


class ClaimUploadForm(forms.Form):
    care_home = forms.ModelChoiceField(queryset=None, label=_("care home"))
    month = forms.CharField(label=_("month"), help_text=_("YYYY-MM, e.g. 2021-06"), max_length=7)
    file = forms.FileField(label=_("file"), help_text=_("CSV (UTF-8) or XLSX"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        own = selectors.operator_home_id(user)
        self.fields["care_home"].queryset = selectors.homes_for(user).order_by("code")
        if own is not None:
            self.fields["care_home"].initial = own
        else:  # the agency's clerk: a care home by name or code (issue #14 item 6)
            chooser_field(self.fields["care_home"], CareClaimUpload, "care_home", admin.site)

    def clean_month(self):
        try:
            return dt.date.fromisoformat(self.cleaned_data["month"].strip() + "-01")
        except ValueError:
            raise forms.ValidationError(_("Write the month as YYYY-MM.")) from None


@admin.register(CareClaimUpload)
class CareClaimUploadAdmin(ChooserMixin, admin.ModelAdmin):
    """Upload a month's claim file → check (each resident's refused days, nothing written) → confirm."""

    list_display = ("filename", "care_home", "month_label", "status", "uploaded_by", "uploaded_at", "rows_total",
                    "problems")
    list_select_related = ("care_home", "uploaded_by")
    list_filter = ("status",)
    fields = readonly_fields = ("filename", "care_home", "month_label", "status", "claim", "uploaded_by", "uploaded_at",
                                "imported_at")
    change_list_template = "admin/carecare/careclaimupload/change_list.html"
    change_form_template = "admin/carecare/careclaimupload/change_form.html"

    def get_queryset(self, request):
        return selectors.own_home_rows(request.user, super().get_queryset(request))

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return month_text(obj.month)

    @admin.display(description=_("rows"))
    def rows_total(self, obj):
        return obj.preview.get("rows", "")

    @admin.display(description=_("problems"))
    def problems(self, obj):
        return len(obj.report.get("errors", []))

    def has_add_permission(self, request):
        return False  # through the upload page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def may_choose(self, request, db_field) -> bool:
        return db_field.name == "care_home" and request.user.has_perm(claim_services.RECEIVE)

    def chooser_queryset(self, request, db_field, queryset, term):
        return queryset.filter(pk__in=selectors.homes_for(request.user).values("pk"))

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="carecare_careclaimupload_upload"),
            path("<int:pk>/confirm/", self.admin_site.admin_view(self.confirm_view),
                 name="carecare_careclaimupload_confirm"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        if not request.user.has_perm(claim_services.RECEIVE):
            raise PermissionDenied
        form = ClaimUploadForm(request.POST or None, request.FILES or None, user=request.user)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Upload a monthly care claim"),
                   "upload_columns": column_help(COLUMN_ALIASES, REQUIRED_COLUMNS)}
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                content = read_upload(data["file"])
                large = check_in_background(
                    request, filename=data["file"].name, content=content, kind=CARE_UPLOAD_CHECK,
                    confirm_url_name="admin:carecare_careclaimupload_confirm",
                    store=lambda: claim_services.care_claim_upload_store(
                        acting_user=request.user, care_home=data["care_home"], month=data["month"],
                        filename=data["file"].name, content=content))
                if large:
                    return large
                checked = claim_services.care_claim_upload_check(
                    acting_user=request.user, care_home=data["care_home"], month=data["month"],
                    filename=data["file"].name, content=content)
            except CareError as exc:
                form.add_error(None, str(exc))
            except Exception as exc:  # medins.parsing.FileError (size) from read_upload
                from medins.benefits.errors import QuoteError

                if not isinstance(exc, QuoteError):
                    raise
                form.add_error("file", localized(exc))  # in the reader's language (issue 14 item 4)
            else:
                return HttpResponseRedirect(reverse("admin:carecare_careclaimupload_change", args=[checked.pk]))
        return TemplateResponse(request, "admin/carecare/careclaimupload/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        upload = get_object_or_404(self.get_queryset(request), pk=object_id)
        extra_context = {**(extra_context or {}), "upload": upload, "report": upload.report,
                         "field_labels": field_labels(COLUMN_ALIASES, {"residents": gettext("residents")}),
                         "pending": upload_pending(upload),
                         "can_confirm": upload_confirmable(upload) and not upload.preview.get("errors")
                         and request.user.has_perm(claim_services.RECEIVE)}
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request, pk):
        if request.method != "POST":
            raise PermissionDenied
        upload = get_object_or_404(self.get_queryset(request), pk=pk)
        if not (self.has_view_permission(request, upload) and request.user.has_perm(claim_services.RECEIVE)):
            raise PermissionDenied
        large = import_in_background(request, upload, kind=CARE_UPLOAD_IMPORT)
        if large:
            return large
        try:
            upload = claim_services.care_claim_upload_confirm(acting_user=request.user, upload=upload)
        except CareError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:carecare_careclaimupload_change", args=[upload.pk]))
        self.message_user(request, gettext("Claim %(number)s received.") % {"number": upload.claim.number},
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:carecare_careclaim_change", args=[upload.claim_id]))


@admin.register(CareClaimReminder)
class CareClaimReminderAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The monthly reminder's lists: care homes with residents that have not sent a month's claim."""

    list_display = ("month_label", "home_count", "homes_list", "checked_at")
    fields = readonly_fields = ("month_label", "home_count", "homes_list", "checked_at")

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return month_text(obj.month)

    @admin.display(description=_("care homes"))
    def homes_list(self, obj):
        return "；".join(f"{h['code']} {h['name']}" for h in obj.homes) or "—"
