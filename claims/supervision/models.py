"""Fund-security findings, the supervision queue's records and the grey list (DOMAIN.md §9).

A finding names the settlements it judges generically, as (kind, id) rows of
:class:`FindingSettlement`: reimbursement cases (manual and school-batch cases are both
``claims.Case``), certified visits and pool visits (``claims.settlement``) and the residents'
lines of monthly care claims (``carecare.CareClaimLine``). A foreign key per kind is not possible
for care claims: carecare depends on claims, not the reverse (DESIGN.md layout).

Reading a finding for a recovery order: ``Finding.objects.filter(state="confirmed")`` and each
finding's ``settlements`` (kind, object_id, institution, person, fund); ``Finding.settlement_refs``
holds the same as the rules' ids ("case:12", "cv:3", "pv:7", "ltc:9", see ``refs.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .workflow import FindingState

MONEY = {"max_digits": 14, "decimal_places": 2}


class Rule(models.TextChoices):
    """The rules of contracts/fund-security.md (medins.fund_security), in the contract's order."""

    DUPLICATE_INVOICE = "duplicate_invoice", _("Duplicate invoice")
    BENEFIT_TWICE = "benefit_twice", _("Benefit enjoyed twice")
    THIRD_PARTY_NOT_DEDUCTED = "third_party_not_deducted", _("Third-party compensation not deducted")
    NOT_COVERED = "not_covered", _("Not covered on the service date")
    CERTIFICATION_MISMATCH = "certification_mismatch", _("No valid certification")
    GREY_LIST = "grey_list", _("Person on the grey list")
    OVERLAPPING_CARE = "overlapping_care", _("Overlapping care")
    SPLIT_ADMISSION = "split_admission", _("Split admission")
    BED_HOLDING = "bed_holding", _("Bed-holding")
    DUPLICATE_CHARGE = "duplicate_charge", _("Duplicate bed charge")
    EXCESS_PRESCRIPTION = "excess_prescription", _("Excess prescription")


class Severity(models.TextChoices):
    BLOCK = "block", _("Block (refused before payment)")
    REVIEW = "review", _("Review (after payment)")


class SettlementKind(models.TextChoices):
    CASE = "case", _("Reimbursement case")
    CERTIFIED_VISIT = "certified_visit", _("Certified outpatient visit")
    POOL_VISIT = "pool_visit", _("Outpatient-pool visit")
    CARE_CLAIM_LINE = "care_claim_line", _("Care claim (resident's month)")
    INPATIENT_STAY = "inpatient_stay", _("Direct inpatient settlement")


class RunState(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class CheckRun(models.Model):
    """One nightly run of the review rules over one region's day of settlements (unique per
    region and day; a second run of the same day updates the row and writes no duplicate finding)."""

    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    day = models.DateField(_("settlements of"))
    state = models.CharField(_("state"), max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    policy_version = models.CharField(_("policy version"), max_length=40, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    runs = models.PositiveIntegerField(_("times run"), default=1)
    settlements = models.PositiveIntegerField(_("settlements of the day"), default=0)
    history_settlements = models.PositiveIntegerField(_("history settlements read"), default=0)
    findings_new = models.PositiveIntegerField(_("new findings"), default=0)
    findings_known = models.PositiveIntegerField(_("findings already recorded"), default=0)
    undecided = models.JSONField(_("undecided (rule: count)"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-day", "region"]
        constraints = [models.UniqueConstraint(fields=["region", "day"], name="sup_run_region_day")]
        verbose_name = _("nightly fund-security check")
        verbose_name_plural = _("nightly fund-security checks")

    def __str__(self):
        return f"{self.region_id} {self.day}"


class Finding(models.Model):
    """What one rule found on one set of settlements (contracts/fund-security.md response).

    ``key`` is the SHA-256 of rule + the sorted settlement refs: the same rule on the same
    settlements is one finding, however often the job runs."""

    key = models.CharField(_("key"), max_length=64, unique=True, editable=False)
    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    rule = models.CharField(_("rule"), max_length=40, choices=Rule.choices)
    rule_version = models.CharField(_("rule version"), max_length=40,
                                    help_text=_("The policy version of the fund_security parameters applied."))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    settlement_refs = models.JSONField(_("settlements"), default=list)
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("institution"))
    persons = models.ManyToManyField("enrollment.Person", related_name="fund_findings", verbose_name=_("insured persons"))
    month = models.DateField(_("month"), help_text=_("The first day of the month of the settlements' service."))
    service_date = models.DateField(_("service date"))
    evidence = models.TextField(_("evidence"))
    # The settlements' facts as the rules saw them (the request's records), shown side by side.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    suggested_amount = models.DecimalField(_("suggested amount"), null=True, blank=True, **MONEY,
                                           help_text=_("The fund paid on the settlement questioned: an upper "
                                                       "bound; a recovery re-quotes the settlements."))
    state = models.CharField(_("state"), max_length=30, choices=FindingState.choices, default=FindingState.OPEN,
                             db_index=True)
    run = models.ForeignKey(CheckRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="findings",
                            verbose_name=_("found by"))
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("second confirmation by"))
    approved_at = models.DateTimeField(_("second confirmation at"), null=True, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("dismissed by"))
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)
    dismissal_reason = models.TextField(_("dismissal reason"), blank=True)
    history = HistoricalRecords(excluded_fields=["facts"])

    class Meta:
        ordering = ["-service_date", "-pk"]
        indexes = [
            models.Index(fields=["state", "rule", "month"], name="sup_finding_queue"),
            models.Index(fields=["institution", "month"], name="sup_finding_institution"),
        ]
        permissions = [("confirm_finding", _("Can confirm or dismiss fund-security findings"))]
        verbose_name = _("fund-security finding")
        verbose_name_plural = _("fund-security findings")

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"JG{self.pk:08d}" if self.pk else "JG—"


class FindingSettlement(models.Model):
    """One settlement a finding names: (kind, object_id), with who received the money."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="settlements", verbose_name=_("finding"))
    kind = models.CharField(_("kind"), max_length=20, choices=SettlementKind.choices)
    object_id = models.BigIntegerField(_("record id"))
    ref = models.CharField(_("reference"), max_length=40)
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("insured person"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("institution"))
    via = models.CharField(_("settled"), max_length=10, blank=True)
    service_date = models.DateField(_("service date"), null=True, blank=True)
    total = models.DecimalField(_("total"), null=True, blank=True, **MONEY)
    fund = models.DecimalField(_("fund paid"), null=True, blank=True, **MONEY)

    class Meta:
        ordering = ["finding", "ref"]
        constraints = [models.UniqueConstraint(fields=["finding", "kind", "object_id"], name="sup_finding_settlement")]
        indexes = [models.Index(fields=["kind", "object_id"], name="sup_fs_kind_object")]
        verbose_name = _("settlement of a finding")
        verbose_name_plural = _("settlements of findings")

    def __str__(self):
        return self.ref


class FindingTransition(models.Model):
    """Who moved the finding from which state to which, when and why (medins.workflow.Record)."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("finding"))
    from_state = models.CharField(_("from"), max_length=30, choices=FindingState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=30, choices=FindingState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["finding", "at", "pk"]
        verbose_name = _("finding transition")
        verbose_name_plural = _("finding transitions")

    def __str__(self):
        return f"{self.get_from_state_display() or '—'} → {self.get_to_state_display()}"


class GreyListEntry(models.Model):
    """A person's direct settlement suspended for a period (灰名单, DOMAIN.md §9, research A5-5:
    3–12 months). The ``grey_list`` rule (block) refuses direct settlements whose service date lies
    in the period; manual claims remain possible."""

    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="grey_list_entries",
                               verbose_name=_("insured person"))
    from_date = models.DateField(_("suspended from"))
    to_date = models.DateField(_("suspended until (inclusive)"))
    reason = models.TextField(_("reason"))
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("finding"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("put on the list by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-from_date", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(to_date__gte=models.F("from_date")), name="sup_grey_list_period")]
        indexes = [models.Index(fields=["person", "from_date"], name="sup_grey_person_from")]
        verbose_name = _("grey-list entry")
        verbose_name_plural = _("grey list")

    def __str__(self):
        return f"{self.person_id}: {self.from_date}–{self.to_date}"


class SettlementDetail(models.Model):
    """What an institution or clerk provides beyond the settlement record itself, for the rules
    that need it (issue 15 item 1): a stay's ICD-10 diagnosis and transfer flag. Absent: the rule
    is undecided on that settlement."""

    kind = models.CharField(_("kind"), max_length=20, choices=SettlementKind.choices)
    object_id = models.BigIntegerField(_("record id"))
    diagnosis = models.CharField(_("diagnosis (ICD-10)"), max_length=10, blank=True)
    transfer = models.BooleanField(_("approved transfer from another hospital"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="sup_detail_kind_object")]
        verbose_name = _("settlement detail")
        verbose_name_plural = _("settlement details")

    def __str__(self):
        return f"{self.kind}:{self.object_id} {self.diagnosis}"


class LineKind(models.TextChoices):
    BED = "bed", _("Bed")
    NURSING = "nursing", _("Nursing")
    MEAL = "meal", _("Meal")
    DRUG = "drug", _("Drug")
    EXAM = "exam", _("Examination")
    TREATMENT = "treatment", _("Treatment")
    MATERIAL = "material", _("Material")
    CARE = "care", _("Care")
    OTHER = "other", _("Other")


class SettlementLine(models.Model):
    """One itemised cost line (费用明细) of a settlement, when provided: what bed-holding, duplicate
    charges and excess prescriptions read. A settlement without lines is not itemised: those rules
    leave it undecided (it is not "a stay with no line at all")."""

    kind = models.CharField(_("kind"), max_length=20, choices=SettlementKind.choices)
    object_id = models.BigIntegerField(_("record id"))
    date = models.DateField(_("date"))
    item = models.CharField(_("catalogue item"), max_length=40)
    line_kind = models.CharField(_("line kind"), max_length=10, choices=LineKind.choices)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount"), **MONEY)
    drug = models.CharField(_("drug"), max_length=40, blank=True)
    days_supply = models.PositiveSmallIntegerField(_("days of supply"), null=True, blank=True)
    # A, B or C (甲乙丙类) when the sender gives it (direct inpatient stays): a correction then takes
    # a removed line off its own class of the bill.
    cost_class = models.CharField(_("catalogue class"), max_length=1, blank=True)

    class Meta:
        ordering = ["kind", "object_id", "date", "pk"]
        indexes = [models.Index(fields=["kind", "object_id"], name="sup_line_kind_object")]
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")

    def __str__(self):
        return f"{self.kind}:{self.object_id} {self.date} {self.item}"


# --------------------------------------------------------------------------- recovery (追回, DOMAIN.md §9)


class RecoveryKind(models.TextChoices):
    RECOVERY = "recovery", _("Recovery to the fund")
    REFUND = "refund", _("Refund to the insured person")


class RecoveryState(models.TextChoices):
    OPEN = "open", _("Outstanding")
    WRITE_OFF_PENDING = "write_off_pending", _("Write-off awaiting approval")
    SETTLED = "settled", _("Settled")
    WRITTEN_OFF = "written_off", _("Written off")


class RecoveryOrder(models.Model):
    """What a confirmed finding orders to be paid back (issue 15 item 4): the difference between
    what was paid and the re-quote of the settlements as they should have been — never typed.

    ``recovery``: the party that received the money (the institution for direct settlements, the
    person for manual claims) owes the fund. ``refund``: the person overpaid, the institution owes
    the person. ``outstanding`` falls as the order is offset against the debtor institution's next
    payments (:class:`RecoveryOffset`) or repaid; a write-off needs an approver (four eyes)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="recovery_orders",
                                verbose_name=_("finding"))
    kind = models.CharField(_("kind"), max_length=10, choices=RecoveryKind.choices)
    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    rule = models.CharField(_("rule"), max_length=40, choices=Rule.choices)
    month = models.DateField(_("month"), help_text=_("The month of the finding's settlements."))
    debtor_institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("debtor institution"))
    debtor_person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("debtor person"))
    creditor_person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("refund to (insured person)"))
    amount = models.DecimalField(_("amount"), **MONEY)
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    fund_paid = models.DecimalField(_("fund paid"), **MONEY)
    fund_due = models.DecimalField(_("fund should have paid"), **MONEY)
    person_paid = models.DecimalField(_("person paid"), **MONEY)
    person_due = models.DecimalField(_("person should have paid"), **MONEY)
    correction = models.TextField(_("correction"), blank=True)
    breakdown = models.JSONField(_("re-quote"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=RecoveryState.choices, default=RecoveryState.OPEN,
                             db_index=True)
    repaid_reference = models.CharField(_("repayment reference"), max_length=80, blank=True)
    fine_reference = models.CharField(_("fine decision reference"), max_length=120, blank=True,
                                      help_text=_("Fines are decided by the administrative department: only their "
                                                  "reference is recorded here."))
    write_off_reason = models.TextField(_("write-off reason"), blank=True)
    write_off_requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                               blank=True, related_name="+", verbose_name=_("write-off requested by"))
    written_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("write-off approved by"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["breakdown"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["finding", "kind"], name="sup_recovery_finding_kind"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(outstanding__gte=0) & Q(outstanding__lte=models.F("amount")),
                                   name="sup_recovery_amounts"),
            models.CheckConstraint(condition=Q(debtor_institution__isnull=False) | Q(debtor_person__isnull=False),
                                   name="sup_recovery_has_debtor"),
        ]
        indexes = [models.Index(fields=["debtor_institution", "state"], name="sup_recovery_debtor"),
                   models.Index(fields=["rule", "month"], name="sup_recovery_rule_month")]
        permissions = [("record_repayment", _("Can record the repayment of a recovery order")),
                       ("approve_write_off", _("Can approve the write-off of a recovery order"))]
        verbose_name = _("recovery order")
        verbose_name_plural = _("recovery orders")

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"ZH{self.pk:08d}" if self.pk else "ZH—"

    @property
    def debtor(self):
        return self.debtor_institution or self.debtor_person


class RecoveryOffset(models.Model):
    """Part of a recovery order taken from one payable of the debtor institution (a fee statement,
    a care claim: the payment order's source), recorded on both sides. One row per order and
    payable: ordering the payable again (after a failed payment) re-applies it, never twice."""

    order = models.ForeignKey(RecoveryOrder, on_delete=models.PROTECT, related_name="offsets",
                              verbose_name=_("recovery order"))
    source_kind = models.CharField(_("payable"), max_length=20)
    source_id = models.BigIntegerField(_("payable id"))
    payment_order = models.ForeignKey("claims.PaymentOrder", on_delete=models.PROTECT, related_name="recovery_offsets",
                                      verbose_name=_("payment order"))
    amount = models.DecimalField(_("amount offset"), **MONEY)
    created_at = models.DateTimeField(_("offset at"), auto_now_add=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "source_kind", "source_id"], name="sup_offset_once_per_payable"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="sup_offset_positive"),
        ]
        indexes = [models.Index(fields=["source_kind", "source_id"], name="sup_offset_payable")]
        verbose_name = _("recovery offset")
        verbose_name_plural = _("recovery offsets")

    def __str__(self):
        return f"{self.order} −{self.amount}"
