"""Admin of manual cases: work queues, the case page with its checklist, invoices and history.

Thin: every change goes through claims.services (the same services as the API and the portal).
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.admin_search import PersonSearchMixin
from enrollment.idnumber import mask
from enrollment.personal_data import MaskedHistoryMixin, mask_csv_columns
from medins.admin_jobs import job_progress_url
from medins.admin_mixins import (
    AdministratorOnly,
    ChooserMixin,
    ConfirmRow,
    TransitionHistoryInline,
    object_url,
)
from medins.admin_workflow import WorkflowButtons, WorkflowChangeFormMixin, step_input
from medins.jobs import Job, job_start
from medins.parsing import FileError, ParseError, parse_bank_account, parse_date, read_upload
from medins.roles import APPROVE_CASE, CASE_TRANSITIONS, IMPORT_BANK_RESULT, editable_fields
from medins.value_display import (
    CLASS_LABELS,
    amount_text,
    breakdown_table,
    code_html,
    day_column,
    format_money,
    money_columns,
    parameter_names,
    table,
)

from . import services
from .errors import CaseError
from .jobs import PAYMENT_JOB, RUN_PAYMENT_JOB, payment_job_outlook
from .models import (
    Attachment,
    Batch,
    Case,
    CaseMaterial,
    CaseTransition,
    CaseType,
    CaseTypeMaterial,
    Invoice,
    MaterialsNotice,
    PaymentFile,
    PaymentOrder,
    SchoolOperator,
)
from .selectors import invoice_conflict, normalize_invoice_key
from .services import payments
from .services.cases import INVOICE_FIELDS
from .workflow import CASES, EDITABLE, QUEUES, CaseState

REVEAL = "enrollment.reveal_personal_data"


def _reveal(request) -> bool:
    return request.user.has_perm(REVEAL)


# --------------------------------------------------------------------------- case types (policy data)


class CaseTypeMaterialInline(admin.TabularInline):
    model = CaseTypeMaterial
    extra = 0
    fields = ("order", "code", "name", "provided_by_hospital")


@admin.register(CaseType)
class CaseTypeAdmin(SimpleHistoryAdmin):
    list_display = ("name", "number", "code_col", "region", "benefit", "active")
    list_filter = ("region", "benefit", "active")
    list_select_related = ("region",)
    search_fields = ("name", "code")
    inlines = (CaseTypeMaterialInline,)

    @admin.display(description=_("code"), ordering="code")
    def code_col(self, obj):
        return code_html(obj.code)  # the code schools put in their batch files: shown as a code


# --------------------------------------------------------------------------- filters


class QueueFilter(admin.SimpleListFilter):
    title = _("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _states) in QUEUES.items()]

    def queryset(self, request, queryset):
        if self.value() in QUEUES:
            return queryset.filter(state__in=QUEUES[self.value()][1])
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = _("age of case")
    parameter_name = "age"
    _BUCKETS = {"lt7": (None, 7), "7to30": (7, 30), "gt30": (30, None)}

    def lookups(self, request, model_admin):
        return [("lt7", _("less than 7 days")), ("7to30", _("7 to 30 days")), ("gt30", _("more than 30 days"))]

    def queryset(self, request, queryset):
        bucket = self._BUCKETS.get(self.value())
        if not bucket:
            return queryset
        now = timezone.now()
        low, high = bucket
        if low is not None:
            queryset = queryset.filter(received_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            queryset = queryset.filter(received_at__gt=now - dt.timedelta(days=high))
        return queryset


# --------------------------------------------------------------------------- inlines


class InvoiceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen = set()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if self.instance.pk is None and not kept:  # issue 11 finding 10: a case with no invoice is refused
            raise forms.ValidationError(_("A case needs at least one invoice (for a lost one, its sealed stub copy)."))
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            key = normalize_invoice_key(form.cleaned_data.get("issuer", ""), form.cleaned_data.get("number", ""))
            if key in seen:
                raise forms.ValidationError(_("The same invoice appears twice."))
            seen.add(key)
            earlier = invoice_conflict(*key, exclude_case_id=self.instance.pk)
            if earlier is not None:
                form.add_error("number", _("Already claimed in case %(case)s.") % {"case": earlier.number})


def _invoice_data(form) -> dict:
    """An invoice row of the inline as the invoice services take it."""
    return {name: form.cleaned_data.get(name) for name in INVOICE_FIELDS}


class InvoiceInline(admin.TabularInline):
    model = Invoice
    formset = InvoiceFormSet
    extra = 0
    fields = ("issuer", "number", "issued_on", "kind", "class_a", "class_b", "class_c")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name.startswith("class_") and field is not None:
            field.widget.attrs["class"] = "money-input"  # amounts typed right-aligned, as they are shown
        return field

    def _editable(self, obj):
        return obj is None or obj.state in EDITABLE

    def get_fields(self, request, obj=None):
        """Once the case is closed to edits (or for a reader) the rows are read-only: amounts as money."""
        if self.has_change_permission(request, obj):
            return self.fields
        return money_columns(Invoice, self.fields)

    def get_readonly_fields(self, request, obj=None):
        return () if self.has_change_permission(request, obj) else money_columns(Invoice, self.fields)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._editable(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(obj)


class CaseMaterialInline(admin.TabularInline):
    model = CaseMaterial
    extra = 0
    can_delete = False
    fields = ("name", "received", "received_at")
    readonly_fields = ("name", "received_at")
    verbose_name_plural = _("materials (checklist)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.state in EDITABLE)


class _ReadOnly(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransitionInline(TransitionHistoryInline):
    model = CaseTransition


class NoticeInline(_ReadOnly):
    model = MaterialsNotice
    fields = readonly_fields = ("issued_at", "issued_by", "missing_list", "print_link")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issued_by")

    @admin.display(description=_("missing materials"))
    def missing_list(self, obj):
        return "；".join(m["name"] for m in obj.missing)

    @admin.display(description=_("print"))
    def print_link(self, obj):
        return format_html('<a href="{}" target="_blank">{}</a>', reverse("admin:claims_case_notice", args=[obj.case_id, obj.pk]),
                           _("printable notice"))


class AttachmentInline(_ReadOnly):
    """The scans the school sent with the case, each with a download link (the content is not loaded for the list)."""

    model = Attachment
    fields = readonly_fields = ("material_name", "download", "content_type", "size", "uploaded_at")
    verbose_name_plural = _("attachments sent by the school")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    @admin.display(description=_("material"))
    def material_name(self, obj):
        names = getattr(self, "_names", None)
        if names is None or names[0] != obj.case_id:
            names = self._names = (obj.case_id, dict(CaseMaterial.objects.filter(case_id=obj.case_id).values_list("code", "name")))
        return names[1].get(obj.material_code, obj.material_code) or "—"

    @admin.display(description=_("file"))
    def download(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<a href="{}" download>{}</a>', reverse("admin:claims_case_attachment", args=[obj.case_id, obj.pk]),
                           obj.filename)


class PaymentOrderInline(_ReadOnly):
    model = PaymentOrder
    fields = readonly_fields = money_columns(PaymentOrder, ("__str__", "payment_file", "amount", "masked_account", "status",
                                                            "bank_message", "settled_at"))

    @admin.display(description=_("bank account"))
    def masked_account(self, obj):
        return obj.masked_bank_account


# --------------------------------------------------------------------------- cases


class CaseInputForm(forms.ModelForm):
    """What a clerk types is read as the API's input is (medins.parsing): the bank account as digits
    (a formula such as =HYPERLINK(...) is refused), service dates within the region's window."""

    def clean_bank_account(self):
        try:
            return parse_bank_account(self.cleaned_data.get("bank_account"))
        except ParseError as exc:
            raise forms.ValidationError(exc.message.localized()) from None

    def clean(self):
        data = super().clean()
        person = data.get("person") or (self.instance.person if self.instance.pk else None)
        if person is not None:
            earliest, latest = services.service_date_window(person.region_id)
            for name in ("service_from", "service_to"):
                if data.get(name) and name in self.fields:
                    try:
                        parse_date(data[name], name, earliest=earliest, latest=latest)
                    except ParseError as exc:
                        self.add_error(name, exc.message.localized())
        return data

    class Meta:
        model = Case
        fields = ("case_type", "person", "service_from", "service_to", "institution", "institution_name", "institution_level",
                  "delivery", "third_party_paid", "lost_invoice_promise", "bank_account", "note")


class CaseAddForm(CaseInputForm):
    materials_received = forms.BooleanField(label=_("all materials handed in"), required=False)


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("reason"), required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


# The clerk's steps of the case workflow, by the service that takes them. Which buttons a case
# shows — and which the action view accepts — come from the transitions table (claims.workflow):
# the services with an edge out of the case's state. payment_orders_create and
# payment_result_import are jobs/imports, not buttons.
_ACTIONS = {
    # name: (label, service, needs reason)
    "request_materials": (_("Send the one-time notice of missing materials"), "case_request_materials", False),
    "resubmit": (_("Materials handed in (resubmitted)"), "case_resubmit", False),
    "start_review": (_("Start review"), "case_start_review", False),
    "calculate": (_("Calculate"), "case_calculate", False),
    "approve": (_("Approve"), "case_approve", False),
    "return_for_review": (_("Return for review"), "case_return_for_review", False),
    "reject": (_("Reject"), "case_reject", True),
    "withdraw": (_("Withdraw"), "case_withdraw", False),
    "reorder": (_("Pay again (account corrected)"), "case_payment_reorder", False),
}
_BUTTONS = WorkflowButtons(CASES, _ACTIONS, CASE_TRANSITIONS, confirm={
    # the steps that move money or cannot be undone ask first (issue #14 item 5)
    "approve": _("Approving orders the payment of the amount to pay to the applicant's bank account."),
    "reorder": _("The payment is ordered again, to the corrected account."),
    "reject": _("A rejected case is closed for good: it cannot be reopened."),
    "withdraw": _("A withdrawn case is closed for good: it cannot be reopened."),
})


def _run(name: str, *, user, case=None, obj=None, reason: str = ""):
    case = case if case is not None else obj
    service = getattr(services, _ACTIONS[name][1])
    kwargs = {"acting_user": user, "case": case}
    if name in ("request_materials",):
        kwargs["note"] = reason
    elif name not in ("start_review", "calculate"):
        kwargs["reason"] = reason
    return service(**kwargs)


def may_transition(user, name: str) -> bool:
    """The extra permissions a transition button needs beyond editing the case (medins.roles.CASE_TRANSITIONS)."""
    return _BUTTONS.may(user, name)


def case_actions_for(case, user=None) -> list[tuple[str, str]]:
    """The buttons of a case: one per service that has an edge out of its state in CASES, and
    (given the user) only those the user's role may take (medins.roles.CASE_TRANSITIONS)."""
    return _BUTTONS.for_state(case.state, user)


def _bulk_action(name):
    # Django offers an action when ANY of its permissions holds: approving needs one of its own.
    return _BUTTONS.bulk_action(name, _run, CaseError, done_message=_("%(n)d case(s) done."),
                                describe=lambda c: f"{c.number} {c.person.name}", amount=lambda c: c.payable_amount,
                                permission="approve" if name == "approve" else "change")


@admin.register(Case)
class CaseAdmin(WorkflowChangeFormMixin, PersonSearchMixin, ChooserMixin, MaskedHistoryMixin, SimpleHistoryAdmin):
    list_display = money_columns(Case, ("case_number", "person_name", "masked_id", "case_type", "state", "service_from",
                                        "institution_col", "school", "payable_amount",
                                        day_column(Case, "received_at")))
    list_select_related = ("case_type", "person", "school", "institution")
    list_filter = (QueueFilter, "state", "case_type", "school", AgeFilter, "case_type__region")
    number_fields = ("invoices__number",)
    search_help_text = _("Name, full ID number or its last digits, case number or invoice number")
    date_hierarchy = "received_at"
    list_per_page = 50
    autocomplete_fields = ("person", "institution")
    actions = [_bulk_action(n) for n in ("start_review", "calculate", "approve", "request_materials")]
    change_form_template = "admin/claims/case/change_form.html"
    workflow_buttons = _BUTTONS  # the buttons submit the case form itself (medins.admin_workflow)
    workflow_errors = (CaseError,)
    inlines = (CaseMaterialInline, InvoiceInline, AttachmentInline, NoticeInline, TransitionInline, PaymentOrderInline)

    @admin.display(description=_("case"), ordering="pk")
    def case_number(self, obj):
        return obj.number

    def search_number(self, term):
        """A case number as printed (BX00000012, letters in either case)."""
        match = re.fullmatch(r"BX0*(\d{1,12})", term.strip().upper())
        return Q(pk=int(match.group(1))) if match else None

    @admin.display(description=_("name"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def masked_id(self, obj):
        return obj.person.masked_id_number

    @admin.display(description=_("institution"))
    def institution_col(self, obj):
        return obj.institution_display

    @admin.display(description=_("bank account"))
    def bank_account_masked(self, obj):
        return obj.masked_bank_account

    @admin.display(description=_("calculation"))
    def breakdown_table(self, obj):
        b = obj.breakdown
        if not b:
            return "—"
        q = b["quote"]
        adj = b.get("adjustments", {})
        names = parameter_names(q["policy_version"], (line.get("parameter") for line in q["lines"]))
        third = ""
        if adj.get("third_party_deducted"):
            third = format_html("<p>{}: {} （{}）</p>", _("third-party compensation deducted"), amount_text(adj["third_party_paid"]),
                                "；".join(f"{CLASS_LABELS.get(d['class'], d['class'])} −{amount_text(d['amount'])}"
                                         for d in adj["third_party_deducted"]))
        return format_html(
            "<p>{} {} · {} {} · {} {} · {} {} · {} {}</p>{}{}",
            _("policy version"), q["policy_version"], _("total"), amount_text(q["total"]), _("fund pays"), amount_text(q["fund"]),
            _("catastrophic supplement pays"), amount_text(q["catastrophic"]), _("personal"), amount_text(q["personal"]), third,
            breakdown_table(q["lines"], names))

    def get_fields(self, request, obj=None):
        if obj is None:
            return CaseAddForm.Meta.fields + ("materials_received",)
        names = self._field_names(request)
        if not self.has_change_permission(request, obj):  # a reader's page: every field read-only, amounts as money
            return money_columns(Case, names)
        readonly = set(self._readonly_names(request, obj))
        return tuple(money_columns(Case, [name])[0] if name in readonly else name for name in names)

    def _field_names(self, request):
        return ("state", "case_type", "person", "school", "batch", "service_from", "service_to", "institution", "institution_name",
                "institution_level", "delivery", "third_party_paid", "lost_invoice_promise",
                "bank_account" if _reveal(request) else "bank_account_masked", "note", "reason", "received_at", "received_by",
                "reviewed_by", "calculated_by", "approved_by", "breakdown_table")

    def get_readonly_fields(self, request, obj=None):
        """The read-only names, the amount among them shown as money (medins.value_display)."""
        return () if obj is None else money_columns(Case, self._readonly_names(request, obj))

    def _readonly_names(self, request, obj):
        ro = ["state", "case_type", "person", "school", "batch", "service_from", "institution", "reason", "received_at",
              "received_by", "reviewed_by", "calculated_by", "approved_by", "breakdown_table", "bank_account_masked"]
        if obj.state not in EDITABLE:
            ro += ["service_to", "institution_name", "institution_level", "delivery", "third_party_paid", "lost_invoice_promise"]
            if obj.state not in (CaseState.APPROVED, CaseState.PAYMENT_FAILED):
                ro += ["bank_account", "note"]
        # "Edit which fields" of the permission matrix (medins.roles.EDITABLE_FIELDS).
        allowed = editable_fields(request.user, "claims.Case")
        if allowed is not None:
            ro += [f for f in self._field_names(request) if f not in allowed and f not in ro]
        return ro

    def has_approve_permission(self, request):
        """The bulk approve action: the approver's alone (issue #11 finding 2)."""
        return self.has_change_permission(request) and request.user.has_perm(APPROVE_CASE)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = CaseAddForm if obj is None else CaseInputForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request, obj):
        return (InvoiceInline,) if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if not change:
            return  # received with its invoices by save_related: case_receive checks both together
        data = form.cleaned_data
        changes = {f: data[f] for f in form.changed_data if f in data}
        if changes:
            try:
                services.case_details_update(acting_user=request.user, case=obj, **changes)
            except CaseError as exc:
                self._refuse(request, exc)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the change message lists nothing saved by Django itself
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if getattr(request, "_case_refused", False):
            return None
        if change:
            return super().save_related(request, form, formsets, change)
        obj, data = form.instance, form.cleaned_data
        invoices = [_invoice_data(f) for formset in formsets if formset.model is Invoice for f in formset.forms
                    if f.cleaned_data and f.has_changed() and not f.cleaned_data.get("DELETE")]
        try:
            case = services.case_receive(
                acting_user=request.user, case_type=data["case_type"], person=data["person"], service_from=data["service_from"],
                service_to=data.get("service_to"), institution=data.get("institution"), institution_name=data.get("institution_name", ""),
                institution_level=data.get("institution_level", ""), delivery=data.get("delivery", ""),
                third_party_paid=data.get("third_party_paid") or 0, bank_account=data.get("bank_account", ""),
                lost_invoice_promise=data.get("lost_invoice_promise", False), note=data.get("note", ""), invoices=invoices,
                materials_received=[m.code for m in data["case_type"].materials.all()] if data.get("materials_received") else [])
        except CaseError as exc:
            self._refuse(request, exc)
            return
        obj.pk = case.pk
        obj.__dict__.update({k: v for k, v in case.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        case = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is CaseMaterial:
            for f in formset.forms:
                if f.has_changed() and f.instance.pk:
                    services.case_material_mark(acting_user=request.user, case=case, code=f.instance.code,
                                                received=f.cleaned_data["received"])
            return
        if formset.model is Invoice:
            # Through the services, which re-check under the case lock what the formset checked
            # when the page was posted: the case still open, each invoice claimed by no other case.
            try:
                for f in formset.forms:
                    if not f.cleaned_data or not f.has_changed():
                        continue
                    current = f.instance.pk
                    if f.cleaned_data.get("DELETE"):
                        if current:
                            services.case_invoice_remove(acting_user=request.user, case=case, invoice_id=current)
                        continue
                    data = _invoice_data(f)
                    if current:
                        services.case_invoice_change(acting_user=request.user, case=case, invoice_id=current, invoice=data)
                    else:
                        services.case_invoice_add(acting_user=request.user, case=case, invoice=data)
            except CaseError as exc:
                self._refuse(request, exc)
            return
        super().save_formset(request, form, formset, change)

    def _refuse(self, request, exc: CaseError) -> None:
        """A service refused a change after the page was validated (another clerk moved the case, claimed
        the invoice): nothing of this save is kept, and the clerk is shown why."""
        transaction.set_rollback(True)
        request._case_refused = True
        self.message_user(request, str(exc), messages.ERROR)

    def log_addition(self, request, obj, message):
        return None if getattr(request, "_case_refused", False) else super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        return None if getattr(request, "_case_refused", False) else super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_case_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_case_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)

    # ---- the case page: transition buttons, printable notice

    def workflow_steps(self, request, obj):
        return dict(case_actions_for(obj, request.user))

    def workflow_missing_input(self, request, name):
        if _ACTIONS[name][2] and not step_input(request, name, "reason"):
            return gettext("“%(action)s” needs a reason.") % {"action": _ACTIONS[name][0]}
        return ""

    def workflow_run(self, request, obj, name):
        _run(name, user=request.user, case=obj, reason=step_input(request, name, "reason"))

    def workflow_confirm_row(self, obj):
        return ConfirmRow(f"{obj.number} {obj.person.name}", object_url(obj), obj.payable_amount,
                          obj.get_state_display())

    def get_urls(self):
        return [
            path("<int:pk>/notice/<int:notice_pk>/", self.admin_site.admin_view(self.notice_view), name="claims_case_notice"),
            path("<int:pk>/attachment/<int:attachment_pk>/", self.admin_site.admin_view(self.attachment_view),
                 name="claims_case_attachment"),
            *super().get_urls(),
        ]

    def notice_view(self, request, pk, notice_pk):
        notice = get_object_or_404(MaterialsNotice.objects.select_related("case__person", "case__case_type", "issued_by"),
                                   pk=notice_pk, case_id=pk)
        if not self.has_view_permission(request, notice.case):
            raise PermissionDenied
        return TemplateResponse(request, "claims/notice.html", {"notice": notice, "case": notice.case})

    def attachment_view(self, request, pk, attachment_pk):
        """Download one attachment of the case (whoever may view the case)."""
        attachment = get_object_or_404(Attachment.objects.select_related("case"), pk=attachment_pk, case_id=pk)
        if not self.has_view_permission(request, attachment.case):
            raise PermissionDenied
        response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type or "application/octet-stream")
        response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        case = Case.objects.filter(pk=object_id).first()
        if case is not None and self.has_change_permission(request, case):
            extra_context["case_actions"] = case_actions_for(case, request.user)
            extra_context["decision_form"] = DecisionForm()
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- schools, batches, payments


@admin.register(SchoolOperator)
class SchoolOperatorAdmin(ChooserMixin, AdministratorOnly, SimpleHistoryAdmin):
    list_display = ("user", "school")
    list_select_related = ("user", "school")
    raw_id_fields = ("user",)
    autocomplete_fields = ("school",)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("client_batch_id", "school", "source", "submitted_by", "submitted_at", "total_rows", "accepted_rows", "rejected_rows")
    list_select_related = ("school", "submitted_by")
    list_filter = ("school", "source")
    readonly_fields = [f.name if f.name != "report" else "report_table" for f in Batch._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("row report"))
    def report_table(self, obj):
        """One line per row of the batch (accepted with its case, or the problem), not JSON (issue 14 item 4)."""
        if not obj.report:
            return "—"
        status = {"accepted": _("accepted"), "rejected": _("rejected")}
        return table((_("row"), _("school's row id"), _("result"), _("case"), _("problem")),
                     ((e.get("row", ""), e.get("row_id") or "—", status.get(e.get("status"), e.get("status", "")),
                       e.get("case") or "—", "；".join(str(x) for x in e.get("errors", [])) or "—")
                      for e in obj.report if isinstance(e, dict)))


class PaymentJobForm(forms.Form):
    pay_date = forms.DateField(label=pgettext_lazy("bank payment file", "payment date"),
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                               help_text=_("The day of the bank payment file. One file per day: cases approved after "
                                           "a day's file was made go into the next day's."))

    def clean_pay_date(self):
        """Decision (issue #14 item 2): a payment file is never back-dated; today or a later day."""
        day = self.cleaned_data["pay_date"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("A payment file cannot be made for a past day."))
        return day


def _next_free_pay_date() -> dt.date:
    """Today, or the first later day without a payment file."""
    day = timezone.localdate()
    taken = set(PaymentFile.objects.filter(pay_date__gte=day).values_list("pay_date", flat=True))
    while day in taken:
        day += dt.timedelta(days=1)
    return day


@admin.register(PaymentFile)
class PaymentFileAdmin(admin.ModelAdmin):
    list_display = money_columns(PaymentFile, ("pay_date", "status", "order_count", "total_amount", "created_at",
                                               "download"))
    change_list_template = "admin/claims/paymentfile/change_list.html"

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return money_columns(PaymentFile, ("pay_date", "status", "order_count", "total_amount", "created_at", "download",
                                           "content" if _reveal(request) else "masked_content"))

    @admin.display(description=_("file content (CSV)"))
    def masked_content(self, obj):
        """The file with bank accounts masked, for roles without the reveal permission (finding 9)."""
        return _masked_file(obj.content) if obj and obj.content else "—"

    @admin.display(description=_("download"))
    def download(self, obj):
        if not obj or not obj.pk:
            return "—"
        return format_html('<a href="{}" class="payment-file-download">{}</a>',
                           reverse("admin:claims_paymentfile_download", args=[obj.pk]), _("Download (CSV)"))

    def has_add_permission(self, request):
        return False

    def has_import_permission(self, request):
        return request.user.has_perm(IMPORT_BANK_RESULT)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [path("import-result/", self.admin_site.admin_view(self.import_result), name="claims_paymentfile_import"),
                path("<int:pk>/download/", self.admin_site.admin_view(self.download_view),
                     name="claims_paymentfile_download"),
                *super().get_urls()]

    def download_view(self, request, pk):
        """The file as a download (issue #14 item 2): its Chinese header row, UTF-8 with a BOM so a
        spreadsheet opens it in Chinese; bank accounts masked for roles without the reveal permission."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        payment_file = get_object_or_404(PaymentFile, pk=pk)
        content = payment_file.content if _reveal(request) else _masked_file(payment_file.content)
        response = HttpResponse(("\ufeff" + content).encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"支付文件_{payment_file.pay_date:%Y%m%d}.csv")
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def import_result(self, request):
        """The bank's result marks orders paid or failed: finance's alone (issue #11 finding 3)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST" and request.FILES.get("file"):
            try:
                upload = request.FILES["file"]
                counts = services.payment_result_import(
                    acting_user=request.user, filename=upload.name,
                    content=read_upload(upload, max_bytes=settings.STAFF_IMPORT_MAX_BYTES))
            except FileError as exc:
                self.message_user(request, exc.localized(), messages.ERROR)
            except CaseError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, _("Paid %(paid)d, failed %(failed)d, unchanged %(unchanged)d, errors %(errors)d.")
                                  % {**counts, "errors": len(counts["errors"])}, messages.SUCCESS)
                for err in counts["errors"][:20]:
                    self.message_user(request, f"{err['line']}: {err['error']}", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:claims_paymentfile_changelist"))
        return TemplateResponse(request, "admin/claims/paymentfile/import.html", {**self.admin_site.each_context(request),
                                                                                  "title": _("Import the bank result file"),
                                                                                  "opts": self.model._meta})


def _masked_file(content: str) -> str:
    return mask_csv_columns(content, columns={payments.BANK_ACCOUNT_COLUMN, "bank_account"})


@admin.register(PaymentOrder)
class PaymentOrderAdmin(PersonSearchMixin, MaskedHistoryMixin, SimpleHistoryAdmin):
    list_display = money_columns(PaymentOrder, ("__str__", "case", "account_name", "masked_account", "amount", "status",
                                                "payment_file", "settled_at"))
    list_select_related = ("case", "payment_file")
    list_filter = ("status", "payment_file")
    # a case's order by its insured person; an institution's by the account holder's name or the institution's code
    person_path = "case__person"
    number_fields = ("account_name", "payee_institution__code")
    search_help_text = _("Name, full ID number or its last digits, account holder or institution code")
    change_list_template = "admin/claims/paymentorder/change_list.html"

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm(RUN_PAYMENT_JOB)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_run_payment_job": self.has_run_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="claims_paymentorder_run"),
                *super().get_urls()]

    def run_view(self, request):
        """Finance starts the payment-order job (issue #14 item 2): a confirmation page showing what
        it will pay — it moves money — then the job's progress page (medins.jobs)."""
        if not self.has_run_permission(request):
            raise PermissionDenied
        form = PaymentJobForm(request.POST or None, initial={"pay_date": _next_free_pay_date()})
        if request.method == "POST" and form.is_valid():
            job = job_start(acting_user=request.user, kind=PAYMENT_JOB,
                            params={"pay_date": form.cleaned_data["pay_date"].isoformat()})
            return HttpResponseRedirect(job_progress_url(job))
        day = form.cleaned_data["pay_date"] if form.is_bound and form.is_valid() else form["pay_date"].initial
        outlook = payment_job_outlook(day)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Run the payment-order job"), "outlook": outlook, "pay_date": day,
                   "cases_total": format_money(outlook["cases_total"]),
                   "institution_total": format_money(outlook["institution_total"]),
                   "recent_jobs": Job.objects.filter(kind=PAYMENT_JOB).select_related("started_by")[:5]}
        return TemplateResponse(request, "admin/claims/paymentorder/run.html", context)

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        """Every field read-only; the account in full only with the reveal permission (finding 9)."""
        shown = {"bank_account": "masked_account" if not _reveal(request) else "bank_account", "source_kind": "payable_col"}
        return [*money_columns(PaymentOrder, [shown.get(f.name, f.name) for f in PaymentOrder._meta.fields]),
                "recovery_offsets_col"]

    @admin.display(description=_("payable"))
    def payable_col(self, obj):
        """What an institution is paid for, by its name (the stored kind is a code)."""
        from django.apps import apps

        models = {"fee_statement": "settlement.FeeStatement", "care_claim": "carecare.CareClaim"}
        if not obj or not obj.source_kind:
            return "—"
        label = models.get(obj.source_kind)
        return apps.get_model(label)._meta.verbose_name if label else obj.source_kind

    @admin.display(description=_("bank account"))
    def masked_account(self, obj):
        return mask(obj.bank_account)

    @admin.display(description=_("offset against recovery orders"))
    def recovery_offsets_col(self, obj):
        """What was deducted from this payment for the institution's recovery orders (DOMAIN.md §9)."""
        offsets = list(obj.recovery_offsets.select_related("order").order_by("pk")) if obj and obj.pk else []
        return "、".join(f"{o.order.number} −{format_money(o.amount)}" for o in offsets) or "—"

    def has_add_permission(self, request):
        return False
