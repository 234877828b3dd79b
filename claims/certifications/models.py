"""Certifications, approvals and registrations (认定, 备案, 审批, 登记; DOMAIN.md §5).

One model for the four kinds. A certification that was approved carries its validity window
(valid_from .. valid_to, open-ended when empty) and one or more sites: the institutions where the
benefit may be used, each with its own window (a chronic patient's treatment institution changes
the next day with its history kept; a special drug may be dispensed at the approving hospital and
at a chosen designated pharmacy). The certified-visit check reads certifications and sites with
one set-based query per batch: a visit is payable when a certification of its person, kind and
disease/drug was approved, its window and a site's window at the visit's institution cover the
service date.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from medins.workflow import transition_text

from .workflow import CertificationState


class CertificationKind(models.TextChoices):
    CHRONIC = "chronic", _("Chronic-disease certification")
    SPECIAL_DISEASE = "special_disease", _("Special-disease certification")
    SPECIAL_DRUG = "special_drug", _("Special-drug approval")
    TWO_DISEASES = "two_diseases", _("Hypertension/diabetes registration")


class SiteRole(models.TextChoices):
    TREATMENT = "treatment", _("Treatment institution")
    CERTIFYING = "certifying", _("Certifying hospital")
    APPROVING = "approving", _("Approving hospital")
    DISPENSING = "dispensing", _("Dispensing pharmacy")
    REGISTERING = "registering", _("Registering institution")


class Certification(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="certifications",
                               verbose_name=_("insured person"))
    kind = models.CharField(_("kind"), max_length=20, choices=CertificationKind.choices)
    item = models.ForeignKey("medins.CatalogueItem", on_delete=models.PROTECT, related_name="certifications",
                             verbose_name=_("disease or drug"))
    # Who applied: the hospital (exam hospital, certifying hospital, special-drug hospital,
    # registering primary institution) — the tenant an institution operator sees — or, for a Jinan
    # college student's 门规 file, the school that forwarded it.
    applicant_institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="certification_applications",
                                              verbose_name=_("applying institution"))
    school = models.ForeignKey("enrollment.School", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="certifications", verbose_name=_("forwarding school"))
    # Where the benefit is used (DOMAIN.md §5 "Approved carries"): the chronic treatment
    # institution, the certifying hospital, the approving hospital. Its current value; the history
    # is in the sites.
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="certifications_used_here", verbose_name=_("institution of use"))
    dispensing_institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                               related_name="+", verbose_name=_("dispensing pharmacy"))
    insulin_since = models.DateField(_("insulin user since"), null=True, blank=True,
                                     help_text=_("两病 diabetes only: the day the person was registered as an insulin user."))
    assessment = models.JSONField(_("assessment form"), default=dict, blank=True,
                                  help_text=_("Special drugs: the responsible doctor's assessment (特药申请评估表)."))
    state = models.CharField(_("state"), max_length=20, choices=CertificationState.choices,
                             default=CertificationState.APPLIED)
    applied_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True,
                                            help_text=_("When it entered its current state (the queues read it)."))
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("applied by"))
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("reviewer"))
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("approved by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Empty: open-ended while insured."))
    end_reason = models.TextField(_("reason"), blank=True, help_text=_("Why it was rejected, revoked or ended."))
    superseded_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes",
                                      verbose_name=_("superseded by"))
    # The applicant's own id of the application (the API's application_id or Idempotency-Key, the
    # portal's form id): one per applying hospital or school, so a retried request creates nothing twice.
    client_id = models.CharField(_("applicant's application id"), max_length=80, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-applied_at", "-pk"]
        constraints = [
            # Never two in force for the same person, kind and disease/drug (DOMAIN.md §5).
            models.UniqueConstraint(fields=["person", "kind", "item"], condition=Q(state="approved"),
                                    name="cert_one_in_force_per_person_kind_item"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_from__isnull=True)
                                   | Q(valid_to__gte=F("valid_from")) | Q(state__in=["revoked", "superseded"]),
                                   name="cert_valid_to_not_before_from"),
            models.UniqueConstraint(fields=["applicant_institution", "client_id"], condition=~Q(client_id=""),
                                    name="cert_uniq_client_id_per_institution"),
            models.UniqueConstraint(fields=["school", "client_id"], condition=~Q(client_id=""),
                                    name="cert_uniq_client_id_per_school"),
        ]
        indexes = [
            models.Index(fields=["state", "kind"], name="cert_state_kind"),
            models.Index(fields=["person", "kind"], name="cert_person_kind"),
        ]
        permissions = [
            ("approve_certification", _("Can approve certifications")),
            ("revoke_certification", _("Can revoke certifications")),
        ]
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")

    def __str__(self):
        return self.number


class CertificationSite(models.Model):
    """An institution where an approved certification's benefit may be used, and over which days."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="sites",
                                      verbose_name=_("certification"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="certification_sites",
                                    verbose_name=_("institution"))
    role = models.CharField(_("role"), max_length=20, choices=SiteRole.choices)
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("to"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["certification", "valid_from", "pk"]
        indexes = [models.Index(fields=["institution", "certification"], name="cert_site_institution")]
        verbose_name = _("place of use")
        verbose_name_plural = _("places of use")

    def __str__(self):
        return f"{self.institution} {self.valid_from}–{self.valid_to or ''}"


class CertificationDocument(models.Model):
    """One required document of the application (the checklist, from the kind's data)."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="documents",
                                      verbose_name=_("certification"))
    code = models.CharField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    received = models.BooleanField(_("received"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["certification", "pk"]
        constraints = [models.UniqueConstraint(fields=["certification", "code"], name="cert_uniq_document")]
        verbose_name = _("document")
        verbose_name_plural = _("documents (checklist)")

    def __str__(self):
        return self.name


class CertificationAttachment(models.Model):
    """A scanned document sent with the application (API, school portal, admin)."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="attachments",
                                      verbose_name=_("certification"))
    document_code = models.CharField(_("document"), max_length=60, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    content = models.BinaryField(_("content"), editable=False)
    size = models.PositiveIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["certification", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.filename


class CertificationNotice(models.Model):
    """The one-time notice (一次性告知) listing every missing document at once."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="notices",
                                      verbose_name=_("certification"))
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("issued by"))
    missing = models.JSONField(_("missing documents"), default=list)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["certification", "-issued_at", "-pk"]
        verbose_name = _("documents notice")
        verbose_name_plural = _("documents notices")

    def __str__(self):
        return f"{self.certification.number} · {self.issued_at:%Y-%m-%d}" if self.issued_at else "notice"


class CertificationTransition(models.Model):
    """Who moved the certification from which state to which, when and why."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="transitions",
                                      verbose_name=_("certification"))
    from_state = models.CharField(_("from"), max_length=20, choices=CertificationState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=CertificationState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["certification", "at", "pk"]
        verbose_name = _("certification transition")
        verbose_name_plural = _("certification transitions")

    def __str__(self):
        return transition_text(self.from_state, self.to_state, self._meta.get_field("to_state").choices)


class CertificationYearEnd(models.Model):
    """One run of the year-end job (DOMAIN.md §5 "Year end") for the year that ends: special-drug
    approvals expired and listed for renewal, certifications of persons not insured in the new
    year expired. Re-running it changes nothing more."""

    year = models.PositiveIntegerField(_("year ended"), unique=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("year-end run of certifications")
        verbose_name_plural = _("year-end runs of certifications")

    def __str__(self):
        return str(self.year)


class CertificationRenewal(models.Model):
    """A person whose special-drug approval expired at the year end and needs a new assessment at
    the hospital (the renewal list per hospital, seen by the hospital and the clerks)."""

    year = models.PositiveIntegerField(_("renewal for year"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="certification_renewals",
                                    verbose_name=_("hospital"))
    certification = models.OneToOneField(Certification, on_delete=models.CASCADE, related_name="renewal",
                                         verbose_name=_("expired approval"))
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("insured person"))
    item = models.ForeignKey("medins.CatalogueItem", on_delete=models.PROTECT, related_name="+", verbose_name=_("drug"))
    renewed_by = models.ForeignKey(Certification, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("renewed by"))
    created_at = models.DateTimeField(_("listed at"), auto_now_add=True)

    class Meta:
        ordering = ["year", "institution", "pk"]
        indexes = [models.Index(fields=["institution", "year"], name="cert_renewal_institution")]
        verbose_name = _("special-drug renewal")
        verbose_name_plural = _("special-drug renewals (list per hospital)")

    def __str__(self):
        return f"{self.year} · {self.certification_id}"
