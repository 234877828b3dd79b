"""Core reference data: regions, designated institutions, catalogues and versioned policy."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .jobs import Job, JobStatus  # noqa: F401 - the background jobs' run row (medins/jobs.py)
from .uploads import CheckedUpload


class Region(models.Model):
    code = models.CharField(_("region code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=50)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return f"{self.name}（{self.code}）"


class InstitutionLevel(models.TextChoices):
    PROVINCIAL_TERTIARY = "provincial_tertiary", _("Tertiary, provincial or above")
    MUNICIPAL_TERTIARY = "municipal_tertiary", _("Tertiary, municipal")
    SECONDARY = "secondary", _("Secondary / county-district")
    PRIMARY = "primary", _("Primary / community / township")
    VILLAGE = "village", _("Village clinic")
    UNGRADED = "ungraded", _("Not graded (pharmacy, care home)")


class InstitutionKind(models.TextChoices):
    HOSPITAL = "hospital", _("Hospital")
    CLINIC = "clinic", _("Clinic / health centre")
    PHARMACY = "pharmacy", _("Pharmacy")
    CARE_HOME = "care_home", _("Care home")
    SCHOOL_CLINIC = "school_clinic", _("School clinic")


class Designation(models.Model):
    """A kind of designation (定点资格) an institution may hold."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("designation")
        verbose_name_plural = _("designations")

    def __str__(self):
        return self.name


class Institution(models.Model):
    """A designated medical institution, pharmacy or care home (定点医药机构)."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="institutions", verbose_name=_("region"))
    code = models.CharField(_("institution code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=InstitutionKind.choices)
    level = models.CharField(_("level"), max_length=30, choices=InstitutionLevel.choices)
    designations = models.ManyToManyField(Designation, blank=True, related_name="institutions", verbose_name=_("designations"))
    township = models.BooleanField(
        _("township health centre"), default=False,
        help_text=_("Some rates differ at a township health centre (乡镇卫生院), e.g. Jinan dialysis"),
    )
    bank_name = models.CharField(_("bank name"), max_length=120, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    bank_account_name = models.CharField(_("bank account holder"), max_length=120, blank=True)
    active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    history = HistoricalRecords(m2m_fields=[designations])

    class Meta:
        ordering = ["region__code", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "code"], name="uniq_institution_code_per_region")]
        indexes = [models.Index(fields=["name"])]
        verbose_name = _("designated institution")
        verbose_name_plural = _("designated institutions")

    def __str__(self):
        return self.name

    @property
    def masked_bank_account(self) -> str:
        from enrollment.idnumber import mask

        return mask(self.bank_account)


class CatalogueKind(models.TextChoices):
    SPECIAL_DISEASE = "special_disease", _("Outpatient special disease")
    CHRONIC_DISEASE = "chronic_disease", _("Outpatient chronic disease")
    SPECIAL_DRUG = "special_drug", _("Special drug")
    FIXED_COPAY = "fixed_copay", _("Fixed-copay programme")
    EMERGENCY_CONDITION = "emergency_condition", _("Out-of-area emergency condition")
    DAY_SURGERY = "day_surgery", _("Day surgery procedure")


class CatalogueItem(models.Model):
    """An entry of a region's catalogue the engine and the clerks refer to by code."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="catalogue_items", verbose_name=_("region"))
    kind = models.CharField(_("catalogue"), max_length=30, choices=CatalogueKind.choices)
    code = models.CharField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    group = models.CharField(_("group"), max_length=60, blank=True, help_text=_("e.g. the special-drug co-pay group"))
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    aliases = models.JSONField(
        _("aliases"), default=list, blank=True,
        help_text=_("Other names settlement lines may use for this item (a list of strings), e.g. 波沙康唑 for 泊沙康唑."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("Empty: since always."))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Empty: open-ended."))
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["region__code", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region", "kind", "code"], name="uniq_catalogue_item"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="catalogue_item_valid_range",
            ),
        ]
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue items")

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if not isinstance(self.aliases, list) or not all(isinstance(a, str) and a.strip() for a in self.aliases):
            raise ValidationError({"aliases": _("Write the aliases as a list of names, e.g. [\"波沙康唑\"].")})
        self.aliases = [a.strip() for a in self.aliases]
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end of validity is before its start.")})

    def in_force_on(self, date) -> bool:
        return self.active and (self.valid_from is None or self.valid_from <= date) and (
            self.valid_to is None or date <= self.valid_to)


class PolicyVersion(models.Model):
    """A region's set of policy parameters in force over a date range (e.g. 220100-2021)."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="policy_versions", verbose_name=_("region"))
    code = models.CharField(_("version"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=120)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True, help_text=_("Empty means open-ended."))
    source = models.TextField(_("source"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["region__code", "-effective_from"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")

    def __str__(self):
        return self.code

    def clean(self):
        if self.effective_to and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": _("The end date is before the start date.")})
        overlapping = PolicyVersion.objects.filter(region_id=self.region_id).exclude(pk=self.pk)
        overlapping = overlapping.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=self.effective_from))
        if self.effective_to:
            overlapping = overlapping.filter(effective_from__lte=self.effective_to)
        if self.region_id and overlapping.exists():
            raise ValidationError(
                {"effective_from": _("Overlaps policy version %(code)s of the same region.") % {"code": overlapping.first().code}}
            )


class PolicyParameter(models.Model):
    """One named parameter of a policy version. Values are JSON; amounts are decimal strings."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="parameters", verbose_name=_("policy version"))
    key = models.CharField(_("parameter"), max_length=80)
    value = models.JSONField(_("value"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    # The value as last loaded from the shipped data file: lets the loader tell a clerk's
    # edit (value differs from it) from a stale row (value equals it, file changed).
    loaded_value = models.JSONField(_("value as shipped"), null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "key"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="uniq_parameter_per_version")]
        verbose_name = _("policy parameter")
        verbose_name_plural = _("policy parameters")

    def __str__(self):
        from .value_display import parameter_short_name  # the parameter's Chinese name (issue 14 item 4)

        return f"{self.version.code} · {parameter_short_name(self.description) or self.key}"


class InstitutionImport(CheckedUpload):
    """A file of designated institutions uploaded in the admin (medins.services.institution_import):
    checked first, imported when confirmed."""

    class Meta(CheckedUpload.Meta):
        verbose_name = _("institution import")
        verbose_name_plural = _("institution imports")

    def __str__(self):
        return self.filename
