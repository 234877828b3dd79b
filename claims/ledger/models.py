"""The yearly ledger (DOMAIN.md §3 "Yearly accumulators", §4, §7): accounts and their entries.

A person has, per year, one *year account* (benefit "" — the figures shared between benefits:
fund toward the yearly pool-fund cap, the catastrophic accumulator and payments) and one
account per benefit (benefit "inpatient", item "") and, where a
benefit keeps figures per disease, drug or programme, per item (benefit "special_disease",
item "SPD-041"). An account's figures are the sum of its entries; entries are only ever added
(a correction is a reversing entry), and an account row is only changed by the ledger service,
in the same transaction as the entries it sums (see services.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .keys import SHARED

MONEY = {"max_digits": 14, "decimal_places": 2}


def _money(verbose_name):
    return models.DecimalField(verbose_name, default=0, **MONEY)


def benefit_label(code: str) -> str:
    from claims.models import Benefit  # labels only: the ledger itself knows no claims model

    if not code:
        return str(_("Whole year (shared figures)"))
    if code == SHARED[0]:
        return str(_("Shared outpatient total (chronic + outpatient pool)"))
    return str(Benefit(code).label) if code in Benefit.values else code


class LedgerFigures(models.Model):
    """The figures an account sums and an entry adds (claims.ledger.keys.FIGURE_NAMES, same order)."""

    fund = _money(_("fund paid"))
    cap_fund = _money(_("fund toward the yearly cap"))
    covered_personal = _money(_("covered personal payments"))
    catastrophic = _money(_("catastrophic supplement paid"))
    deductible = _money(_("deductible paid"))
    eligible = _money(_("eligible amount counted"))
    fixed_copay = _money(_("fixed co-pay paid"))

    class Meta:
        abstract = True


class SourceKind(models.TextChoices):
    CASE = "case", _("Manual reimbursement case")
    POOL_VISIT = "pool_visit", _("Outpatient-pool visit")
    CERTIFIED_VISIT = "certified_visit", _("Certified outpatient visit")
    CARE_CLAIM = "care_claim", _("Monthly long-term care claim")
    INPATIENT_STAY = "inpatient_stay", _("Direct inpatient settlement")


class LedgerAccount(LedgerFigures):
    """A person's running totals for one year and scope; the row whose lock serialises payments.

    On PostgreSQL its pages are filled to 70 % only (migration 0001): each visit batch advances
    thousands of accounts, and the free room lets an update stay on its page (HOT)."""

    # No index of its own: person leads the unique key.
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="ledger_accounts",
                               verbose_name=_("insured person"), db_index=False)
    year = models.PositiveSmallIntegerField(_("year"))
    benefit = models.CharField(_("benefit"), max_length=20, blank=True,
                               help_text=_("Empty: the figures shared by every benefit of the year."))
    item = models.CharField(_("disease, drug or programme"), max_length=40, blank=True)
    entries = models.PositiveIntegerField(_("entries"), default=0)

    class Meta:
        ordering = ["-year", "person", "benefit", "item"]
        constraints = [models.UniqueConstraint(fields=["person", "year", "benefit", "item"],
                                               name="ledger_account_key")]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")

    def __str__(self):
        label = benefit_label(self.benefit)
        return f"{self.year} {label}" + (f"：{self.item}" if self.item else "")

    @property
    def key(self) -> tuple[int, int, str, str]:
        return (self.person_id, self.year, self.benefit, self.item)


class LedgerEntry(LedgerFigures):
    """One settlement's effect on a person's year: what it advanced, where it came from.

    Never updated: a settlement that is reversed or corrected gets an entry with the opposite
    figures pointing at the one it reverses (`reverses`, unique: an entry is reversed once)."""

    # No database foreign keys on the hot columns (as Visit): entries are written in bulk by
    # visit ingestion, and PostgreSQL would check each with a trigger and a row lock.
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="ledger_entries",
                               verbose_name=_("insured person"), db_index=False, db_constraint=False)
    year = models.PositiveSmallIntegerField(_("year"))
    benefit = models.CharField(_("benefit"), max_length=20)
    item = models.CharField(_("disease, drug or programme"), max_length=40, blank=True)
    source_kind = models.CharField(_("source"), max_length=20, choices=SourceKind.choices)
    source_id = models.BigIntegerField(_("source id"))
    service_date = models.DateField(_("service date"))
    # reverses and created_by are empty on every entry a visit batch writes: their indexes are
    # partial (non-empty rows only), so such an entry adds nothing to them, and reverses has no
    # database foreign key (a deferred trigger per inserted row, run at commit). An entry is still
    # reversed at most once (the partial unique constraint); entries are never deleted.
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by",
                                 verbose_name=_("reverses"), db_index=False, db_constraint=False)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("recorded by"), db_index=False, db_constraint=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["person", "year"], name="ledger_entry_person_year"),
            models.Index(fields=["source_kind", "source_id"], name="ledger_entry_source"),
            models.Index(fields=["created_by"], condition=models.Q(created_by__isnull=False),
                         name="ledger_entry_created_by"),
        ]
        constraints = [models.UniqueConstraint(fields=["reverses"], condition=models.Q(reverses__isnull=False),
                                               name="ledger_entry_reversed_once")]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self):
        return f"{self.get_source_kind_display()} {self.source_id}: {self.fund}"
