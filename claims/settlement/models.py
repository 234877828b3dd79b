"""Outpatient-pool membership, visits and capitation settlement runs (DOMAIN §4, §8)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from medins.uploads import CheckedUpload, UploadStatus  # noqa: F401 - UploadStatus is imported from here
from medins.workflow import transition_text

MONEY = {"max_digits": 14, "decimal_places": 2}


def money(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, default=0, **MONEY, **kwargs)


class SchoolClinic(models.Model):
    """The outpatient-pool institution (校医院) serving all insured students of a college."""

    school = models.OneToOneField("enrollment.School", on_delete=models.PROTECT, related_name="clinic",
                                  verbose_name=_("school"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="served_schools",
                                    verbose_name=_("school clinic"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["school__name"]
        verbose_name = _("school clinic link")
        verbose_name_plural = _("school clinic links")

    def __str__(self):
        return f"{self.school} → {self.institution}"


class MembershipSource(models.TextChoices):
    SCHOOL = "school", _("College student (school clinic)")
    SIGNUP = "signup", _("Signed up with the institution")


class PoolMembership(models.Model):
    """A person belongs to one outpatient-pool institution in a benefit year."""

    # No index of its own: person leads the unique (person, year) index, which on PostgreSQL also
    # carries the institution (migration 0007) so that ingestion checks membership from the index alone.
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="pool_memberships",
                               verbose_name=_("insured person"), db_index=False)
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="pool_members",
                                    verbose_name=_("institution"))
    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(_("source"), max_length=10, choices=MembershipSource.choices)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-year", "institution", "person"]
        # INCLUDE (institution) on PostgreSQL. SQLite cannot create a covering unique constraint, so
        # migration 0007 leaves it the plain unique (person, year) of 0001 there (models.W039 silenced).
        constraints = [models.UniqueConstraint(fields=["person", "year"], include=["institution"],
                                               name="stl_one_pool_per_person_year")]
        indexes = [models.Index(fields=["institution", "year"], name="stl_member_inst_year")]
        verbose_name = _("pool membership")
        verbose_name_plural = _("pool memberships")

    def __str__(self):
        return f"{self.year} {self.person_id} → {self.institution_id}"


class PoolAccount(models.Model):
    """An institution's capitation account for a year: what was settled so far, the head count
    frozen for each month once settled, and whether the year-end settlement closed it.

    Its row is the lock that serialises settling and ingesting for one institution-year."""

    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="pool_accounts",
                                    verbose_name=_("institution"))
    year = models.PositiveSmallIntegerField(_("year"))
    settled_to_date = money(_("settled to date"))
    headcounts = models.JSONField(_("frozen head counts"), default=dict, blank=True)
    # {month: fund-payable of the visits settled so far}, advanced by each run with the visits it
    # assigns; None for an account from before it was kept: the next run sums its settled visits once.
    actuals = models.JSONField(_("settled actuals by month"), null=True, blank=True, default=None)
    # {month: the highest visit id settled for that month}: a visit of the institution-year is
    # settled exactly when its id is at most its month's watermark (services/runs.py explains why
    # the account lock makes that exact). Visits are never rewritten to mark them settled.
    watermarks = models.JSONField(_("settled visits up to id, by month"), default=dict, blank=True)
    closed = models.BooleanField(_("closed by year-end settlement"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "year"], name="stl_account_inst_year")]
        verbose_name = _("capitation account")
        verbose_name_plural = _("capitation accounts")

    def __str__(self):
        return f"{self.institution_id} {self.year}: {self.settled_to_date}"


class Visit(models.Model):
    """One outpatient-pool visit sent by an institution; (institution, visit_id) is unique."""

    # Indexes: every one is paid by each ingested visit, so only those something reads are kept.
    # institution: no index of its own, it leads the unique (institution, visit_id) and the period
    # index. person: none; nothing reads visits by person (deleting a person, a rare admin action,
    # scans the table for its PROTECT check).
    # No database foreign keys (db_constraint=False): PostgreSQL checks each one with a trigger and a
    # key-share lock on the referenced row for every inserted visit, 5 000 person rows locked a
    # batch, ~15 % of ingestion time. Ingestion writes only the person and institution it has just
    # read (the institution's account locked), and PROTECT is still enforced by Django on delete.
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="pool_visits",
                                    verbose_name=_("institution"), db_index=False, db_constraint=False)
    visit_id = models.CharField(_("visit number"), max_length=40)
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="pool_visits",
                               verbose_name=_("insured person"), db_index=False, db_constraint=False)
    service_date = models.DateField(_("service date"))
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    class_a = money(_("class A"))
    class_b = money(_("class B"))
    class_c = money(_("class C"))
    total = money(_("total"))
    fund = money(_("fund payable"))
    deductible = money(_("deductible"))
    personal = money(_("personal"))
    policy_version = models.CharField(_("policy version"), max_length=40)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        ordering = ["-service_date", "-pk"]
        constraints = [models.UniqueConstraint(fields=["institution", "visit_id"], name="stl_visit_id_per_institution")]
        indexes = [
            # A run reads, per month, only the visits above the month's watermark: a range on id
            # within (institution, year, month), with the fund it sums (index-only on PostgreSQL).
            models.Index(fields=["institution", "year", "month", "id"], include=["fund"],
                         name="stl_visit_inst_period_id"),
        ]
        verbose_name = _("outpatient-pool visit")
        verbose_name_plural = _("outpatient-pool visits")

    def __str__(self):
        return self.visit_id


class RunKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    YEAR_END = "year_end", _("Year-end")
    # The monthly fee-for-service statements of certified outpatient visits (services/statements.py).
    FEE_FOR_SERVICE = "ffs", _("Fee-for-service statements")


class RunState(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    # A year-end run whose year finance reopened (YearReopening): kept as it was, no longer
    # closing the year; a new year-end run settles the year again.
    REOPENED = "reopened", _("Reopened by finance")


class SettlementRun(models.Model):
    """One capitation settlement job for a region and period; unique per region + period + kind."""

    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="settlement_runs",
                               verbose_name=_("region"))
    kind = models.CharField(_("kind"), max_length=10, choices=RunKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), help_text=_("12 for the year-end run."))
    state = models.CharField(_("state"), max_length=10, choices=RunState.choices, default=RunState.PENDING)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("started by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    institutions_total = models.PositiveIntegerField(_("institutions"), default=0)
    institutions_done = models.PositiveIntegerField(_("institutions done"), default=0)
    visits_count = models.PositiveIntegerField(_("visits settled"), default=0)
    amount_total = money(_("amount payable"))
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # Advanced by the worker as it processes institutions; the watchdog (settlement_run_watchdog)
    # resumes a pending or running run whose heartbeat is older than SETTLEMENT_RUN_STALE_MINUTES.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-year", "-month", "region"]
        constraints = [
            # One live run per region + period + kind; a year-end run reopened by finance steps aside.
            models.UniqueConstraint(fields=["region", "kind", "year", "month"], condition=~Q(state="reopened"),
                                    name="stl_run_region_period_kind"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="stl_run_month_valid"),
        ]
        permissions = [("start_settlementrun", _("Can start and resume capitation settlement runs"))]
        verbose_name = _("settlement run")
        verbose_name_plural = _("settlement runs")

    def __str__(self):
        return f"{self.region.name} {self.period} {self.get_kind_display()}"

    @property
    def period(self) -> str:
        return str(self.year) if self.kind == RunKind.YEAR_END else f"{self.year}-{self.month:02d}"


class RunTransition(models.Model):
    """Who moved a run from one state to another, when and why."""

    run = models.ForeignKey(SettlementRun, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("run"))
    from_state = models.CharField(_("from"), max_length=10, blank=True)
    to_state = models.CharField(_("to"), max_length=10)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                           verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("run transition")
        verbose_name_plural = _("run transitions")

    def __str__(self):
        return transition_text(self.from_state, self.to_state, RunState.choices)


class ReopeningState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved: year reopened")
    REFUSED = "refused", _("Refused")


class YearReopening(models.Model):
    """Finance's request to reopen a region's settlement year closed by its year-end run.

    Four eyes: one finance user requests it (with the reason), another approves it; approving
    marks the year-end run reopened and opens the year's capitation accounts again
    (services/closing.py). Nothing else reopens a closed year."""

    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="year_reopenings",
                               verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=10, choices=ReopeningState.choices,
                             default=ReopeningState.REQUESTED)
    year_end_run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="reopenings",
                                     verbose_name=_("year-end run reopened"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], condition=Q(state="requested"),
                                               name="stl_one_open_reopening_per_year")]
        permissions = [("reopen_settlement_year", _("Can request and approve the reopening of a closed settlement year"))]
        verbose_name = _("reopening of a settlement year")
        verbose_name_plural = _("reopenings of settlement years")

    def __str__(self):
        return f"{self.region_id} {self.year} ({self.get_state_display()})"


class StatementState(models.TextChoices):
    COMPUTED = "computed", _("Computed")
    RELEASED = "released", _("Released for payment")


class InstitutionSettlement(models.Model):
    """One institution's statement in one run (unique per run + institution).

    Monthly: head count, quota, actual and paid of the run's month; `adjustment` is what late
    visits of earlier months add; `payable = paid + adjustment`. Year-end: annual quota, annual
    actual, final; `payable = final − settled before` (negative: recovered).
    """

    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="statements", verbose_name=_("run"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="pool_statements",
                                    verbose_name=_("institution"))
    headcount = models.PositiveIntegerField(_("head count"), default=0,
                                            help_text=_("Year-end: person-months (sum of the monthly head counts)."))
    quota = money(_("quota"))
    actual = money(_("actual fund-payable"))
    paid = money(_("paid for the period"))
    adjustment = money(_("late-visit adjustment"))
    settled_before = money(_("settled before"))
    payable = money(_("payable"))
    visits_count = models.PositiveIntegerField(_("visits settled"), default=0)
    late_visits_count = models.PositiveIntegerField(_("late visits"), default=0)
    detail = models.JSONField(_("computation"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=StatementState.choices, default=StatementState.COMPUTED)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("released by"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    created_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-run__year", "-run__month", "institution__name"]
        constraints = [models.UniqueConstraint(fields=["run", "institution"], name="stl_statement_run_institution")]
        permissions = [("release_institutionsettlement", _("Can release capitation statements for payment"))]
        verbose_name = _("capitation statement")
        verbose_name_plural = _("capitation statements")

    def __str__(self):
        return f"{self.institution} {self.run.period}"


class InstitutionOperator(models.Model):
    """An outpatient-pool institution's account (its HIS or its clerk): the user sends and sees
    visits and sign-ups of this institution only, through the API and the admin."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="institution_operator",
                                verbose_name=_("user"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="operators",
                                    verbose_name=_("institution"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("institution operator")
        verbose_name_plural = _("institution operators")

    def __str__(self):
        return f"{self.user} @ {self.institution}"

    def clean(self):
        """A user operates one tenant only (issue #11 finding 4): not also a school."""
        from django.apps import apps
        from django.core.exceptions import ValidationError

        if self.user_id and apps.get_model("claims", "SchoolOperator").objects.filter(user_id=self.user_id).exists():
            raise ValidationError({"user": _("This user already operates a school; a user operates one tenant only.")})


class UploadKind(models.TextChoices):
    VISITS = "visits", _("Visits")
    SIGNUPS = "signups", _("Sign-up list")
    STAYS = "stays", _("Inpatient stays (direct settlement)")


class PoolUpload(CheckedUpload):
    """A visits or sign-up file uploaded in the admin: checked first (preview, nothing written),
    imported when confirmed (medins.uploads). The rows are kept so the confirmation imports what was previewed."""

    kind = models.CharField(_("kind"), max_length=10, choices=UploadKind.choices)
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="pool_uploads",
                                    verbose_name=_("institution"))
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, help_text=_("Sign-up lists only."))

    class Meta(CheckedUpload.Meta):
        verbose_name = _("visits or sign-up upload")
        verbose_name_plural = _("visits and sign-up uploads")

    def __str__(self):
        return f"{self.get_kind_display()} {self.filename}"


# --------------------------------------------------------------------------- certified outpatient visits


class CertifiedBenefit(models.TextChoices):
    """The certified outpatient benefits an institution is paid per visit (DOMAIN.md §4.1–4.4)."""

    CHRONIC = "chronic", _("Chronic disease (门诊慢性病)")
    SPECIAL_DISEASE = "special_disease", _("Special disease (门诊特殊疾病)")
    SPECIAL_DRUG = "special_drug", _("Special drug (门诊特药)")
    TWO_DISEASES = "two_diseases", _("Hypertension/diabetes (两病)")


class FeeBenefit(models.TextChoices):
    """What a fee-for-service statement pays: the certified outpatient benefits and direct
    inpatient settlement (住院直接结算, services/stays.py)."""

    CHRONIC = CertifiedBenefit.CHRONIC.value, CertifiedBenefit.CHRONIC.label
    SPECIAL_DISEASE = CertifiedBenefit.SPECIAL_DISEASE.value, CertifiedBenefit.SPECIAL_DISEASE.label
    SPECIAL_DRUG = CertifiedBenefit.SPECIAL_DRUG.value, CertifiedBenefit.SPECIAL_DRUG.label
    TWO_DISEASES = CertifiedBenefit.TWO_DISEASES.value, CertifiedBenefit.TWO_DISEASES.label
    INPATIENT = "inpatient", _("Inpatient, direct settlement (住院直接结算)")


class FeeAccount(models.Model):
    """An institution's intake account of certified visits for a year: what was received so far.

    Its row is the lock that serialises the certified-visit batches of one institution-year (the
    duplicate check runs under it, as PoolAccount's does for pool visits)."""

    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="fee_accounts",
                                    verbose_name=_("institution"))
    year = models.PositiveSmallIntegerField(_("year"))
    visits = models.PositiveIntegerField(_("visits received"), default=0)
    fund = money(_("fund payable received"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "year"], name="stl_fee_account_inst_year")]
        verbose_name = _("fee-for-service intake account")
        verbose_name_plural = _("fee-for-service intake accounts")

    def __str__(self):
        return f"{self.institution_id} {self.year}: {self.visits}"


class FeeStatement(models.Model):
    """The monthly fee-for-service statement of one institution and one certified benefit.

    payable = the fund of the visits behind it (CertifiedVisit.statement). Unique per institution,
    benefit, year and month; produced by a run (services/statements.py) and released by finance —
    never by whoever started the run — into a payment order (claims.services.payments)."""

    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, null=True, blank=True,
                            related_name="fee_statements", verbose_name=_("run"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="fee_statements",
                                    verbose_name=_("institution"))
    benefit = models.CharField(_("benefit"), max_length=20, choices=FeeBenefit.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    visits_count = models.PositiveIntegerField(_("visits"), default=0)
    late_visits_count = models.PositiveIntegerField(_("late visits (earlier months)"), default=0)
    total = money(_("total cost"))
    personal = money(_("personal"))
    payable = money(_("payable (fund)"))
    state = models.CharField(_("state"), max_length=10, choices=StatementState.choices, default=StatementState.COMPUTED)
    produced_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("produced by"))
    created_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("released by"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-year", "-month", "institution__name", "benefit"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "benefit", "year", "month"], name="stl_fee_statement_period"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="stl_fee_statement_month_valid"),
        ]
        indexes = [models.Index(fields=["year", "month", "benefit"], name="stl_fee_statement_period_idx")]
        permissions = [("release_feestatement", _("Can release fee-for-service statements for payment"))]
        verbose_name = _("fee-for-service statement")
        verbose_name_plural = _("fee-for-service statements")

    def __str__(self):
        return f"{self.institution} {self.year}-{self.month:02d} {self.get_benefit_display()}"

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def reference(self) -> str:
        """The payable's reference on the bank payment file (claims.services.payments)."""
        return f"JS{self.pk:08d}"


class CertifiedVisit(models.Model):
    """One certified outpatient visit (chronic, special disease, special drug, 两病) sent by an
    institution; (institution, visit_id) is unique. See services/certified.py for why these are
    not rows of Visit.

    As Visit: no database foreign keys on the hot columns, only the indexes something reads."""

    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="certified_visits",
                                    verbose_name=_("institution"), db_index=False, db_constraint=False)
    visit_id = models.CharField(_("visit number"), max_length=40)
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="certified_visits",
                               verbose_name=_("insured person"), db_index=False, db_constraint=False)
    benefit = models.CharField(_("benefit"), max_length=20, choices=CertifiedBenefit.choices)
    item_code = models.CharField(_("disease or drug"), max_length=60)
    certification = models.ForeignKey("certifications.Certification", on_delete=models.PROTECT, related_name="visits",
                                      verbose_name=_("certification"), db_index=False, db_constraint=False)
    level = models.CharField(_("level paid at"), max_length=30,
                             help_text=_("Special drugs: the approving hospital's level, also when a pharmacy dispenses."))
    # A fact the visit was paid on, kept as its level is: a recovery re-quotes with it, whatever the
    # person's assistance category has become since (Jinan 门规 waives the deductible).
    poverty_registered = models.BooleanField(_("registered poor household (建档立卡) when paid"), default=False)
    service_date = models.DateField(_("service date"))
    class_a = money(_("class A"))
    class_b = money(_("class B"))
    class_c = money(_("class C"))
    total = money(_("total"))
    first_copay = money(_("first self-pay"))
    eligible = money(_("eligible"))
    deductible = money(_("deductible"))
    fund = money(_("fund payable"))
    personal = money(_("personal"))
    policy_version = models.CharField(_("policy version"), max_length=40)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # Set once, by the statement that pays it (services/statements.py); never changed afterwards.
    statement = models.ForeignKey(FeeStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="visits",
                                  verbose_name=_("statement"), db_index=False, db_constraint=False)

    class Meta:
        ordering = ["-service_date", "-pk"]
        constraints = [models.UniqueConstraint(fields=["institution", "visit_id"],
                                               name="stl_certified_visit_id_per_institution")]
        indexes = [
            # What the next statement takes: a new visit enters this index only (both are partial).
            models.Index(fields=["institution", "benefit", "service_date"], condition=Q(statement__isnull=True),
                         name="stl_cvisit_unstated"),
            # The visits behind a statement; entered when the statement takes the visit.
            models.Index(fields=["statement", "service_date"], condition=Q(statement__isnull=False),
                         name="stl_cvisit_statement"),
        ]
        verbose_name = _("certified outpatient visit")
        verbose_name_plural = _("certified outpatient visits")

    def __str__(self):
        return self.visit_id


class InpatientStay(models.Model):
    """One discharged stay a hospital settled directly with the person (住院直接结算) and sent
    through the same way in as visits (services/stays.py); (institution, stay_id) is unique.

    The fund's share is the inpatient engine's quote against the yearly ledger; the hospital is
    paid it on its monthly fee-for-service statement of benefit `inpatient` (the month of
    discharge). The diagnosis, transfer flag and itemised lines are kept where the fund-security
    rules read them (claims.supervision SettlementDetail / SettlementLine, kind `inpatient_stay`)."""

    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, related_name="inpatient_stays",
                                    verbose_name=_("institution"))
    stay_id = models.CharField(_("stay number"), max_length=40)
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="inpatient_stays",
                               verbose_name=_("insured person"))
    admitted = models.DateField(_("admitted on"))
    discharged = models.DateField(_("discharged on"))
    level = models.CharField(_("level paid at"), max_length=30)
    diagnosis = models.CharField(_("diagnosis (ICD-10)"), max_length=10)
    transfer = models.BooleanField(_("approved transfer from another hospital"), default=False)
    class_a = money(_("class A"))
    class_b = money(_("class B"))
    class_c = money(_("class C"))
    total = money(_("total"))
    deductible = money(_("deductible"))
    fund = money(_("fund payable"))
    catastrophic = money(_("catastrophic supplement"))
    personal = money(_("personal"))
    policy_version = models.CharField(_("policy version"), max_length=40)
    quote = models.JSONField(_("computation"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # Set once, by the statement that pays it (services/statements.py); never changed afterwards.
    statement = models.ForeignKey(FeeStatement, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="stays", verbose_name=_("statement"))

    class Meta:
        ordering = ["-discharged", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "stay_id"], name="stl_stay_id_per_institution"),
            models.CheckConstraint(condition=Q(discharged__gte=models.F("admitted")), name="stl_stay_dates"),
        ]
        indexes = [
            models.Index(fields=["institution", "discharged"], condition=Q(statement__isnull=True),
                         name="stl_stay_unstated"),
            models.Index(fields=["person", "admitted"], name="stl_stay_person"),
            models.Index(fields=["received_at"], name="stl_stay_received"),
        ]
        verbose_name = _("direct inpatient settlement")
        verbose_name_plural = _("direct inpatient settlements")

    def __str__(self):
        return self.stay_id

    @property
    def amount_paid(self):
        """What the fund paid the hospital for the stay (pool fund and catastrophic supplement)."""
        return self.fund + self.catastrophic
