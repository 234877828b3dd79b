"""Admin of certifications, approvals and registrations (DOMAIN.md §5): queues, the application page
with its documents checklist, attachments, notices, places of use and history; the renewal list.

Thin: every change goes through claims.certifications.services (the same services as the API).
The transition buttons come from the CERTIFICATIONS table (medins.admin_workflow). An institution
operator sees only its own institution's applications (selectors.visible_to: queryset and object
permission) and the decision buttons only where kinds.py lets the hospital decide.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.admin import person_page_section
from enrollment.admin_search import PersonSearchMixin, tenant_person_choices
from medins.admin_mixins import (
    ChooserMixin,
    ConfirmRow,
    ReadOnlyAdmin,
    TransitionHistoryInline,
    object_url,
)
from medins.admin_workflow import WorkflowButtons, WorkflowChangeFormMixin, step_input
from medins.models import Institution
from medins.parsing import today
from medins.roles import CERTIFICATION_TRANSITIONS
from medins.value_display import code_html, day_column, file_kind

from . import services
from .errors import CertificationError
from .kinds import rule_for
from .models import (
    Certification,
    CertificationAttachment,
    CertificationDocument,
    CertificationNotice,
    CertificationRenewal,
    CertificationSite,
    CertificationTransition,
)
from .selectors import incomplete_days, person_timeline, queue, renewals_visible_to, tenant_of, visible_to
from .workflow import CERTIFICATIONS, OPEN, QUEUES, CertificationState

S = CertificationState

# The clerk's steps, by the service that takes them: name -> (label, service, input).
# certification_supersede is taken by an approval, never by a button.
STEPS = {
    "request_documents": (_("Send the one-time notice of missing documents"), "certification_request_documents", "note"),
    "resubmit": (_("Documents handed in (resubmitted)"), "certification_resubmit", "note"),
    "start_review": (_("Start review"), "certification_start_review", ""),
    "approve": (_("Approve"), "certification_approve", "date"),
    "reject": (_("Reject"), "certification_reject", "reason"),
    "revoke": (_("Revoke"), "certification_revoke", "reason_date"),
    "expire": (_("Expire"), "certification_expire", "date"),
}
BUTTONS = WorkflowButtons(CERTIFICATIONS, STEPS, CERTIFICATION_TRANSITIONS, confirm={
    # the steps that cannot be undone ask first (issue #14 item 5)
    "approve": _("An approval cannot be taken back (only revoked later), and it supersedes the person's earlier "
                 "certification of the same kind."),
    "reject": _("A rejected application is closed for good."),
    "revoke": _("A revoked certification ends for good on the date given."),
    "expire": _("An expired certification ends for good on the date given."),
})
CHANGE_INSTITUTION = "change_institution"
# Steps of the deciding side (kinds.py: the hospital decides some kinds, the agency all).
DECIDING = {"request_documents", "start_review", "approve", "reject"}


def _run(name: str, *, user, obj, reason: str = "", on: dt.date | None = None):
    service = getattr(services, STEPS[name][1])
    kwargs = {"acting_user": user, "certification": obj}
    kind = STEPS[name][2]
    if kind == "note":
        kwargs["note"] = reason
    if "reason" in kind:
        kwargs["reason"] = reason
    if "date" in kind:
        kwargs["on"] = on
    return service(**kwargs)


def steps_for(cert: Certification, user=None) -> list[tuple[str, str]]:
    """The buttons of a certification: its state's services in the table, the user's role, and for
    an institution operator only the steps kinds.py lets the hospital take."""
    out = BUTTONS.for_state(cert.state, user)
    if user is None:
        return out
    institution_id, school_id = tenant_of(user)
    if institution_id is None and school_id is None:
        return out
    rule = rule_for(cert.region.code, cert.kind)
    hospital_decides = rule is not None and rule.hospital_decides and cert.applicant_institution_id == institution_id
    return [(n, label) for n, label in out if n == "resubmit" or (n in DECIDING and hospital_decides)]


# --------------------------------------------------------------------------- filters


class QueueFilter(admin.SimpleListFilter):
    title = _("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, label if key != "incomplete_overdue" else _("Documents missing for more than %(n)d days")
                 % {"n": incomplete_days()}) for key, (label, _states) in QUEUES.items()]

    def queryset(self, request, queryset):
        return queue(self.value(), queryset) if self.value() in QUEUES else queryset


# --------------------------------------------------------------------------- inlines


class _ReadOnly(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DocumentInline(admin.TabularInline):
    model = CertificationDocument
    extra = 0
    can_delete = False
    fields = ("name", "received", "note")
    readonly_fields = ("name",)
    verbose_name_plural = _("documents (checklist)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.state in OPEN)


class AttachmentInline(_ReadOnly):
    model = CertificationAttachment
    fields = readonly_fields = ("document", "download", "file_type", "size", "uploaded_by", "uploaded_at")

    def get_queryset(self, request):
        names = CertificationDocument.objects.filter(certification_id=OuterRef("certification_id"),
                                                     code=OuterRef("document_code")).values("name")[:1]
        return (super().get_queryset(request).defer("content").select_related("uploaded_by")
                .annotate(document_name=Subquery(names)))

    @admin.display(description=_("document"))
    def document(self, obj):
        """The checklist's name of the document (issue 14 item 4: no raw codes), its code when unknown."""
        if not obj.document_code:
            return "—"
        return getattr(obj, "document_name", None) or code_html(obj.document_code)

    @admin.display(description=_("file type"))
    def file_type(self, obj):
        return file_kind(obj.content_type)

    @admin.display(description=_("file"))
    def download(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<a href="{}" download>{}</a>', reverse("admin:certifications_certification_attachment",
                                                                   args=[obj.certification_id, obj.pk]), obj.filename)


class NoticeInline(_ReadOnly):
    model = CertificationNotice
    fields = readonly_fields = ("issued_at", "issued_by", "missing_list", "note", "print_link")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issued_by")

    @admin.display(description=_("missing documents"))
    def missing_list(self, obj):
        return "；".join(m["name"] for m in obj.missing)

    @admin.display(description=_("print"))
    def print_link(self, obj):
        return format_html('<a href="{}" target="_blank">{}</a>', reverse("admin:certifications_certification_notice",
                                                                          args=[obj.certification_id, obj.pk]),
                           _("printable notice"))


class SiteInline(_ReadOnly):
    model = CertificationSite
    fields = readonly_fields = ("institution", "role", "valid_from", "valid_to", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("institution")


class TransitionInline(TransitionHistoryInline):
    model = CertificationTransition


# --------------------------------------------------------------------------- certifications


class ApplyForm(forms.ModelForm):
    class Meta:
        model = Certification
        fields = ("person", "kind", "item", "applicant_institution", "school", "institution", "dispensing_institution",
                  "insulin_since")


def _parse_day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@admin.register(Certification)
class CertificationAdmin(WorkflowChangeFormMixin, PersonSearchMixin, ChooserMixin, SimpleHistoryAdmin):
    list_display = ("number", "person_name", "masked_id", "kind", "item", "state", "institution", "applicant_institution",
                    "validity", day_column(Certification, "applied_at"))
    list_select_related = ("person", "item", "institution", "applicant_institution")
    list_filter = (QueueFilter, "kind", "state", "region", ("institution", admin.RelatedOnlyFieldListFilter),
                   ("applicant_institution", admin.RelatedOnlyFieldListFilter))
    number_fields = ("number",)
    search_help_text = _("Number, name, full ID number or its last digits")
    list_per_page = 50
    raw_id_fields = ("item",)
    autocomplete_fields = ("person", "applicant_institution", "school", "institution", "dispensing_institution")
    change_form_template = "admin/certifications/certification/change_form.html"
    workflow_buttons = BUTTONS  # the buttons submit the page's form itself (medins.admin_workflow)
    workflow_errors = (CertificationError,)
    inlines = (DocumentInline, AttachmentInline, NoticeInline, SiteInline, TransitionInline)

    actions = [BUTTONS.bulk_action("start_review", _run, CertificationError, done_message=_("%(n)d application(s) done."),
                                   describe=lambda c: c.number),
               BUTTONS.bulk_action("approve", _run, CertificationError, done_message=_("%(n)d application(s) done."),
                                   describe=lambda c: f"{c.number} {c.person.name}", permission="approve")]

    @admin.display(description=_("name"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def masked_id(self, obj):
        return obj.person.masked_id_number

    @admin.display(description=_("validity"), ordering="valid_from")
    def validity(self, obj):
        """From and to in one column (the list fits 1366 px, issue #14 item 7)."""
        if obj.valid_from is None:
            return "—"
        return format_html('<span class="nowrap">{}</span> – <span class="nowrap">{}</span>', date_format(obj.valid_from),
                           date_format(obj.valid_to) if obj.valid_to else "…")

    def get_queryset(self, request):
        return visible_to(request.user, super().get_queryset(request))

    def chooser_queryset(self, request, db_field, queryset, term):
        """An institution operator's choosers: persons of its own applications (any person by the
        full ID number), itself as the applying hospital, no school (only a school forwards a file)."""
        institution_id, school_id = tenant_of(request.user)
        if institution_id is None and school_id is None:
            return queryset
        if db_field.name == "person":
            return tenant_person_choices(queryset, term, Q(pk__in=visible_to(request.user).values("person_id")))
        if db_field.name == "applicant_institution":
            return queryset.filter(pk=institution_id)
        if db_field.name == "school":
            return queryset.filter(pk=school_id) if school_id is not None else queryset.none()
        return queryset

    def _visible(self, request, obj) -> bool:
        return obj is None or visible_to(request.user, Certification.objects.filter(pk=obj.pk)).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._visible(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._visible(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # audited: applications are rejected, certifications revoked, never deleted

    def has_approve_permission(self, request):
        return self.has_change_permission(request) and request.user.has_perm(services.PERM_APPROVE)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ApplyForm.Meta.fields
        return ("number", "state", "kind", "person", "masked_person_id", "item", "applicant_institution", "school",
                "institution", "dispensing_institution", "insulin_since", "assessment", "applied_at", "applied_by",
                "reviewer", "approver", "decided_at", "valid_from", "valid_to", "end_reason", "superseded_by")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    @admin.display(description=_("ID number"))
    def masked_person_id(self, obj):
        return obj.person.masked_id_number

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApplyForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request, obj):
        return () if obj is None else self.inlines

    # ---- saving through the services

    def save_model(self, request, obj, form, change):
        if change:
            return  # the page changes nothing directly: buttons and the checklist go through the services
        data = form.cleaned_data
        try:
            cert = services.certification_apply(
                acting_user=request.user, person=data["person"], kind=data["kind"], item=data["item"],
                applicant_institution=data.get("applicant_institution"), school=data.get("school"),
                institution=data.get("institution"), dispensing_institution=data.get("dispensing_institution"),
                insulin_since=data.get("insulin_since"))
        except CertificationError as exc:
            self._refuse(request, exc)
            return
        obj.pk = cert.pk
        obj.__dict__.update({k: v for k, v in cert.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        if getattr(request, "_cert_refused", False) or not change:
            return None
        return super().save_related(request, form, formsets, change)

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not CertificationDocument:
            return
        try:
            for f in formset.forms:
                if f.instance.pk and f.has_changed():
                    services.certification_document_mark(acting_user=request.user, certification=form.instance,
                                                         code=f.instance.code, received=f.cleaned_data["received"],
                                                         note=f.cleaned_data.get("note", ""))
        except CertificationError as exc:
            self._refuse(request, exc)

    def _refuse(self, request, exc: CertificationError) -> None:
        transaction.set_rollback(True)
        request._cert_refused = True
        self.message_user(request, str(exc), messages.ERROR)

    def log_addition(self, request, obj, message):
        return None if getattr(request, "_cert_refused", False) else super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        return None if getattr(request, "_cert_refused", False) else super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_cert_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_cert_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)

    # ---- the page: transition buttons, change of institution, printable notice, attachments

    def _institution_changeable(self, cert) -> bool:
        rule = rule_for(cert.region.code, cert.kind)
        return cert.state == S.APPROVED and rule is not None and rule.institution_changeable

    def workflow_steps(self, request, obj):
        steps = dict(steps_for(obj, request.user))
        if self._institution_changeable(obj):
            steps[CHANGE_INSTITUTION] = str(_("Change the treatment institution"))
        return steps

    def workflow_may(self, user, name):
        return name == CHANGE_INSTITUTION or super().workflow_may(user, name)

    def workflow_label(self, name):
        return str(_("Change the treatment institution")) if name == CHANGE_INSTITUTION else super().workflow_label(name)

    def workflow_missing_input(self, request, name):
        if name == CHANGE_INSTITUTION:
            return "" if step_input(request, name, "institution") else str(_("Choose the new treatment institution."))
        if "reason" in STEPS[name][2] and not step_input(request, name, "reason"):
            return gettext("“%(step)s” needs a reason.") % {"step": STEPS[name][0]}
        return ""

    def workflow_run(self, request, obj, name):
        on = _parse_day(step_input(request, name, "on"))
        if name == CHANGE_INSTITUTION:
            institution = Institution.objects.filter(pk=step_input(request, name, "institution") or None).first()
            if institution is None:
                raise CertificationError(_("Choose the new treatment institution."))
            services.certification_change_institution(acting_user=request.user, certification=obj, institution=institution,
                                                      on=on)
            return
        _run(name, user=request.user, obj=obj, reason=step_input(request, name, "reason"), on=on)

    def workflow_confirm_row(self, obj):
        return ConfirmRow(f"{obj.number} {obj.person.name} {obj.item.name}", object_url(obj), None, obj.get_state_display())

    def get_urls(self):
        return [
            path("<int:pk>/notice/<int:notice_pk>/", self.admin_site.admin_view(self.notice_view),
                 name="certifications_certification_notice"),
            path("<int:pk>/attachment/<int:attachment_pk>/", self.admin_site.admin_view(self.attachment_view),
                 name="certifications_certification_attachment"),
            *super().get_urls(),
        ]

    def notice_view(self, request, pk, notice_pk):
        notice = get_object_or_404(CertificationNotice.objects.select_related(
            "certification__person", "certification__item", "certification__applicant_institution",
            "certification__school", "issued_by"), pk=notice_pk, certification_id=pk)
        if not self.has_view_permission(request, notice.certification):
            raise PermissionDenied
        return TemplateResponse(request, "certifications/notice.html",
                                {"notice": notice, "certification": notice.certification})

    def attachment_view(self, request, pk, attachment_pk):
        attachment = get_object_or_404(CertificationAttachment.objects.select_related("certification"), pk=attachment_pk,
                                       certification_id=pk)
        if not self.has_view_permission(request, attachment.certification):
            raise PermissionDenied
        response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type or "application/octet-stream")
        response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        cert = Certification.objects.select_related("region").filter(pk=object_id).first()
        if cert is not None and self.has_change_permission(request, cert):
            extra_context["cert_steps"] = [(n, label, STEPS[n][2]) for n, label in steps_for(cert, request.user)]
            extra_context["today"] = today().isoformat()
            rule = rule_for(cert.region.code, cert.kind)
            if self._institution_changeable(cert):
                extra_context["treatment_choices"] = list(
                    Institution.objects.filter(region=cert.region, active=True, designations__code=rule.use.designation)
                    .exclude(pk=cert.institution_id).order_by("name").values_list("pk", "name"))
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- the renewal list


@admin.register(CertificationRenewal)
class CertificationRenewalAdmin(ReadOnlyAdmin, PersonSearchMixin, admin.ModelAdmin):
    """Persons whose special-drug approval expired at the year end, per hospital (year-end job)."""

    list_display = ("year", "institution", "person_name", "masked_id", "item", "certification", "renewed_by")
    list_select_related = ("institution", "person", "item", "certification", "renewed_by")
    list_filter = ("year", ("institution", admin.RelatedOnlyFieldListFilter))
    fields = readonly_fields = ("year", "institution", "person_name", "masked_id", "item", "certification", "renewed_by",
                                "created_at")

    @admin.display(description=_("name"))
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("ID number"))
    def masked_id(self, obj):
        return obj.person.masked_id_number

    def get_queryset(self, request):
        return renewals_visible_to(request.user, super().get_queryset(request))


# --------------------------------------------------------------------------- the person's page


@admin.display(description=_("certifications and approvals"))
def certification_timeline(model_admin, person):
    """The person's certifications next to the coverage timeline: kind, disease or drug, state,
    validity and places of use, each linked to its page."""
    certs = person_timeline(person.pk)
    if not certs:
        return _("No certification recorded.")

    def day(value):
        return date_format(value) if value else "—"

    def row(c):
        sites = "；".join(f"{s.institution.name}（{s.get_role_display()} {day(s.valid_from)}–{day(s.valid_to)}）"
                         for s in c.sites.all()) or "—"
        return (reverse("admin:certifications_certification_change", args=[c.pk]), c.number, c.get_kind_display(),
                c.item.name, c.get_state_display(), day(c.valid_from), day(c.valid_to) if c.valid_from else "—", sites,
                date_format(timezone.localtime(c.applied_at), "DATE_FORMAT"))

    rows = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
                                '<td style="white-space:nowrap">{}</td><td style="white-space:nowrap">{}</td><td>{}</td>'
                                '<td style="white-space:nowrap">{}</td></tr>', (row(c) for c in certs))
    head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                       _("number"), _("kind"), _("disease or drug"), _("state"), _("valid from"), _("valid to"),
                       _("places of use"), _("applied"))
    return format_html('<table class="certification-timeline"><thead>{}</thead><tbody>{}</tbody></table>', head, rows)


person_page_section("certification_timeline", certification_timeline, permission="certifications.view_certification")
