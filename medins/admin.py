"""Admin of the core reference data and policy (clerks' UI: Simplified Chinese by default).

Every admin keeps history (SimpleHistoryAdmin): who changed what and when is visible from the
"History" button of each object. Changelists select or prefetch every relation they show so
their query count does not grow with the number of rows.
"""

from __future__ import annotations

import json
import re

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.db.models.query import ModelIterable
from django.utils.html import format_html, strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from import_export import fields as ie_fields
from import_export import resources, widgets
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from enrollment.personal_data import MaskedHistoryMixin

from .admin_imports import may_import
from .admin_mixins import install_chooser_autocomplete
from .models import CatalogueItem, Designation, Institution, PolicyParameter, PolicyVersion, Region
from .services.reference_data import KEY_FORM, ParameterValueError, check_parameter
from .value_display import (
    CATALOGUE_ATTRIBUTE_LABELS,
    CATALOGUE_GROUP_LABELS,
    catalogue_names,
    code_html,
    parameter_short_name,
    render_value,
    value_summary,
)

admin.site.site_header = _("Resident medical insurance back-office")
admin.site.site_title = _("Medical insurance back-office")
admin.site.index_title = _("Agency administration")
# The autocomplete boxes that choose a person, an institution or a school (issue #14 item 6).
install_chooser_autocomplete(admin.site)
# Issue #14 item 7: no horizontal scroll at 1366 px. Django's navigation sidebar (the list of every
# model, 300 px wide) left the case list ~700 px beside its filters; the home page and the
# breadcrumbs lead to every list instead.
admin.site.enable_nav_sidebar = False


class ReadableJSONFormField(forms.JSONField):
    """JSON shown indented and with Chinese characters as they are, not as \\u escapes."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


JSON_FORMFIELD = {
    models.JSONField: {
        "form_class": ReadableJSONFormField,
        "widget": forms.Textarea(attrs={"rows": 4, "cols": 60, "style": "font-family: monospace"}),
    }
}


@admin.register(Region)
class RegionAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Designation)
class DesignationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code_column", "institution_count"]  # the code, an identifier, as a code
    search_fields = ["code", "name"]

    @admin.display(description=_("code"), ordering="code")
    def code_column(self, obj):
        return code_html(obj.code)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(institution_count=Count("institutions"))

    @admin.display(description=_("institutions"), ordering="institution_count")
    def institution_count(self, obj):
        return obj.institution_count


class InstitutionResource(resources.ModelResource):
    """Export by region code and designation codes (never database ids), in the columns the
    institution import reads back. Bank accounts are left out (personal-data rule: masked in
    lists and files); an empty cell keeps the existing value when the file is imported again."""

    region = ie_fields.Field(
        attribute="region", column_name="region", widget=widgets.ForeignKeyWidget(Region, field="code")
    )
    designations = ie_fields.Field(
        attribute="designations",
        column_name="designations",
        widget=widgets.ManyToManyWidget(Designation, field="code", separator="|"),
    )

    class Meta:
        model = Institution
        import_id_fields = ["region", "code"]
        fields = ["region", "code", "name", "short_name", "kind", "level", "township", "designations",
                  "bank_name", "bank_account_name", "active", "notes"]
        export_order = fields
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return super().get_queryset().select_related("region").prefetch_related("designations")


@admin.register(Institution)
class InstitutionAdmin(MaskedHistoryMixin, ExportMixin, SimpleHistoryAdmin):
    resource_classes = [InstitutionResource]
    change_list_template = "admin/medins/institution/change_list.html"  # + the import link
    list_display = ["name", "short_name", "region_name", "kind", "level", "township", "designation_names",
                    "masked_bank", "active"]
    list_filter = ["region", "kind", "level", "township", "designations", "active"]
    search_fields = ["name", "short_name", "code"]
    list_select_related = ["region"]
    filter_horizontal = ["designations"]
    fieldsets = [
        (None, {"fields": ["region", "code", "name", "short_name", "kind", "level", "township", "active"]}),
        (_("Designations"), {"fields": ["designations"]}),
        (_("Bank transfer"), {"fields": ["bank_name", "bank_account", "bank_account_name"]}),
        (_("Notes"), {"fields": ["notes"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("designations")

    @staticmethod
    def chooser_label(obj):
        """An institution in an autocomplete box: its name and code (names repeat, codes do not)."""
        return f"{obj.name}（{obj.code}）"

    # django-import-export lets every staff user export unless told otherwise: the permission
    # matrix (medins.roles.ADMIN_VIEWS) says export = view. Importing is InstitutionImportAdmin's.
    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": may_import(request)}
        return super().changelist_view(request, extra_context)

    def has_export_permission(self, request):
        return request.user.has_perm("medins.view_institution")

    @admin.display(description=_("region"), ordering="region__name")
    def region_name(self, obj):
        return obj.region.name

    @admin.display(description=_("bank account"))
    def masked_bank(self, obj):
        return obj.masked_bank_account

    @admin.display(description=_("designations"))
    def designation_names(self, obj):
        # Uses the prefetched designations: no query per row.
        return "、".join(d.name for d in obj.designations.all())


ALIAS_SEPARATORS = re.compile(r"[、;；\n]+")


class AliasesField(forms.CharField):
    """The aliases as a clerk writes them: names separated by 、 or ; or one per line."""

    widget = forms.Textarea(attrs={"rows": 2, "cols": 60})

    def prepare_value(self, value):
        return "、".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        names = [n.strip() for n in ALIAS_SEPARATORS.split(text) if n.strip()]
        return list(dict.fromkeys(names))


class CatalogueItemForm(forms.ModelForm):
    aliases = AliasesField(label=_("aliases"), required=False,
                           help_text=_("Other names settlement lines may use, separated by 、 or ; or one per line."))

    class Meta:
        model = CatalogueItem
        fields = ["region", "kind", "code", "name", "aliases", "group", "attributes", "valid_from", "valid_to", "active"]


class CatalogueGroupFilter(admin.SimpleListFilter):
    """By group, each named as a clerk reads it (CATALOGUE_GROUP_LABELS), not by its code."""

    title = _("group")
    parameter_name = "group"

    def lookups(self, request, model_admin):
        groups = CatalogueItem.objects.exclude(group="").order_by("group").values_list("group", flat=True).distinct()
        return [(g, CATALOGUE_GROUP_LABELS.get(g) or code_html(g)) for g in groups]

    def queryset(self, request, queryset):
        return queryset.filter(group=self.value()) if self.value() else queryset


@admin.register(CatalogueItem)
class CatalogueItemAdmin(SimpleHistoryAdmin):
    form = CatalogueItemForm
    list_display = ["code_column", "name", "alias_list", "region_name", "kind", "group_label", "validity",
                    "attributes_preview", "active"]
    list_filter = ["region", "kind", CatalogueGroupFilter, "active"]
    search_fields = ["code", "name", "aliases"]  # aliases: a text search in the JSON list
    search_help_text = _("Code, name or alias (other name) of the item")
    list_select_related = ["region"]
    formfield_overrides = JSON_FORMFIELD

    @admin.display(description=_("aliases"))
    def alias_list(self, obj):
        return "、".join(obj.aliases)

    @admin.display(description=_("validity"), ordering="valid_from")
    def validity(self, obj):
        if not obj.valid_from and not obj.valid_to:
            return "—"
        return f"{obj.valid_from or '…'} – {obj.valid_to or '…'}"

    @admin.display(description=_("region"), ordering="region__name")
    def region_name(self, obj):
        return obj.region.name

    readonly_fields = ["attributes_table"]

    @admin.display(description=_("code"), ordering="code")
    def code_column(self, obj):
        return code_html(obj.code)

    @admin.display(description=_("group"), ordering="group")
    def group_label(self, obj):
        if not obj.group:
            return ""
        found = CATALOGUE_GROUP_LABELS.get(obj.group)
        return format_html('<span title="{}">{}</span>', obj.group, found) if found else code_html(obj.group)

    @admin.display(description=_("attributes"))
    def attributes_preview(self, obj):
        if not obj.attributes:
            return ""
        return mark_safe(Truncator(value_summary(obj.attributes, CATALOGUE_ATTRIBUTE_LABELS)).chars(60, html=True))

    @admin.display(description=_("attributes (as read)"))
    def attributes_table(self, obj):
        return render_value(obj.attributes, CATALOGUE_ATTRIBUTE_LABELS) if obj.attributes else "—"


class PolicyParameterForm(forms.ModelForm):
    """A clerk's edit passes the checks the loader applies to the files (`check_parameter`): the key's
    form, no floats, and the shape of the value as shipped — a malformed value is never saved."""

    class Meta:
        model = PolicyParameter
        fields = ["version", "key", "description", "value", "source"]

    def clean(self):
        data = super().clean()
        key, value = data.get("key", self.instance.key), data.get("value")
        if "value" in data and key:
            shipped = self.instance.loaded_value if self.instance.pk else None
            try:
                check_parameter(key, value, shipped=shipped)
            except ParameterValueError as exc:
                self.add_error("key" if exc.message == KEY_FORM else "value",
                               _("Not saved: %(problem)s") % {"problem": exc.translated()})
        return data


class _WithCatalogueNames(ModelIterable):
    """The rows of one fetch (a list page, a version's parameters) share one {code: name} of the
    catalogues, read once when the first row arrives, instead of one query a row."""

    def __iter__(self):
        names = None
        for obj in super().__iter__():
            if names is None:
                names = catalogue_names()
            obj.catalogue_names = names
            yield obj


def _names(obj) -> dict:
    return obj.catalogue_names if hasattr(obj, "catalogue_names") else catalogue_names()


class ReadableParameterMixin:
    """Issue 14 item 4: a parameter is read by its Chinese name with its value as a table; the raw
    JSON (and the key as a form field) only where the user may edit it (policy_admin). The rows of a
    page read the catalogues' names once (_WithCatalogueNames)."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        queryset._iterable_class = _WithCatalogueNames
        return queryset

    @admin.display(description=_("parameter name"))
    def parameter_name(self, obj):
        return parameter_short_name(obj.description) or code_html(obj.key)

    @admin.display(description=_("parameter key"), ordering="key")
    def key_code(self, obj):
        return code_html(obj.key)

    @admin.display(description=_("value"))
    def value_table(self, obj):
        return render_value(obj.value, _names(obj)) if obj.pk else "-"


class PolicyParameterInline(ReadableParameterMixin, admin.TabularInline):
    model = PolicyParameter
    form = PolicyParameterForm
    fields = ["key", "description", "value", "source", "differs_from_shipped"]
    readonly_fields = ["differs_from_shipped", "parameter_name", "key_code", "value_table"]
    extra = 0
    formfield_overrides = JSON_FORMFIELD
    show_change_link = True

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return self.fields
        return ["parameter_name", "key_code", "value_table", "source", "differs_from_shipped"]

    @admin.display(description=_("edited locally"), boolean=True)
    def differs_from_shipped(self, obj):
        return _differs_from_shipped(obj)


def _differs_from_shipped(obj: PolicyParameter) -> bool | None:
    if obj.pk is None:
        return None
    return obj.value != obj.loaded_value


@admin.register(PolicyVersion)
class PolicyVersionAdmin(SimpleHistoryAdmin):
    list_display = ["code", "title", "region_name", "effective_from", "effective_to", "parameter_count"]
    list_filter = ["region"]
    search_fields = ["code", "title"]
    list_select_related = ["region"]
    date_hierarchy = "effective_from"
    inlines = [PolicyParameterInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(parameter_count=Count("parameters"))

    @admin.display(description=_("region"), ordering="region__name")
    def region_name(self, obj):
        return obj.region.name

    @admin.display(description=_("parameters"), ordering="parameter_count")
    def parameter_count(self, obj):
        return obj.parameter_count


class VersionRegionFilter(admin.SimpleListFilter):
    title = _("region")
    parameter_name = "region"

    def lookups(self, request, model_admin):
        return [(r.code, r.name) for r in Region.objects.order_by("code")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(version__region__code=self.value())
        return queryset


@admin.register(PolicyParameter)
class PolicyParameterAdmin(ReadableParameterMixin, SimpleHistoryAdmin):
    list_display = ["parameter_name", "key_code", "version_code", "value_preview", "differs_from_shipped"]
    list_display_links = ["parameter_name"]
    list_filter = [VersionRegionFilter, "version"]
    search_fields = ["key", "description"]
    list_select_related = ["version", "version__region"]
    fields = ["version", "key", "description", "value_table", "value", "source", "shipped_value"]
    readonly_fields = ["parameter_name", "key_code", "value_table", "shipped_value"]
    formfield_overrides = JSON_FORMFIELD
    form = PolicyParameterForm

    def get_fields(self, request, obj=None):
        """The editor sees the raw JSON to edit (and the readable table above it); a reader only the table."""
        if obj is not None and not self.has_change_permission(request, obj):
            return ["version", "parameter_name", "key_code", "description", "value_table", "source", "shipped_value"]
        return self.fields

    @admin.display(description=_("policy version"), ordering="version__code")
    def version_code(self, obj):
        return obj.version.code

    @admin.display(description=_("value"))
    def value_preview(self, obj):
        text = value_summary(obj.value, _names(obj))
        # value_summary is safe HTML (its codes in <code>); the truncation keeps its tags balanced
        return format_html('<span title="{}">{}</span>', strip_tags(text), mark_safe(Truncator(text).chars(80, html=True)))

    @admin.display(description=_("edited locally"), boolean=True)
    def differs_from_shipped(self, obj):
        return _differs_from_shipped(obj)

    @admin.display(description=_("value as shipped"))
    def shipped_value(self, obj):
        if obj.pk is None or obj.loaded_value is None:
            return _("(not shipped: added locally)") if obj.pk else "-"
        return render_value(obj.loaded_value, _names(obj))


# Other admin pages of the core app: background jobs' progress and result pages; users and groups
# with their permissions named in Chinese; django-celery-beat's and django-axes' pages in Chinese.
from . import admin_auth, admin_axes, admin_jobs, admin_schedules  # noqa: E402,F401
