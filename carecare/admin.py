"""Long-term care in the admin (DOMAIN.md §7): the assessment queue and page (items as choices,
the score shown live, workflow buttons from the transitions table, printable result notice), care
stays, and each person's assessments and stays as a timeline on the person's page.

Every change goes through the services (carecare.services); a care-home operator
(settlement.InstitutionOperator) sees only its own home's residents and assessments.
"""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.admin import PersonAdmin
from enrollment.admin_search import PersonSearchMixin, tenant_person_choices
from enrollment.models import Person
from medins.admin_mixins import (
    ChooserMixin,
    ConfirmRow,
    TransitionHistoryInline,
    object_url,
    record_number,
)
from medins.admin_workflow import WorkflowActMixin, WorkflowButtons
from medins.benefits import care_scales

from . import selectors
from .errors import CareError
from .models import Assessment, AssessmentState, AssessmentTransition, CareStay, Grade, RequestedBy, StayAbsence
from .services import assessments as assessment_services
from .services import stays as stay_services
from .workflow import ASSESSMENTS, QUEUES

S = AssessmentState


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip()) if (value or "").strip() else None
    except ValueError:
        raise CareError(gettext("%(value)s is not a date (YYYY-MM-DD).") % {"value": value}) from None


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


class ExpiringFilter(admin.SimpleListFilter):
    """Approved assessments whose validity ends within 60 days (to re-assess)."""

    title = _("validity")
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("60", _("expiring within 60 days")), ("expired", _("expired"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "60":
            return queryset.filter(state=S.APPROVED, valid_to__gt=today, valid_to__lte=today + dt.timedelta(days=60))
        if self.value() == "expired":
            return queryset.filter(state=S.APPROVED, valid_to__lte=today)
        return queryset


# --------------------------------------------------------------------------- forms


class AssessmentRequestForm(forms.ModelForm):
    class Meta:
        model = Assessment
        fields = ("person", "requested_by", "requester_name", "care_home", "requested_on")


def items_form_class(scale_version: str):
    """The assessor's form: one choice field per item of the assessment's scale (its allowed
    values only) and the assessment date. The score is not a field: it is computed."""
    scale = care_scales.scale(scale_version)
    fields = {f"item_{item.code}": forms.TypedChoiceField(
        label=item.label.localized(), coerce=int, choices=[("", "—"), *item.choices()],
        widget=forms.Select(attrs={"class": "care-item", "data-item": item.code}))
        for item in scale.items}
    fields["assessed_on"] = forms.DateField(label=_("assessment date"), required=False,
                                           widget=forms.DateInput(attrs={"type": "date"}),
                                           help_text=_("Empty: today."))
    return type("AssessmentItemsForm", (forms.Form,), fields)


# The clerk's steps, by the service that takes them; the buttons shown come from the table
# (ASSESSMENTS.services_from(state)) and the user's permissions.
_ACTIONS = {
    # name: (label, service, permission)
    "assess": (_("Record the initial assessment"), "assessment_assess", assessment_services.ASSESS),
    "reassess": (_("Record the on-site re-assessment"), "assessment_reassess", assessment_services.ASSESS),
    "review_start": (_("Start review"), "assessment_review_start", assessment_services.CHANGE),
    "approve": (_("Approve"), "assessment_approve", assessment_services.APPROVE),
    "reject": (_("Reject"), "assessment_reject", assessment_services.CHANGE),
}
ITEM_ACTIONS = ("assess", "reassess")
# The steps that cannot be undone ask first (issue #14 item 5): the approval grants the benefit (and
# supersedes the person's earlier assessment), a rejection closes the request.
CONFIRM = {
    "approve": _("The approval grants long-term care benefits for the validity period and supersedes the person's "
                 "earlier assessment; it cannot be undone."),
    "reject": _("A rejected assessment is closed for good."),
}


BUTTONS = WorkflowButtons(ASSESSMENTS, {name: (label, service, name == "reject")
                                         for name, (label, service, _perm) in _ACTIONS.items()},
                          {name: (perm,) for name, (_label, _service, perm) in _ACTIONS.items()}, confirm=CONFIRM)


def assessment_actions_for(assessment, user=None) -> list[tuple[str, str]]:
    return BUTTONS.for_state(assessment.state, user)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransitionInline(TransitionHistoryInline):
    model = AssessmentTransition


# --------------------------------------------------------------------------- assessments


class _ServiceFormThenReadOnly(PersonSearchMixin, ChooserMixin):
    """Adding goes through `add_form` (which calls the service); an existing row is read-only, its
    steps taken with the workflow buttons. The person and the care home are chosen in autocomplete
    boxes (issue #14 item 6): a care-home operator may choose only its own home, and is offered
    only its own residents and the persons it requested assessments for (any person by the full
    ID number: a new resident); the lists search by name, full ID number or its last digits."""

    add_form: type[forms.ModelForm]
    autocomplete_fields = ("person", "care_home")

    def chooser_queryset(self, request, db_field, queryset, term):
        if db_field.name == "care_home":
            return queryset.filter(pk__in=selectors.homes_for(request.user).values("pk"))
        if db_field.name == "person":
            home = selectors.operator_home_id(request.user)
            own = None if home is None else (
                Q(pk__in=CareStay.objects.filter(care_home_id=home).values("person_id"))
                | Q(pk__in=Assessment.objects.filter(care_home_id=home).values("person_id")))
            return tenant_person_choices(queryset, term, own)
        return queryset

    def get_fields(self, request, obj=None):
        return self.add_form.Meta.fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return () if obj is None else self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "care_home":
            kwargs["queryset"] = selectors.homes_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Assessment)
class AssessmentAdmin(WorkflowActMixin, _ServiceFormThenReadOnly, SimpleHistoryAdmin):
    add_form = AssessmentRequestForm
    list_display = (record_number, "person_name", "masked_id", "state", "grade", "score", "care_home", "requested_on",
                    "valid_from", "valid_to")
    list_select_related = ("person", "care_home")
    list_filter = (QueueFilter, "state", "grade", ExpiringFilter, "requested_by",
                   ("care_home", admin.RelatedOnlyFieldListFilter))
    list_per_page = 50
    ordering = ("-requested_on", "-pk")
    change_form_template = "admin/carecare/assessment/change_form.html"
    inlines = (TransitionInline,)
    workflow_buttons = BUTTONS  # the steps (medins.admin_workflow.WorkflowActMixin: <pk>/act/)
    workflow_errors = (CareError,)
    readonly_fields = (
        "person", "requested_by", "requester_name", "care_home", "requested_on", "requested_by_user", "state",
        "scale_version", "items_table", "score", "grade", "assessed_on", "initial_items_table", "initial_score",
        "initial_grade", "initial_assessor", "initial_assessed_on", "onsite_assessor", "onsite_assessed_on", "reviewer",
        "reviewed_on", "approver", "approved_on", "rejection_reason", "valid_from", "valid_to", "superseded_by",
        "policy_version", "created_at")

    def get_queryset(self, request):
        return selectors.assessments_for(request.user).select_related("person", "care_home")

    def has_change_permission(self, request, obj=None):
        # the page's fields are read-only; steps are taken with the buttons (their own permissions)
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("name"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def masked_id(self, obj):
        return obj.person.masked_id_number

    def _items_table(self, obj, items):
        if not items:
            return "—"
        try:
            scale = care_scales.scale(obj.scale_version)
        except KeyError:
            return json.dumps(items, ensure_ascii=False)
        return "；".join(f"{item.label.localized()} {items.get(item.code, '—')}" for item in scale.items)

    @admin.display(description=_("scale items (the result that counts)"))
    def items_table(self, obj):
        return self._items_table(obj, obj.items)

    @admin.display(description=_("initial assessment items"))
    def initial_items_table(self, obj):
        return self._items_table(obj, obj.initial_items)

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        try:
            created = assessment_services.assessment_request(
                acting_user=request.user, person=data["person"], requested_by=data["requested_by"],
                requester_name=data.get("requester_name", ""), care_home=data.get("care_home"),
                requested_on=data.get("requested_on"))
        except CareError as exc:
            transaction.set_rollback(True)
            request._care_refused = True
            self.message_user(request, str(exc), messages.ERROR)
            return
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        return None

    def log_addition(self, request, obj, message):
        return None if getattr(request, "_care_refused", False) else super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_care_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)

    # ---- the assessment page: steps, the items form, the printable notice

    def get_urls(self):
        return [
            path("<int:pk>/notice/", self.admin_site.admin_view(self.notice_view), name="carecare_assessment_notice"),
            *super().get_urls(),
        ]

    def _visible(self, request, pk) -> Assessment:
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def workflow_steps(self, request, obj):
        return dict(assessment_actions_for(obj, request.user))

    def workflow_confirm_row(self, obj):
        return ConfirmRow(f"{obj.person.name} {obj.person.masked_id_number}", object_url(obj), None,
                          obj.get_state_display())

    def workflow_run(self, request, obj, name):
        if name in ITEM_ACTIONS:
            # the items are read as posted: the service checks each against its allowed values
            items = {key[len("item_"):]: value for key, value in request.POST.items() if key.startswith("item_")}
            service = getattr(assessment_services, _ACTIONS[name][1])
            service(acting_user=request.user, assessment=obj, items=items,
                    assessed_on=_date(request.POST.get("assessed_on", "")))
        elif name == "review_start":
            assessment_services.assessment_review_start(acting_user=request.user, assessment=obj,
                                                        on=_date(request.POST.get("on", "")))
        elif name == "approve":
            assessment_services.assessment_approve(acting_user=request.user, assessment=obj,
                                                   on=_date(request.POST.get("on", "")),
                                                   reason=(request.POST.get("reason") or "").strip())
        elif name == "reject":
            assessment_services.assessment_reject(acting_user=request.user, assessment=obj,
                                                  reason=request.POST.get("reason", ""))

    def notice_view(self, request, pk):
        """The assessment result notice (评估结论通知书) for the person: approved or rejected."""
        if request.method != "GET":
            raise PermissionDenied
        obj = self._visible(request, pk)
        if obj.state not in (S.APPROVED, S.REJECTED, S.SUPERSEDED):
            raise PermissionDenied
        obj = Assessment.objects.select_related("person", "care_home", "approver").get(pk=obj.pk)
        scale = care_scales.scale(obj.scale_version)
        rows = [(item.label.localized(), obj.items.get(item.code), item.max_value) for item in scale.items]
        return TemplateResponse(request, "carecare/assessment_notice.html", {
            "a": obj, "rows": rows, "scale_title": scale.title.localized(),
            "grade_label": dict(Grade.choices).get(obj.grade, ""),
            "last_valid_day": obj.valid_to - dt.timedelta(days=1) if obj.valid_to else None})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if obj is not None:
            actions = assessment_actions_for(obj, request.user)
            extra_context["assessment_actions"] = [(n, label) for n, label in actions if n not in ITEM_ACTIONS]
            item_action = next((n for n, _label in actions if n in ITEM_ACTIONS), None)
            if item_action:
                extra_context["items_action"] = (item_action, _ACTIONS[item_action][0])
                extra_context["items_form"] = items_form_class(obj.scale_version)()
            extra_context["notice"] = obj.state in (S.APPROVED, S.REJECTED, S.SUPERSEDED)
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- stays


class AbsenceInline(_ReadOnlyInline):
    model = StayAbsence
    fields = readonly_fields = ("from_date", "to_date", "reason", "note", "created_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class StayAdmitForm(forms.ModelForm):
    class Meta:
        model = CareStay
        fields = ("person", "care_home", "admitted_on", "note")


# Recording the end of a stay cannot be undone: it asks first (issue #14 item 5).
_STAY_CONFIRM = {"transfer", "discharge", "death"}
_STAY_ACTIONS = {
    # name: label
    "absence": _("Record an absence (hospital)"),
    "absence_end": _("Record the return"),
    "transfer": _("Transfer to another home"),
    "discharge": _("Discharge"),
    "death": _("Record the death"),
}


@admin.register(CareStay)
class CareStayAdmin(WorkflowActMixin, _ServiceFormThenReadOnly, SimpleHistoryAdmin):
    add_form = StayAdmitForm
    list_display = (record_number, "person_name", "masked_id", "care_home", "admitted_on", "ended_on", "end_reason")
    list_select_related = ("person", "care_home")
    list_filter = (("care_home", admin.RelatedOnlyFieldListFilter), "end_reason")  # an operator: its own home only
    date_hierarchy = "admitted_on"
    list_per_page = 50
    change_form_template = "admin/carecare/carestay/change_form.html"
    inlines = (AbsenceInline,)
    readonly_fields = ("person", "care_home", "admitted_on", "ended_on", "end_reason", "next_stay", "note", "created_by",
                       "created_at")

    def get_queryset(self, request):
        return selectors.stays_for(request.user).select_related("person", "care_home")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("name"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def masked_id(self, obj):
        return obj.person.masked_id_number

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        try:
            created = stay_services.stay_admit(acting_user=request.user, person=data["person"], care_home=data["care_home"],
                                               admitted_on=data["admitted_on"], note=data.get("note", ""))
        except CareError as exc:
            transaction.set_rollback(True)
            request._care_refused = True
            self.message_user(request, str(exc), messages.ERROR)
            return
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        return None

    def log_addition(self, request, obj, message):
        return None if getattr(request, "_care_refused", False) else super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_care_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)

    # ---- the stay's records (medins.admin_workflow.WorkflowActMixin: <pk>/act/); no transitions table:
    # every record is offered while the stay is open, the services refuse what does not fit

    workflow_errors = (CareError,)

    def workflow_names(self):
        return _STAY_ACTIONS

    def workflow_steps(self, request, obj):
        return _STAY_ACTIONS

    def workflow_may_act(self, request, obj):
        return request.user.has_perm(stay_services.CHANGE)

    def workflow_may(self, user, name):
        return user.has_perm(stay_services.CHANGE)

    def workflow_label(self, name):
        return str(_STAY_ACTIONS.get(name, name))

    def workflow_needs_confirmation(self, name):
        return name in _STAY_CONFIRM

    def workflow_warning(self, name):
        return gettext("The stay ends on the date given; this cannot be undone.")

    def workflow_confirm_rows(self, request, obj, name):
        return [ConfirmRow(f"{obj.person.name} {obj.person.masked_id_number} {obj.care_home.name}", object_url(obj), None,
                           request.POST.get("on", ""))]

    def workflow_run(self, request, obj, name):
        post, stay = request.POST, obj
        on = _date(post.get("on", ""))
        if name != "absence_end" and name != "absence" and on is None:
            raise CareError(gettext("Give the date."))
        if name == "absence":
            stay_services.stay_absence_record(acting_user=request.user, stay=stay, from_date=_date(post.get("from_date", ""))
                                              or on or timezone.localdate(), to_date=_date(post.get("to_date", "")),
                                              reason=post.get("reason") or "hospital", note=post.get("note", ""))
        elif name == "absence_end":
            absence = stay.absences.filter(to_date__isnull=True).first()
            if absence is None:
                raise CareError(gettext("No open absence."))
            stay_services.stay_absence_end(acting_user=request.user, absence=absence, to_date=on or timezone.localdate())
        elif name == "transfer":
            home = selectors.care_homes().filter(pk=post.get("to_home") or 0).first()
            if home is None:
                raise CareError(gettext("Choose the care home."))
            stay_services.stay_transfer(acting_user=request.user, stay=stay, to_home=home, on=on)
        elif name == "discharge":
            stay_services.stay_discharge(acting_user=request.user, stay=stay, on=on, note=post.get("note", ""))
        elif name == "death":
            stay_services.stay_death(acting_user=request.user, stay=stay, on=on, note=post.get("note", ""))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        stay = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if stay is not None and stay.ended_on is None and request.user.has_perm(stay_services.CHANGE):
            extra_context["stay_actions"] = _STAY_ACTIONS
            extra_context["open_absence"] = stay.absences.filter(to_date__isnull=True).exists()
            extra_context["homes"] = selectors.care_homes().exclude(pk=stay.care_home_id).order_by("code")
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- the person's page


class CareTimelineFormSet(forms.BaseInlineFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeline = selectors.person_timeline(self.instance.pk) if self.instance.pk else []


class CareTimelineInline(_ReadOnlyInline):
    """The person's long-term care: assessments and stays in date order (a panel, not a form)."""

    model = Assessment
    fk_name = "person"
    formset = CareTimelineFormSet
    template = "admin/carecare/person_timeline.html"
    verbose_name_plural = _("long-term care: assessments and stays")
    fields = ()

    def get_queryset(self, request):
        return super().get_queryset(request).none()


if CareTimelineInline not in PersonAdmin.inlines:
    # carecare depends on enrollment, not the reverse: the panel is added to the person's page here.
    PersonAdmin.inlines = (*PersonAdmin.inlines, CareTimelineInline)

__all__ = ["AssessmentAdmin", "CareStayAdmin", "CareTimelineInline", "Person", "RequestedBy"]

from . import admin_claims  # noqa: E402,F401  (monthly care claims: registers their admin pages)
