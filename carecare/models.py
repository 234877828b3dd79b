"""Long-term care (照护保险, DOMAIN.md §7): disability assessments and care-home stays.

Care homes are not a model of their own: a care home is a ``medins.Institution`` of kind
``care_home`` holding the ``ltc_home`` designation (:class:`CareHome` is a proxy that lists only
those), and a care home's account is the existing ``settlement.InstitutionOperator`` link of a
user to that institution — one operator concept for every institution.

Day counting (DOMAIN §7, research §4.3 A4-11, 算入不算出): a stay covers the days
``admitted_on <= day < ended_on`` — the admission day counts, the end day (discharge, transfer,
death) does not. An open stay (``ended_on`` empty) covers every day from admission on. A transfer
ends one stay and opens the next on the same day, so the transfer day belongs to the new home
(its admission day) and never to both. A :class:`StayAbsence` covers ``from_date <= day < to_date``
the same way (left on from_date, back on to_date: the return day is a day in the home).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from medins.models import Institution
from medins.uploads import CheckedUpload
from medins.workflow import transition_text

CARE_HOME_KIND = "care_home"
CARE_HOME_DESIGNATION = "ltc_home"


class CareHomeManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=CARE_HOME_KIND, designations__code=CARE_HOME_DESIGNATION)


class CareHome(Institution):
    """A designated care home (定点照护机构): an Institution of kind care_home holding ltc_home."""

    objects = CareHomeManager()

    class Meta:
        proxy = True
        verbose_name = _("designated care home")
        verbose_name_plural = _("designated care homes")


CARE_HOME_CHOICES = {"kind": CARE_HOME_KIND, "designations__code": CARE_HOME_DESIGNATION}


# ---------------------------------------------------------------------------------------- assessment


class RequestedBy(models.TextChoices):
    PERSON = "person", _("The person")
    GUARDIAN = "guardian", _("A guardian")
    CARE_HOME = "care_home", _("A care home")


class AssessmentState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ASSESSED = "assessed", _("Initial assessment recorded")
    REASSESSED = "reassessed", _("On-site re-assessment recorded")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


class Grade(models.TextChoices):
    SEVERE = "severe", _("Severe disability")
    MODERATE = "moderate", _("Moderate disability")
    NONE = "none", _("No disability grade")


class Assessment(models.Model):
    """One disability assessment of a person (失能评估), from request to approval.

    Two assessor records are kept: the initial assessment (初评, ``initial_*``) and the on-site
    re-assessment (现场复评, ``onsite_*``). ``items``, ``score`` and ``grade`` hold the result
    that counts: the initial one once it is recorded, replaced by the on-site one when that is
    recorded (the initial record stays in ``initial_items``/``initial_score``/``initial_grade``).
    ``score`` is always the sum of ``items`` computed by the services, never typed; ``grade``
    comes from the policy's bands in force on the assessment date (``assessed_on``).

    Approved: ``valid_from`` = the approval date, ``valid_to`` = valid_from + the policy's
    ``long_term_care.assessment_valid_months`` (the last valid day is ``valid_to`` - 1 day, so
    a 24-month validity from 2021-06-15 ends with 2023-06-14). A later approved assessment of
    the same person supersedes it (state ``superseded``, ``superseded_by`` set); at most one
    approved assessment per person exists at any time (partial unique constraint).
    """

    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="care_assessments",
                               verbose_name=_("insured person"))
    requested_by = models.CharField(_("requested by"), max_length=20, choices=RequestedBy.choices)
    requester_name = models.CharField(_("requester's name"), max_length=50, blank=True,
                                      help_text=_("The guardian's name when a guardian requests."))
    care_home = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="care_assessments", verbose_name=_("care home"),
                                  limit_choices_to=CARE_HOME_CHOICES)
    requested_on = models.DateField(_("requested on"))
    requested_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                          verbose_name=_("recorded by"))
    state = models.CharField(_("state"), max_length=20, choices=AssessmentState.choices,
                             default=AssessmentState.REQUESTED)
    scale_version = models.CharField(_("scale version"), max_length=40)
    # the result that counts (on-site once recorded, else initial)
    items = models.JSONField(_("scale items"), default=dict, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True, editable=False)
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices, blank=True)
    assessed_on = models.DateField(_("assessment date"), null=True, blank=True)
    # initial assessment (初评)
    initial_items = models.JSONField(_("initial assessment items"), default=dict, blank=True)
    initial_score = models.PositiveSmallIntegerField(_("initial score"), null=True, blank=True, editable=False)
    initial_grade = models.CharField(_("initial grade"), max_length=20, choices=Grade.choices, blank=True)
    initial_assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+", verbose_name=_("initial assessor"))
    initial_assessed_on = models.DateField(_("initial assessment date"), null=True, blank=True)
    # on-site re-assessment (现场复评)
    onsite_assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("on-site assessor"))
    onsite_assessed_on = models.DateField(_("on-site assessment date"), null=True, blank=True)
    # review and decision
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("reviewer"))
    reviewed_on = models.DateField(_("review date"), null=True, blank=True)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("approver"))
    approved_on = models.DateField(_("approval date"), null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until (exclusive)"), null=True, blank=True)
    superseded_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                      verbose_name=_("superseded by"))
    policy_version = models.CharField(_("policy version"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=Q(state="approved"),
                                    name="care_one_approved_assessment_per_person"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="care_assessment_validity_order"),
        ]
        indexes = [
            models.Index(fields=["state", "valid_to"], name="care_assess_state_valid_to"),
            models.Index(fields=["person", "state"], name="care_assess_person_state"),
        ]
        permissions = [("approve_assessment", _("Can approve long-term care assessments")),
                       ("assess_assessment", _("Can record long-term care assessments (assessor)"))]
        verbose_name = _("care assessment")
        verbose_name_plural = _("care assessments")

    def __str__(self):
        return f"{self.pk} {self.get_state_display()} {self.get_grade_display() if self.grade else ''}".strip()

    def is_valid_on(self, day) -> bool:
        return (self.state == AssessmentState.APPROVED and self.valid_from is not None
                and self.valid_from <= day < self.valid_to)


class AssessmentTransition(models.Model):
    """Who moved the assessment from which state to which, when and why (medins.workflow.Record)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="transitions",
                                   verbose_name=_("care assessment"))
    from_state = models.CharField(_("from"), max_length=20, choices=AssessmentState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=AssessmentState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["assessment", "at", "pk"]
        verbose_name = _("assessment transition")
        verbose_name_plural = _("assessment transitions")

    def __str__(self):
        return transition_text(self.from_state, self.to_state, self._meta.get_field("to_state").choices)


# ---------------------------------------------------------------------------------------- stays


class StayEndReason(models.TextChoices):
    DISCHARGE = "discharge", _("Discharge")
    TRANSFER = "transfer", _("Transfer to another care home")
    DEATH = "death", _("Death")


class CareStay(models.Model):
    """A person's stay in one designated care home.

    Covers the days ``admitted_on <= day < ended_on`` (admission day in, end day out; open-ended
    while ``ended_on`` is empty). A transfer ends this stay on the transfer day and opens the
    next one (``next_stay``) the same day: the transfer day is paid to the new home. On death
    ``ended_on`` is the date of death: neither the day of death nor any later day is a care day
    (the end day is out, as for a discharge). A person has at most one open stay.
    """

    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="care_stays",
                               verbose_name=_("insured person"))
    care_home = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="care_stays",
                                  verbose_name=_("care home"), limit_choices_to=CARE_HOME_CHOICES)
    admitted_on = models.DateField(_("admitted on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True,
                                help_text=_("Discharge, transfer or death date; this day is not a care day."))
    end_reason = models.CharField(_("end reason"), max_length=20, choices=StayEndReason.choices, blank=True)
    next_stay = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="previous_stay", verbose_name=_("transferred to stay"))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-admitted_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=Q(ended_on__isnull=True),
                                    name="care_one_open_stay_per_person"),
            models.CheckConstraint(condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("admitted_on")),
                                   name="care_stay_end_after_admission"),
            models.CheckConstraint(condition=(Q(ended_on__isnull=True) & Q(end_reason=""))
                                   | (Q(ended_on__isnull=False) & ~Q(end_reason="")),
                                   name="care_stay_end_reason_iff_ended"),
        ]
        indexes = [
            models.Index(fields=["person", "admitted_on"], name="care_stay_person_admitted"),
            models.Index(fields=["care_home", "admitted_on"], name="care_stay_home_admitted"),
        ]
        verbose_name = _("care stay")
        verbose_name_plural = _("care stays")

    def __str__(self):
        return f"{self.person_id} @ {self.care_home_id} {self.admitted_on}–{self.ended_on or ''}"

    def covers(self, day) -> bool:
        return self.admitted_on <= day and (self.ended_on is None or day < self.ended_on)


class AbsenceReason(models.TextChoices):
    HOSPITAL = "hospital", _("Hospital stay")
    OTHER = "other", _("Other")


class StayAbsence(models.Model):
    """A temporary absence from the home during a stay: days ``from_date <= day < to_date`` are
    absent (left on from_date, back on to_date); an open absence (``to_date`` empty) lasts until
    the return is recorded. Absent days are not payable (hospital days are paid as inpatient)."""

    stay = models.ForeignKey(CareStay, on_delete=models.CASCADE, related_name="absences", verbose_name=_("care stay"))
    from_date = models.DateField(_("absent from"))
    to_date = models.DateField(_("back on"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=AbsenceReason.choices, default=AbsenceReason.HOSPITAL)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["stay", "from_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(to_date__isnull=True) | Q(to_date__gt=F("from_date")),
                                   name="care_absence_back_after_leaving"),
        ]
        verbose_name = _("absence from the care home")
        verbose_name_plural = _("absences from the care home")

    def __str__(self):
        return f"{self.stay_id} {self.from_date}–{self.to_date or ''} {self.get_reason_display()}"

    def covers(self, day) -> bool:
        return self.from_date <= day and (self.to_date is None or day < self.to_date)


# ---------------------------------------------------------------------------------------- monthly claims


class CareClaimState(models.TextChoices):
    RECEIVED = "received", _("Received")
    CHECKED = "checked", _("Checked")
    APPROVED = "approved", _("Approved")
    PAYMENT_ORDERED = "payment_ordered", _("Payment ordered")
    REJECTED = "rejected", _("Rejected")


class ClaimSource(models.TextChoices):
    API = "api", _("API")
    UPLOAD = "upload", _("File upload")


class CareClaim(models.Model):
    """A care home's monthly claim (照护费用月度结算申报, DOMAIN.md §7): one per home and month.

    Idempotent on (care home, month) and on its content (``content_digest``, a SHA-256 of the
    normalised residents and days): the same claim sent again changes nothing; a *different*
    claim for the same month replaces the lines while the claim is still ``received`` (a
    corrected resend before checking) or after it was ``rejected``; once checked it is refused
    (carecare.services.claims). The amounts are the sums of the lines, written by the services.
    """

    care_home = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="care_claims",
                                  verbose_name=_("care home"), limit_choices_to=CARE_HOME_CHOICES)
    month = models.DateField(_("month"), help_text=_("The first day of the month claimed."))
    state = models.CharField(_("state"), max_length=20, choices=CareClaimState.choices, default=CareClaimState.RECEIVED)
    source = models.CharField(_("sent by"), max_length=10, choices=ClaimSource.choices, default=ClaimSource.API)
    content_digest = models.CharField(_("content digest"), max_length=64, editable=False)
    sends = models.PositiveSmallIntegerField(_("times sent with new content"), default=1)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("received from"))
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("checked by"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("approved by"))
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    policy_version = models.CharField(_("policy version"), max_length=40, blank=True)
    residents = models.PositiveIntegerField(_("residents"), default=0)
    days_billed = models.PositiveIntegerField(_("days billed"), default=0)
    days_refused = models.PositiveIntegerField(_("days refused"), default=0)
    total = models.DecimalField(_("billed"), max_digits=14, decimal_places=2, default=0)
    fund = models.DecimalField(_("fund pays"), max_digits=14, decimal_places=2, default=0)
    personal = models.DecimalField(_("residents pay"), max_digits=14, decimal_places=2, default=0)
    refused_amount = models.DecimalField(_("refused amount"), max_digits=14, decimal_places=2, default=0)
    payment_order = models.ForeignKey("claims.PaymentOrder", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("payment order"))
    history = HistoricalRecords(excluded_fields=["content_digest"])

    class Meta:
        ordering = ["-month", "care_home", "-pk"]
        constraints = [models.UniqueConstraint(fields=["care_home", "month"], name="care_claim_one_per_home_month"),
                       models.CheckConstraint(condition=Q(month__day=1), name="care_claim_month_first_day")]
        indexes = [models.Index(fields=["state", "month"], name="care_claim_state_month")]
        permissions = [("approve_careclaim", _("Can approve monthly care claims"))]
        verbose_name = _("monthly care claim")
        verbose_name_plural = _("monthly care claims")

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"HL{self.pk:08d}" if self.pk else "HL—"


class CareClaimTransition(models.Model):
    """Who moved the care claim from which state to which, when and why (medins.workflow.Record)."""

    claim = models.ForeignKey(CareClaim, on_delete=models.CASCADE, related_name="transitions",
                              verbose_name=_("monthly care claim"))
    from_state = models.CharField(_("from"), max_length=20, choices=CareClaimState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=CareClaimState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["claim", "at", "pk"]
        verbose_name = _("care claim transition")
        verbose_name_plural = _("care claim transitions")

    def __str__(self):
        return transition_text(self.from_state, self.to_state, self._meta.get_field("to_state").choices)


class CareClaimLine(models.Model):
    """One resident of a monthly claim: the days billed with their costs by item, and the result.

    ``days`` holds each billed day as sent, ``{"date", "bed", "nursing", "supplies", "other"}`` with
    ``"refused": <reason code>`` on a day the checks refused (carecare.checks.REASONS: the
    reason in Chinese) and ``"flag"`` on a paid day worth a look (no rule of §7 applies). ``groups``
    are the engine's rule groups of the payable days (rule, days, covered, fund). fund + personal
    = the payable days' costs; refused_amount = the refused days' costs (the fund pays none of it).
    """

    claim = models.ForeignKey(CareClaim, on_delete=models.CASCADE, related_name="lines",
                              verbose_name=_("monthly care claim"))
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="care_claim_lines", verbose_name=_("insured person"))
    id_number = models.CharField(_("ID number as sent"), max_length=18)
    days = models.JSONField(_("days"), default=list)
    groups = models.JSONField(_("computation"), default=list, blank=True)
    line_refusal = models.CharField(_("refusal of the whole line"), max_length=30, blank=True)
    days_billed = models.PositiveSmallIntegerField(_("days billed"), default=0)
    days_paid = models.PositiveSmallIntegerField(_("days payable"), default=0)
    days_refused = models.PositiveSmallIntegerField(_("days refused"), default=0)
    total = models.DecimalField(_("billed"), max_digits=14, decimal_places=2, default=0)
    fund = models.DecimalField(_("fund pays"), max_digits=14, decimal_places=2, default=0)
    personal = models.DecimalField(_("resident pays"), max_digits=14, decimal_places=2, default=0)
    refused_amount = models.DecimalField(_("refused amount"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["claim", "pk"]
        constraints = [models.UniqueConstraint(fields=["claim", "id_number"], name="care_claim_line_one_per_resident")]
        verbose_name = _("care claim line")
        verbose_name_plural = _("care claim lines")

    def __str__(self):
        return f"{self.claim_id}: {self.id_number[:6]}…"


class CareClaimUpload(CheckedUpload):
    """A claim file uploaded in the admin (medins.uploads: checked first — a preview, nothing
    written — then confirmed once: the claim is received from the stored rows, exactly what was
    previewed)."""

    care_home = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="care_claim_uploads",
                                  verbose_name=_("care home"), limit_choices_to=CARE_HOME_CHOICES)
    month = models.DateField(_("month"))
    claim = models.ForeignKey(CareClaim, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("monthly care claim"))

    class Meta(CheckedUpload.Meta):
        verbose_name = _("care claim file")
        verbose_name_plural = _("care claim files")

    def __str__(self):
        return self.filename


class CareClaimReminder(models.Model):
    """The monthly reminder (a job): the care homes with residents that have not sent a month's
    claim, as found on ``checked_at`` (re-running the job for the month updates the row)."""

    month = models.DateField(_("month"), unique=True)
    homes = models.JSONField(_("homes without a claim"), default=list)
    home_count = models.PositiveIntegerField(_("homes without a claim"), default=0)
    checked_at = models.DateTimeField(_("checked at"), auto_now=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("missing care claims (monthly reminder)")
        verbose_name_plural = _("missing care claims (monthly reminders)")

    def __str__(self):
        return f"{self.month:%Y-%m}: {self.home_count}"
