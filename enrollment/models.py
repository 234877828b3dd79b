"""Insured persons, schools, payments, coverage periods and stops (DOMAIN §1)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from medins.selectors import policy_in_force

from .idnumber import IdNumberError, mask, normalize, parse_id_number
from .messages import localized
from .preview import CategoryAges, category_ages, category_on


def validate_id_number(value: str) -> None:
    try:
        parse_id_number(value)
    except IdNumberError as exc:
        raise ValidationError(_("Invalid ID number: %(reason)s"), params={"reason": localized(exc)}, code="id_number") from exc


class SchoolKind(models.TextChoices):
    PRIMARY_SECONDARY = "primary_secondary", _("Primary or secondary school")
    COLLEGE = "college", _("College or university")


class School(models.Model):
    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="schools", verbose_name=_("region"))
    code = models.CharField(_("school code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=SchoolKind.choices)

    class Meta:
        ordering = ["region__code", "name"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")

    def __str__(self):
        return self.name


class Assistance(models.TextChoices):
    EXTREME_POVERTY = "extreme_poverty", _("Extreme poverty support (特困)")
    MINIMUM_LIVING = "minimum_living", _("Minimum living allowance (低保)")
    REGISTERED_POOR = "registered_poor", _("Registered poor household (建档立卡)")


def is_poverty_registered(assistance: str) -> bool:
    """The engine's `person.poverty_registered` (contracts/quote.md): a registered poor household
    (建档立卡贫困人口, whom Jinan's 门规 charges no deductible: DOMAIN.md §4.2). Decision: the
    category as recorded on the person when the settlement is computed (the system keeps no dated
    history of it beyond the audit trail); 特困 and 低保 are other assistance categories."""
    return assistance == Assistance.REGISTERED_POOR


class Category(models.TextChoices):
    """DOMAIN §1 person category on a date (derived from birth date and school, never stored on the person)."""

    ADULT = "adult", _("Adult")
    MINOR = "minor", _("Minor")
    STUDENT = "student", _("Student")
    COLLEGE_STUDENT = "college_student", _("College student")
    NEWBORN = "newborn", _("Newborn")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Person(models.Model):
    """An insured person (参保人). Birth date and sex are read from the ID number."""

    id_number = models.CharField(_("ID number"), max_length=18, unique=True, validators=[validate_id_number])
    # The ID number reversed: a prefix search on it is an indexed search by the last digits.
    id_reversed = models.CharField(max_length=18, unique=True, editable=False)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, editable=False)
    birth_date = models.DateField(_("birth date"), editable=False, db_index=True)
    region = models.ForeignKey("medins.Region", on_delete=models.PROTECT, related_name="persons", verbose_name=_("region"))
    community = models.CharField(_("community / village"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=32, blank=True)
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="students", verbose_name=_("school")
    )
    assistance = models.CharField(_("assistance category"), max_length=20, choices=Assistance.choices, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["id_reversed"])

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("insured person")
        verbose_name_plural = _("insured persons")
        permissions = [("reveal_personal_data", _("Can see full ID numbers and bank accounts"))]

    def __str__(self):
        return f"{self.name} {self.masked_id_number}"

    def save(self, *args, **kwargs):
        self.derive_from_id_number()
        super().save(*args, **kwargs)

    @property
    def poverty_registered(self) -> bool:
        return is_poverty_registered(self.assistance)

    def clean(self):
        if self.school_id and self.region_id and self.school.region_id != self.region_id:
            raise ValidationError({"school": _("The school is not in the person's region.")})

    def derive_from_id_number(self) -> None:
        """Fill birth date, sex and the search column from the (validated) ID number."""
        self.id_number = normalize(self.id_number)
        parsed = parse_id_number(self.id_number)
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex
        self.id_reversed = self.id_number[::-1]

    @property
    def masked_id_number(self) -> str:
        return mask(self.id_number)

    @property
    def masked_bank_account(self) -> str:
        return mask(self.bank_account)

    @property
    def school_kind(self) -> str | None:
        return self.school.kind if self.school_id else None

    def category_on(self, day: dt.date, *, ages: CategoryAges | None = None) -> str:
        """DOMAIN §1 category on `day`, with the age boundaries of the policy in force for the
        person's region that day (a missing one raises MissingParameter naming it). Pass `ages`
        when categorising many persons, so the policy is read once."""
        if ages is None:
            ages = category_ages(policy_in_force(region=self.region.code, date=day))
        return category_on(birth_date=self.birth_date, day=day, school_kind=self.school_kind, ages=ages)


class PaymentSource(models.TextChoices):
    TAX_FILE = "tax_file", _("Tax bureau file")
    MANUAL = "manual", _("Entered by a clerk")
    API = "api", _("API")


class PaymentStatus(models.TextChoices):
    RECORDED = "recorded", _("Recorded")
    REFUNDED = "refunded", _("Refunded")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed, awaiting confirmation")
    DONE = "done", _("Imported")
    EXPIRED = "expired", _("Preview expired, not imported")


class PaymentImport(models.Model):
    """One upload of a tax bureau payment file: the run row (counts and every row's problem)."""

    filename = models.CharField(_("file name"), max_length=200)
    content = models.BinaryField(_("file content"), editable=False)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    imported_rows = models.PositiveIntegerField(_("imported"), default=0)
    duplicate_rows = models.PositiveIntegerField(_("already imported"), default=0)
    error_rows = models.PositiveIntegerField(_("rows with errors"), default=0)
    errors = models.JSONField(_("row errors"), default=list, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("payment file import")
        verbose_name_plural = _("payment file imports")

    def __str__(self):
        return f"{self.filename} ({timezone.localtime(self.uploaded_at):%Y-%m-%d %H:%M})" if self.uploaded_at else self.filename


class StopReason(models.TextChoices):
    JOINED_EMPLOYEE_INSURANCE = "joined_employee_insurance", _("Joined employee insurance")
    DEATH = "death", _("Death")
    JOINED_OTHER_REGION = "joined_other_region", _("Moved: joined another region's resident insurance")
    OTHER = "other", _("Other")


class Stop(models.Model):
    """A stop of cover (停保): cover ends on the stop date."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="stops", verbose_name=_("insured person"))
    reason = models.CharField(_("reason"), max_length=30, choices=StopReason.choices)
    stop_date = models.DateField(_("stop date"), help_text=_("Cover ends on this date."))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-stop_date", "-pk"]
        verbose_name = _("stop of cover")
        verbose_name_plural = _("stops of cover")

    def __str__(self):
        return f"{self.person.name} {self.stop_date} {self.get_reason_display()}"


class Payment(models.Model):
    """A contribution paid through the tax bureau; the receipt number is unique (idempotent import)."""

    receipt_number = models.CharField(_("receipt number"), max_length=40, unique=True)
    # no index of its own: enr_payment_person_paid (person, paid_on) serves lookups by person
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="payments", verbose_name=_("insured person"),
                               db_index=False)
    paid_on = models.DateField(_("payment date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    newborn_registration = models.BooleanField(_("newborn registration"), default=False)
    policy_version = models.CharField(_("policy version"), max_length=40)
    source = models.CharField(_("source"), max_length=20, choices=PaymentSource.choices)
    payment_import = models.ForeignKey(
        PaymentImport, on_delete=models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("file import")
    )
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.RECORDED)
    refund_stop = models.ForeignKey(
        Stop, on_delete=models.PROTECT, null=True, blank=True, related_name="refunded_payments", verbose_name=_("refunded on stop")
    )
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # History is read by payment (id) and by person (the person page's change log): the other
    # copied indexes only slowed the tax-file import down, as did checking the author's foreign
    # key once per history row at commit (the author is a login user: users are deactivated,
    # not deleted).
    history = HistoricalRecords(no_db_index=["receipt_number", "payment_import", "refund_stop"], user_db_constraint=False)

    class Meta:
        ordering = ["-paid_on", "-pk"]
        indexes = [models.Index(fields=["person", "paid_on"], name="enr_payment_person_paid")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="enr_payment_amount_not_negative")]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self):
        return self.receipt_number


class CoverageStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled before it started")


class CoveragePeriod(models.Model):
    """Days of cover one payment bought within one benefit year (the contribution year)."""

    # no index of its own: enr_cover_person_dates (person, covered_from, covered_to) serves lookups by person
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="coverage_periods", verbose_name=_("insured person"),
                               db_index=False)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="periods", verbose_name=_("payment")
    )
    benefit_year = models.PositiveSmallIntegerField(_("benefit year"))
    covered_from = models.DateField(_("covered from"))
    covered_to = models.DateField(_("covered to"))
    waiting = models.BooleanField(_("after a waiting period"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=CoverageStatus.choices, default=CoverageStatus.ACTIVE)
    stop = models.ForeignKey(
        Stop, on_delete=models.PROTECT, null=True, blank=True, related_name="periods", verbose_name=_("ended by stop")
    )
    # read by id and by person; no foreign-key check of the author (see Payment.history)
    history = HistoricalRecords(no_db_index=["payment", "stop"], user_db_constraint=False)

    class Meta:
        ordering = ["person", "covered_from"]
        # status included: cover lookups by person (ingestion, is_covered) are answered from the index alone
        indexes = [models.Index(fields=["person", "covered_from", "covered_to"], include=["status"],
                                name="enr_cover_person_dates")]
        constraints = [
            models.CheckConstraint(condition=Q(covered_from__lte=F("covered_to")), name="enr_cover_from_before_to"),
        ]
        verbose_name = _("coverage period")
        verbose_name_plural = _("coverage periods")

    def __str__(self):
        return f"{self.benefit_year}: {self.covered_from} – {self.covered_to}"
