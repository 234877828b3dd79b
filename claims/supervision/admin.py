"""The supervision queue in the admin (issue 15 item 3): findings with filters (rule, severity,
state, institution, month) and search by the person's ID number or name; the finding page shows
the settlements side by side (the two admissions of a split, the shared days, the lines), with
the steps from the workflow table (dismiss with a reason, confirm, the second person's approval
or return); the recovery orders' steps (repayment, write-off, the fine's reference). Both pages'
buttons post to their act view (medins.admin_workflow.WorkflowActMixin). The grey list: a
supervisor puts a person on it for a period. The nightly runs.

Every change goes through claims.supervision.services.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.admin_search import PersonSearchMixin
from enrollment.idnumber import mask
from medins.admin_mixins import ConfirmRow, ReadOnlyAdmin, TransitionHistoryInline, object_url
from medins.admin_workflow import StateSteps, WorkflowActMixin, WorkflowButtons
from medins.value_display import money_columns

from . import recovery, selectors, services
from .errors import SupervisionError
from .models import (
    CheckRun,
    Finding,
    FindingSettlement,
    FindingTransition,
    GreyListEntry,
    RecoveryOffset,
    RecoveryOrder,
    Rule,
)
from .workflow import FINDINGS

CONFIRM = "supervision.confirm_finding"
# name: (label, service, needs a reason)
STEPS = {
    "dismiss": (_("Dismiss"), "finding_dismiss", True),
    "confirm": (_("Confirm"), "finding_confirm", False),
    "approve": (_("Confirm as second person"), "finding_approve", False),
    "return": (_("Send back (disagree)"), "finding_return", True),
}
# The steps that cannot be undone ask first (issue #14 item 5, as the care pages): a dismissed finding
# is closed for good, and the second person's confirmation is final and what recovery orders are
# made from. The first confirmation and sending back are undone by the second person's decision.
CONFIRM_STEPS = {
    "dismiss": _("A dismissed finding is closed for good: nothing is recovered on it."),
    "approve": _("The finding is confirmed for good; the recovery orders are made from it."),
}
BUTTONS = WorkflowButtons(FINDINGS, STEPS, {name: (CONFIRM,) for name in STEPS}, confirm=CONFIRM_STEPS)
RUN = {"dismiss": services.finding_dismiss, "confirm": services.finding_confirm, "approve": services.finding_approve,
       "return": services.finding_return}


def _reason(request) -> str:
    """The reason typed beside a finding's button."""
    return (request.POST.get("reason") or "").strip()


class MonthFilter(admin.SimpleListFilter):
    title = _("month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = Finding.objects.order_by("-month").values_list("month", flat=True).distinct()[:24]
        return [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in months]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(month=dt.date.fromisoformat(self.value() + "-01"))
            except ValueError:
                return queryset.none()
        return queryset


class InstitutionFilter(admin.SimpleListFilter):
    title = _("institution")
    parameter_name = "institution"

    def lookups(self, request, model_admin):
        from medins.models import Institution

        used = Finding.objects.exclude(institution=None).values("institution_id").distinct()
        return [(str(pk), f"{code} {name}") for pk, code, name in
                Institution.objects.filter(pk__in=used).order_by("code").values_list("pk", "code", "name")[:200]]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(institution_id=int(self.value()))
        return queryset


class SettlementInline(admin.TabularInline):
    model = FindingSettlement
    extra = 0
    can_delete = False
    fields = readonly_fields = money_columns(FindingSettlement, ("ref", "kind", "institution", "via_label",
                                                                 "service_date", "total", "fund"))

    @admin.display(description=_("settled"))
    def via_label(self, obj):
        return selectors.via_label(obj.via)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("institution")


class TransitionInline(TransitionHistoryInline):
    model = FindingTransition


@admin.register(Finding)
class FindingAdmin(WorkflowActMixin, SimpleHistoryAdmin):
    list_display = money_columns(Finding, ("number", "rule", "severity", "state", "institution", "month_label",
                                           "service_date", "persons_col", "suggested_amount", "found_at"))
    list_display_links = ("number",)
    list_select_related = ("institution",)
    list_filter = ("rule", "severity", "state", InstitutionFilter, MonthFilter)
    search_fields = ("persons__id_number", "persons__name")
    search_help_text = _("ID number or name of an insured person")
    list_per_page = 50
    change_form_template = "admin/supervision/finding/change_form.html"
    inlines = (SettlementInline, TransitionInline)
    readonly_fields = money_columns(Finding, (
        "number", "rule", "rule_version", "severity", "state", "institution", "month_label", "service_date",
        "evidence_text",
        "suggested_amount", "found_at", "run", "confirmed_by", "confirmed_at", "approved_by", "approved_at",
        "dismissed_by", "dismissed_at", "dismissal_reason"))
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("persons")

    def get_search_results(self, request, queryset, search_term):
        """The clerks' indexed person search (enrollment.selectors.persons_search), then their findings."""
        from enrollment.models import Person
        from enrollment.selectors import persons_search

        if not (search_term or "").strip():
            return queryset, False
        persons = persons_search(Person.objects.all(), search_term).values("pk")
        return queryset.filter(pk__in=Finding.persons.through.objects.filter(person_id__in=persons).values("finding_id")), False

    def has_add_permission(self, request):
        return False  # findings come from the rules only

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("finding"), ordering="pk")
    def number(self, obj):
        return obj.number

    @admin.display(description=_("evidence"))
    def evidence_text(self, obj):
        """The rule's reason in the reader's language; the engine's own record of what it saw (contracts/fund-security.md,
        English by contract) kept verbatim as a code line under it."""
        return format_html("{}<br><code>{}</code>", services.REASONS.get(obj.rule, obj.rule), obj.evidence)

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("insured persons"))
    def persons_col(self, obj):
        return "、".join(f"{p.name} {mask(p.id_number)}" for p in obj.persons.all())

    def get_urls(self):
        # <pk>/act/ (supervision_finding_act): the workflow steps, WorkflowActMixin
        return [path("<int:pk>/recover/", self.admin_site.admin_view(self.recover_view), name="supervision_finding_recover"),
                *super().get_urls()]

    def recover_view(self, request, pk):
        """The recovery (and refund) orders of a confirmed finding, re-quoted (claims.supervision.recovery)."""
        if request.method != "POST" or not request.user.has_perm(recovery.CREATE):
            raise PermissionDenied
        finding = get_object_or_404(Finding, pk=pk)
        try:
            orders = recovery.recovery_order_create(acting_user=request.user, finding=finding)
        except SupervisionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:supervision_finding_change", args=[pk]))
        if not orders:  # capitation absorbed the difference: corrected, nothing to recover (recovery.py)
            self.message_user(request, gettext("Corrected; the institution was not overpaid under capitation, so no "
                                               "recovery order is needed."), messages.INFO)
            return HttpResponseRedirect(reverse("admin:supervision_finding_change", args=[pk]))
        self.message_user(request, gettext("Recovery orders: %(orders)s")
                          % {"orders": "、".join(f"{o.number} {o.get_kind_display()} {o.amount}" for o in orders)},
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:supervision_recoveryorder_change", args=[orders[0].pk]))

    # ---- the finding's steps (medins.admin_workflow.WorkflowActMixin: <pk>/act/)

    workflow_buttons = BUTTONS
    workflow_errors = (SupervisionError,)  # the services' refusals, four eyes included (services.finding_guard)

    def workflow_may_act(self, request, obj):
        return request.user.has_perm(CONFIRM)  # only a supervisor decides (medins.roles.ADMIN_VIEWS)

    def workflow_steps(self, request, obj):
        return dict(BUTTONS.for_state(obj.state, request.user))

    def workflow_missing_input(self, request, name):
        if STEPS[name][2] and not _reason(request):
            return str(services.REASON_MISSING[STEPS[name][1]])
        return ""

    def workflow_confirm_rows(self, request, obj, name):
        rule = dict(Rule.choices).get(obj.rule, obj.rule)
        return [ConfirmRow(" ".join(str(x) for x in (obj.number, rule, obj.institution or "") if x), object_url(obj),
                           None, _reason(request) or obj.get_state_display())]

    def workflow_run(self, request, obj, name):
        RUN[name](acting_user=request.user, finding=obj, reason=_reason(request))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        finding = Finding.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if finding is not None:
            extra_context["finding_actions"] = BUTTONS.for_state(finding.state, request.user)
            extra_context["evidence"] = selectors.finding_evidence(finding)
            extra_context["rule_label"] = Rule(finding.rule).label if finding.rule in Rule.values else finding.rule
            extra_context["persons"] = [(p.name, mask(p.id_number)) for p in finding.persons.all()]
            extra_context["recovery_orders"] = list(finding.recovery_orders.order_by("pk"))
            extra_context["can_recover"] = (finding.state == "confirmed" and not extra_context["recovery_orders"]
                                            and recovery.RECORDED not in (finding.facts or {})
                                            and request.user.has_perm(recovery.CREATE))
        return super().change_view(request, object_id, form_url, extra_context)


class GreyListForm(forms.ModelForm):
    class Meta:
        model = GreyListEntry
        fields = ("person", "from_date", "to_date", "reason", "finding")


@admin.register(GreyListEntry)
class GreyListEntryAdmin(PersonSearchMixin, SimpleHistoryAdmin):
    list_display = ("person", "id_masked", "from_date", "to_date", "reason", "created_by", "created_at")
    list_select_related = ("person", "created_by")
    list_filter = ("from_date",)
    autocomplete_fields = ("person",)
    raw_id_fields = ("finding",)
    form = GreyListForm

    @admin.display(description=_("ID number"))
    def id_masked(self, obj):
        return mask(obj.person.id_number)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ("person", "from_date", "reason", "finding") if obj else ()

    def save_model(self, request, obj, form, change):
        try:
            if change:
                # only the end may change (lift early or extend): recorded in the history
                obj._history_user = request.user
                services.grey_list_change_end(acting_user=request.user, entry=obj, to_date=obj.to_date)
            else:
                saved = services.grey_list_add(acting_user=request.user, person=obj.person, from_date=obj.from_date,
                                               to_date=obj.to_date, reason=obj.reason, finding=obj.finding)
                obj.pk = saved.pk
        except SupervisionError as exc:
            raise PermissionDenied(str(exc)) from exc


@admin.register(CheckRun)
class CheckRunAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("day", "region", "state", "runs", "settlements", "history_settlements", "findings_new",
                    "findings_known", "started_at", "finished_at")
    list_select_related = ("region",)
    list_filter = ("state", "region")
    fields = readonly_fields = ("day", "region", "state", "policy_version", "runs", "settlements", "history_settlements",
                                "findings_new", "findings_known", "undecided_counts", "started_at", "finished_at", "error")

    @admin.display(description=_("undecided (rule: count)"))
    def undecided_counts(self, obj):
        """The settlements a rule could not decide on, by the rule's name (not the stored JSON)."""
        names = dict(Rule.choices)
        return "；".join(f"{names.get(rule, rule)}：{count}" for rule, count in sorted((obj.undecided or {}).items())) or "—"


# --------------------------------------------------------------------------- recovery (issue 15 items 4–5)

RECOVERY_STEPS = {
    # name: (label, service in claims.supervision.recovery, what is typed beside the button: its keyword)
    "repaid": (_("Record repayment"), "recovery_repaid", "reference"),
    "write_off_request": (_("Request write-off"), "recovery_write_off_request", "reason"),
    "write_off_approve": (_("Approve write-off"), "recovery_write_off_approve", ""),
    "fine_reference": (_("Record the fine decision's reference"), "recovery_fine_reference", "reference"),
}
RECOVERY_PERMISSIONS = {"repaid": (recovery.RECORD_REPAYMENT,), "write_off_request": (recovery.CREATE,),
                        "write_off_approve": (recovery.APPROVE_WRITE_OFF,), "fine_reference": (recovery.CREATE,)}
# No transitions table: the states each step is offered in (the services check the state again under their lock).
RECOVERY_OFFERED = StateSteps({
    "recovery_repaid": ("open", "write_off_pending"),
    "recovery_write_off_request": ("open",),
    "recovery_write_off_approve": ("write_off_pending",),
    "recovery_fine_reference": ("open", "write_off_pending", "settled", "written_off"),
})
# The steps that move money and cannot be undone ask first, showing the outstanding amount: a
# repayment settles the order, an approved write-off gives the amount up.
RECOVERY_CONFIRM = {
    "repaid": _("The outstanding amount is recorded as repaid and the order is settled; this cannot be undone."),
    "write_off_approve": _("The outstanding amount is written off: the fund gives it up. This cannot be undone."),
}
RECOVERY_BUTTONS = WorkflowButtons(RECOVERY_OFFERED, RECOVERY_STEPS, RECOVERY_PERMISSIONS, confirm=RECOVERY_CONFIRM)
# What must be typed, with the services' own refusal when it is not (asked before the confirmation page).
RECOVERY_REQUIRED = {"repaid": recovery.REFERENCE_MISSING, "write_off_request": recovery.WRITE_OFF_REASON_MISSING}


def _typed(request) -> str:
    """What was typed beside a recovery order's button (a reference or a reason)."""
    return (request.POST.get("value") or "").strip()


class OffsetInline(admin.TabularInline):
    model = RecoveryOffset
    extra = 0
    can_delete = False
    fields = readonly_fields = money_columns(RecoveryOffset, ("source_kind", "source_id", "payment_order", "amount",
                                                              "created_at"))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment_order")


@admin.register(RecoveryOrder)
class RecoveryOrderAdmin(WorkflowActMixin, PersonSearchMixin, SimpleHistoryAdmin):
    list_display = money_columns(RecoveryOrder, ("number", "kind", "rule", "state", "debtor_col", "creditor_person",
                                                 "amount", "outstanding", "month_label", "finding", "created_at"))
    list_display_links = ("number",)
    list_select_related = ("debtor_institution", "debtor_person", "creditor_person", "finding")
    list_filter = ("kind", "state", "rule")
    person_path = "debtor_person"  # a person's orders by the last digits of the ID number, as every list
    number_fields = ("debtor_institution__name",)
    list_per_page = 50
    change_list_template = "admin/supervision/recoveryorder/change_list.html"
    change_form_template = "admin/supervision/recoveryorder/change_form.html"
    inlines = (OffsetInline,)
    readonly_fields = money_columns(RecoveryOrder, (
        "number", "finding", "kind", "rule", "month_label", "state", "debtor_institution", "debtor_person",
        "creditor_person", "amount", "outstanding", "fund_paid", "fund_due", "person_paid", "person_due", "correction",
        "repaid_reference", "fine_reference", "write_off_reason", "write_off_requested_by", "written_off_by",
        "created_by", "created_at", "settled_at"))
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # made from a confirmed finding only (the finding page's button)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("recovery order"), ordering="pk")
    def number(self, obj):
        return obj.number

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("debtor"))
    def debtor_col(self, obj):
        if obj.debtor_institution_id:
            return obj.debtor_institution.name
        return f"{obj.debtor_person.name} {mask(obj.debtor_person.id_number)}"

    def get_urls(self):
        # <pk>/act/ (supervision_recoveryorder_act): the order's steps, WorkflowActMixin
        return [path("report/", self.admin_site.admin_view(self.report_view), name="supervision_recoveryorder_report"),
                *super().get_urls()]

    # ---- the order's steps (medins.admin_workflow.WorkflowActMixin: <pk>/act/)

    workflow_buttons = RECOVERY_BUTTONS
    workflow_errors = (SupervisionError,)  # the services' refusals, four eyes on a write-off included

    def workflow_may_act(self, request, obj):
        # whoever sees the orders; each step needs its own permission (RECOVERY_PERMISSIONS, medins.roles.ADMIN_VIEWS)
        return request.user.has_perm("supervision.view_recoveryorder")

    def workflow_steps(self, request, obj):
        return dict(RECOVERY_BUTTONS.for_state(obj.state, request.user))

    def workflow_missing_input(self, request, name):
        return "" if _typed(request) else str(RECOVERY_REQUIRED.get(name, ""))

    def workflow_confirm_rows(self, request, obj, name):
        note = _typed(request) if name == "repaid" else obj.write_off_reason
        return [ConfirmRow(f"{obj.number} {self.debtor_col(obj)}", object_url(obj), obj.outstanding, note)]

    def workflow_run(self, request, obj, name):
        _label, service, keyword = RECOVERY_STEPS[name]
        getattr(recovery, service)(acting_user=request.user, order=obj, **({keyword: _typed(request)} if keyword else {}))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        order = RecoveryOrder.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if order is not None:
            extra_context["recovery_actions"] = [(name, label, RECOVERY_STEPS[name][2])
                                                 for name, label in RECOVERY_BUTTONS.for_state(order.state, request.user)]
        return super().change_view(request, object_id, form_url, extra_context)

    def report_view(self, request):
        """Findings and recoveries by month, rule and institution (issue 15 item 5); ?format=xlsx exports it."""
        from medins.models import Region

        if not request.user.has_perm("supervision.view_finding"):
            raise PermissionDenied
        year = request.GET.get("year", "")
        region = request.GET.get("region", "")
        rows = selectors.report_rows(year=int(year) if year.isdigit() else None,
                                     region_id=int(region) if region.isdigit() else None)
        rules = dict(Rule.choices)
        for r in rows:
            r["rule_label"] = str(rules.get(r["rule"], r["rule"]))
        columns = [(key, str(label)) for key, label in selectors.REPORT_COLUMNS]
        if request.GET.get("format") == "xlsx":
            return _report_xlsx(rows, columns)
        context = {**self.admin_site.each_context(request), "title": gettext("Findings and recoveries"),
                   "opts": self.model._meta, "rows": rows, "columns": columns, "year": year, "region": region,
                   "regions": list(Region.objects.order_by("code").values_list("pk", "name")),
                   "totals": {k: sum(r[k] for r in rows) for k, _l in selectors.REPORT_COLUMNS
                              if k not in ("month", "rule", "institution")}}
        return TemplateResponse(request, "admin/supervision/recoveryorder/report.html", context)


def _report_xlsx(rows, columns):
    import io
    from decimal import Decimal

    from django.http import HttpResponse
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "findings-recoveries"
    sheet.append([str(label) for _k, label in columns])
    for r in rows:
        sheet.append([r["rule_label"] if k == "rule" else r[k] for k, _l in columns])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="fund-security-report.xlsx"'
    return response
