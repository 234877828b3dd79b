"""Admin of the yearly ledger: read-only lists of accounts and entries a clerk searches by ID number
or name (the ledger changes only through its service, when money is committed)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from enrollment.admin_search import PersonSearchMixin
from medins.admin_mixins import ReadOnlyAdmin
from medins.value_display import money_columns

from .keys import SHARED
from .models import LedgerAccount, LedgerEntry, SourceKind, benefit_label


class BenefitFilter(admin.SimpleListFilter):
    title = _("benefit")
    parameter_name = "benefit"

    def lookups(self, request, model_admin):
        from claims.models import Benefit

        return [("", _("Whole year (shared figures)")), *((b.value, b.label) for b in Benefit if b != Benefit.EXTERNAL),
                (SHARED[0], _("Shared outpatient total (chronic + outpatient pool)"))]

    def choices(self, changelist):
        # "" is a real value here (the year account): the "all" entry is the absent parameter
        yield {"selected": self.value() is None, "query_string": changelist.get_query_string(remove=[self.parameter_name]),
               "display": _("All")}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value,
                   "query_string": changelist.get_query_string({self.parameter_name: value}), "display": label}

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(benefit=value)


class _ReadOnly(ReadOnlyAdmin, PersonSearchMixin, admin.ModelAdmin):
    show_full_result_count = False
    list_select_related = ["person"]

    @admin.display(description=_("benefit"), ordering="benefit")
    def benefit_label(self, obj):
        return benefit_label(obj.benefit)


@admin.register(LedgerAccount)
class LedgerAccountAdmin(_ReadOnly):
    list_display = money_columns(LedgerAccount, ["person", "year", "benefit_label", "item", "fund", "cap_fund", "catastrophic",
                                                 "deductible", "entries"])
    list_filter = ["year", BenefitFilter]
    fields = money_columns(LedgerAccount, ["person", "year", "benefit_label", "item", "fund", "cap_fund", "covered_personal",
                                           "catastrophic", "deductible", "eligible", "fixed_copay", "entries"])
    readonly_fields = fields


@admin.register(LedgerEntry)
class LedgerEntryAdmin(_ReadOnly):
    list_display = money_columns(LedgerEntry, ["number", "person", "benefit_label", "source", "service_date", "fund", "cap_fund",
                                               "catastrophic", "reverses_link", "created_at"])
    list_filter = ["year", BenefitFilter, "source_kind"]
    list_select_related = ["person", "created_by"]
    fields = money_columns(LedgerEntry, ["person", "year", "benefit_label", "item", "source", "service_date", "fund", "cap_fund",
                                         "covered_personal", "catastrophic", "deductible", "eligible", "fixed_copay",
                                         "reverses_link", "created_at", "created_by", "note"])
    readonly_fields = fields

    @admin.display(description=_("entry no."), ordering="pk")
    def number(self, obj):
        return obj.pk

    @admin.display(description=_("source"))
    def source(self, obj):
        if obj.source_kind == SourceKind.CASE:
            url = reverse("admin:claims_case_change", args=[obj.source_id])
            return format_html('<a href="{}">{} {}</a>', url, obj.get_source_kind_display(), f"BX{obj.source_id:08d}")
        if obj.source_kind == SourceKind.CARE_CLAIM:
            url = reverse("admin:carecare_careclaim_change", args=[obj.source_id])
            return format_html('<a href="{}">{} {}</a>', url, obj.get_source_kind_display(), f"HL{obj.source_id:08d}")
        return f"{obj.get_source_kind_display()} #{obj.source_id}"

    @admin.display(description=_("reverses"))
    def reverses_link(self, obj):
        if obj.reverses_id is None:
            return "—"
        url = reverse("admin:ledger_ledgerentry_change", args=[obj.reverses_id])
        return format_html('<a href="{}">#{}</a>', url, obj.reverses_id)
