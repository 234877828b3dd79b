"""Manual reimbursement cases (手工报销, DOMAIN.md §6), school batches and payment orders."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from enrollment.idnumber import mask
from medins.models import InstitutionLevel
from medins.workflow import transition_text

from .workflow import CaseState

MONEY = {"max_digits": 14, "decimal_places": 2}


class Benefit(models.TextChoices):
    """The benefit of the quote engine a case type is computed with (contracts/quote.md)."""

    INPATIENT = "inpatient", _("Inpatient")
    DAY_SURGERY = "day_surgery", _("Day surgery")
    MATERNITY = "maternity", _("Maternity lump sum")
    ACCIDENT = "accident", _("Accidental injury")
    SPECIAL_DRUG = "special_drug", _("Special drug")
    CHRONIC = "chronic", _("Outpatient chronic disease")
    SPECIAL_DISEASE = "special_disease", _("Outpatient special disease")
    OUTPATIENT_POOL = "outpatient_pool", _("Outpatient pool")
    EXTERNAL = "external", _("Paid by the contracted insurer (not computed here)")


class Delivery(models.TextChoices):
    VAGINAL = "vaginal", _("Vaginal delivery")
    VAGINAL_EPISIOTOMY = "vaginal_episiotomy", _("Vaginal with episiotomy")
    ASSISTED_VAGINAL = "assisted_vaginal", _("Assisted vaginal delivery")
    CAESAREAN = "caesarean", _("Caesarean")
    CAESAREAN_WITH_SURGERY = "caesarean_with_surgery", _("Caesarean with other surgery")
    ABORTION = "abortion", _("Abortion (college students)")
    INDUCED_LABOUR = "induced_labour", _("Induced labour (college students)")


class CaseType(models.Model):
    """A kind of manual case of a region (policy data, editable by the policy administrator)."""

    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="case_types", verbose_name=_("region"))
    code = models.CharField(_("code"), max_length=60)
    number = models.PositiveSmallIntegerField(_("number in the rules"), default=0)
    name = models.CharField(_("name"), max_length=80)
    condition = models.TextField(_("condition"), blank=True)
    benefit = models.CharField(_("computed with benefit"), max_length=30, choices=Benefit.choices)
    flags = models.JSONField(_("quote flags"), default=list, blank=True,
                             help_text=_("Flags passed to the quote, e.g. out_of_area_emergency."))
    source = models.CharField(_("source"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["region__code", "number", "code"]
        constraints = [models.UniqueConstraint(fields=["region", "code"], name="claims_uniq_case_type_code")]
        verbose_name = _("case type")
        verbose_name_plural = _("case types")

    def __str__(self):
        return self.name


class CaseTypeMaterial(models.Model):
    """A material required for a case type (from the 手工报销 table of the Jinan seed)."""

    case_type = models.ForeignKey(CaseType, on_delete=models.CASCADE, related_name="materials", verbose_name=_("case type"))
    code = models.CharField(_("code"), max_length=60)
    name = models.CharField(_("material"), max_length=120)
    provided_by_hospital = models.BooleanField(_("provided by the hospital"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["case_type", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["case_type", "code"], name="claims_uniq_type_material")]
        verbose_name = _("required material")
        verbose_name_plural = _("required materials")

    def __str__(self):
        return self.name


class SchoolOperator(models.Model):
    """A school's insurance officer account: the user sees only this school's data."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="school_operator",
                                verbose_name=_("user"))
    school = models.ForeignKey("enrollment.School", on_delete=models.PROTECT, related_name="operators", verbose_name=_("school"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("school operator")
        verbose_name_plural = _("school operators")

    def __str__(self):
        return f"{self.user} @ {self.school}"

    def clean(self):
        """A user operates one tenant only (issue #11 finding 4): not also an institution."""
        from django.apps import apps
        from django.core.exceptions import ValidationError

        if self.user_id and apps.get_model("settlement", "InstitutionOperator").objects.filter(user_id=self.user_id).exists():
            raise ValidationError({"user": _("This user already operates an institution; a user operates one tenant only.")})


class BatchSource(models.TextChoices):
    API = "api", _("API")
    UPLOAD = "upload", _("File upload")


class Batch(models.Model):
    """One school submission; the client's batch id makes a retried request a no-op."""

    school = models.ForeignKey("enrollment.School", on_delete=models.PROTECT, related_name="claim_batches", verbose_name=_("school"))
    client_batch_id = models.CharField(_("client batch id"), max_length=80)
    source = models.CharField(_("source"), max_length=10, choices=BatchSource.choices)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    accepted_rows = models.PositiveIntegerField(_("accepted"), default=0)
    rejected_rows = models.PositiveIntegerField(_("rejected"), default=0)
    report = models.JSONField(_("row report"), default=list, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["school", "client_batch_id"], name="claims_uniq_batch_id")]
        verbose_name = _("school batch")
        verbose_name_plural = _("school batches")

    def __str__(self):
        return f"{self.school} · {self.client_batch_id}"


class Case(models.Model):
    """A manual reimbursement case (手工报销)."""

    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases", verbose_name=_("case type"))
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="claim_cases",
                               verbose_name=_("insured person"))
    school = models.ForeignKey("enrollment.School", on_delete=models.PROTECT, null=True, blank=True, related_name="claim_cases",
                               verbose_name=_("submitted by school"))
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("batch"))
    state = models.CharField(_("state"), max_length=30, choices=CaseState.choices, default=CaseState.RECEIVED, db_index=True)
    service_from = models.DateField(_("service from"))
    service_to = models.DateField(_("service to"))
    institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True, related_name="claim_cases",
                                    verbose_name=_("designated institution"))
    institution_name = models.CharField(_("institution (not designated / out of area)"), max_length=120, blank=True)
    institution_level = models.CharField(_("institution level"), max_length=30, choices=InstitutionLevel.choices)
    delivery = models.CharField(_("delivery"), max_length=30, choices=Delivery.choices, blank=True)
    third_party_paid = models.DecimalField(_("third-party compensation received"), default=0, **MONEY)
    lost_invoice_promise = models.BooleanField(
        _("written promise not to claim twice"), default=False,
        help_text=_("Required when an invoice is replaced by a sealed stub copy (lost invoice)."))
    bank_account = models.CharField(_("bank account"), max_length=32)
    note = models.TextField(_("note"), blank=True)

    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("reviewed by"))
    calculated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                      verbose_name=_("calculated by"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("approved by"))
    # HMAC of what approval committed to pay (amount, payee, account): the payment job pays a case
    # only while it still matches (services/payments.py), so nothing changed after approval is paid.
    approval_digest = models.CharField(_("approval digest"), max_length=64, blank=True, editable=False)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    reason = models.TextField(_("reason of the last decision"), blank=True)

    policy_version = models.CharField(_("policy version"), max_length=40, blank=True)
    breakdown = models.JSONField(_("calculation"), null=True, blank=True)
    fund_amount = models.DecimalField(_("fund pays"), null=True, blank=True, **MONEY)
    catastrophic_amount = models.DecimalField(_("catastrophic supplement pays"), null=True, blank=True, **MONEY)
    payable_amount = models.DecimalField(_("amount to pay"), null=True, blank=True, **MONEY)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["state", "received_at"], name="claims_case_state_received")]
        verbose_name = _("reimbursement case")
        verbose_name_plural = _("reimbursement cases")
        permissions = [("approve_case", _("Can approve reimbursement cases"))]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"BX{self.pk:08d}" if self.pk else "BX—"

    @property
    def masked_bank_account(self) -> str:
        return mask(self.bank_account)

    @property
    def institution_display(self) -> str:
        return self.institution.name if self.institution_id else self.institution_name


class InvoiceKind(models.TextChoices):
    ORIGINAL = "original", _("Original invoice")
    STUB_COPY = "stub_copy", _("Sealed stub copy / cost certificate (lost invoice)")


class Invoice(models.Model):
    """One invoice of a case. An invoice (issuer + number) is claimed by at most one live case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="invoices", verbose_name=_("case"))
    issuer = models.CharField(_("issuer"), max_length=120)
    number = models.CharField(_("invoice number"), max_length=60)
    issued_on = models.DateField(_("invoice date"))
    kind = models.CharField(_("kind"), max_length=20, choices=InvoiceKind.choices, default=InvoiceKind.ORIGINAL)
    class_a = models.DecimalField(_("class A"), default=0, **MONEY)
    class_b = models.DecimalField(_("class B"), default=0, **MONEY)
    class_c = models.DecimalField(_("class C"), default=0, **MONEY)
    # False once the case is rejected or withdrawn: the invoice may then be claimed again.
    claimed = models.BooleanField(_("claimed"), default=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "issued_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "number"], condition=Q(claimed=True), name="claims_invoice_claimed_once"),
            models.CheckConstraint(condition=Q(class_a__gte=0, class_b__gte=0, class_c__gte=0), name="claims_invoice_amounts_positive"),
        ]
        indexes = [models.Index(fields=["issuer", "number"], name="claims_invoice_issuer_number")]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")

    def __str__(self):
        return f"{self.issuer} {self.number}"

    @property
    def total(self):
        return (self.class_a or 0) + (self.class_b or 0) + (self.class_c or 0)


class CaseMaterial(models.Model):
    """One line of the case's checklist of materials."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials", verbose_name=_("case"))
    code = models.CharField(_("code"), max_length=60)
    name = models.CharField(_("material"), max_length=120)
    received = models.BooleanField(_("received"), default=False)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["case", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "code"], name="claims_uniq_case_material")]
        verbose_name = _("material")
        verbose_name_plural = _("materials (checklist)")

    def __str__(self):
        return self.name


class Attachment(models.Model):
    """A scanned material sent with the case (school API)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("case"))
    material_code = models.CharField(_("material"), max_length=60, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    content = models.BinaryField(_("content"), editable=False)
    size = models.PositiveIntegerField(_("size"), default=0)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["case", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.filename


class CaseTransition(models.Model):
    """Who moved the case from which state to which, when and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("case"))
    from_state = models.CharField(_("from"), max_length=30, choices=CaseState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=30, choices=CaseState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["case", "at", "pk"]
        verbose_name = _("case transition")
        verbose_name_plural = _("case transitions")

    def __str__(self):
        return transition_text(self.from_state, self.to_state, self._meta.get_field("to_state").choices)


class MaterialsNotice(models.Model):
    """The one-time notice (一次性告知) listing every missing material at once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notices", verbose_name=_("case"))
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by"))
    missing = models.JSONField(_("missing materials"), default=list)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["case", "-issued_at", "-pk"]
        verbose_name = _("materials notice")
        verbose_name_plural = _("materials notices")

    def __str__(self):
        # the agency's date (Asia/Shanghai), as the printed notice shows it: not the UTC date (issue #14)
        return f"{self.case.number if self.case_id else ''} · {timezone.localtime(self.issued_at):%Y-%m-%d}" \
            if self.issued_at else "notice"


class PaymentFileStatus(models.TextChoices):
    CREATED = "created", _("Created, sent to the bank")
    RESULT_IMPORTED = "result_imported", _("Bank result imported")


class PaymentFile(models.Model):
    """The bank payment file of one day (also the run row of the nightly job)."""

    # Labelled in the bank payment's own words: "payment date" / "total" alone read 缴费日期 (a
    # contribution) and 医疗费总额 (a bill) from other apps' catalogues (issue #14 item 2).
    pay_date = models.DateField(pgettext_lazy("bank payment file", "payment date"), unique=True)
    status = models.CharField(_("status"), max_length=20, choices=PaymentFileStatus.choices, default=PaymentFileStatus.CREATED)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_amount = models.DecimalField(pgettext_lazy("bank payment file", "total"), default=0, **MONEY)
    content = models.TextField(_("file content (CSV)"), blank=True)
    # Approved cases the job did not pay because what they would pay no longer matches what was
    # approved: [{"case": number, "reason": …}].
    held = models.JSONField(_("cases held back"), default=list, blank=True)

    class Meta:
        ordering = ["-pay_date"]
        verbose_name = _("bank payment file")
        verbose_name_plural = _("bank payment files")
        permissions = [("import_bank_result", _("Can import the bank's payment result file")),
                       ("run_payment_job", _("Can run the payment-order job"))]

    def __str__(self):
        return f"{self.pay_date}"


class PaymentOrderStatus(models.TextChoices):
    ORDERED = "ordered", _("Ordered")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class PaymentOrder(models.Model):
    """One bank payment: of one case (to the insured person), or of one institution payable (a
    released fee-for-service statement, later a care-home claim) to the institution.

    Exactly one payee: `case`, or `payee_institution` with the payable it pays (`source_kind`,
    `source_id`). A case, and a payable, has at most one order that is not failed. An order is
    created without a file and joins the next day's bank payment file (services/payments.py)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="payment_orders",
                             verbose_name=_("case"))
    payee_institution = models.ForeignKey("medins.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="payment_orders", verbose_name=_("payee institution"))
    source_kind = models.CharField(_("payable"), max_length=20, blank=True,
                                   help_text=_("What an institution is paid for, e.g. fee_statement."))
    source_id = models.BigIntegerField(_("payable id"), null=True, blank=True)
    payment_file = models.ForeignKey(PaymentFile, on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
                                     verbose_name=_("payment file"))
    amount = models.DecimalField(_("amount"), **MONEY)
    bank_account = models.CharField(_("bank account"), max_length=40)
    account_name = models.CharField(_("account holder"), max_length=120)
    status = models.CharField(_("status"), max_length=10, choices=PaymentOrderStatus.choices, default=PaymentOrderStatus.ORDERED)
    bank_message = models.CharField(_("bank message"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=~Q(status="failed"), name="claims_one_live_order_per_case"),
            models.UniqueConstraint(fields=["source_kind", "source_id"], condition=~Q(status="failed") & ~Q(source_kind=""),
                                    name="claims_one_live_order_per_payable"),
            # Exactly one payee: a case, or an institution with the payable it pays.
            models.CheckConstraint(
                condition=(Q(case__isnull=False, payee_institution__isnull=True, source_kind="", source_id__isnull=True)
                           | (Q(case__isnull=True, payee_institution__isnull=False, source_id__isnull=False)
                              & ~Q(source_kind=""))),
                name="claims_order_exactly_one_payee"),
        ]
        indexes = [models.Index(fields=["payee_institution", "status"], name="claims_order_institution")]
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")

    def __str__(self):
        return f"ZF{self.pk:08d}" if self.pk else "ZF—"

    @property
    def masked_bank_account(self) -> str:
        return mask(self.bank_account)
