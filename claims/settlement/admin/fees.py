"""Admin of the fee-for-service statements of certified outpatient visits: list (filters: benefit,
month, state), detail with the visits behind it (paginated), print (HTML), export (CSV/XLSX, one
row per visit), release by finance (four eyes, services/statements.py). An institution operator
sees its own institution's statements and visits only. Thin: every change goes through services."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, OuterRef, Subquery, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from claims.errors import CaseError
from enrollment.admin_search import PersonSearchMixin
from enrollment.messages import localized
from medins.admin_mixins import ReadOnlyAdmin, confirm_action
from medins.benefits.errors import QuoteError
from medins.models import CatalogueItem, CatalogueKind
from medins.value_display import MONEY_NUMBER_FORMAT, code_html, money_columns

from ..models import CertifiedVisit, FeeBenefit, FeeStatement, InpatientStay
from ..services.statements import RELEASE_PERMISSION, SOURCE_KIND, fee_statement_release, fee_statements_for
from .pool import _own

VISITS_PER_PAGE = 50
EXPORT_COLUMNS = [
    _("statement"), _("institution code"), _("institution"), _("benefit"), _("period"), _("state"),
    _("visit number"), _("ID number"), _("service date"), _("disease or drug"), _("disease or drug code"), _("total"),
    _("first self-pay"),
    _("deductible"), _("fund payable"), _("personal"),
]


def _order_status():
    from claims.models import PaymentOrder

    return Subquery(PaymentOrder.objects.filter(source_kind=SOURCE_KIND, source_id=OuterRef("pk"))
                    .order_by("-pk").values("status")[:1])


class MonthFilter(admin.SimpleListFilter):
    title = _("month")
    parameter_name = "period"

    def lookups(self, request, model_admin):
        periods = (FeeStatement.objects.order_by("-year", "-month").values_list("year", "month").distinct()[:36])
        return [(f"{y}-{m:02d}", f"{y}-{m:02d}") for y, m in periods]

    def queryset(self, request, queryset):
        value = self.value() or ""
        year, _dash, month = value.partition("-")
        if year.isdigit() and month.isdigit():
            return queryset.filter(year=int(year), month=int(month))
        return queryset


# The catalogue a certified benefit's disease or drug code belongs to (claims.certifications.kinds):
# the same code may stand in two catalogues of a region.
ITEM_CATALOGUE = {"chronic": CatalogueKind.CHRONIC_DISEASE, "special_disease": CatalogueKind.SPECIAL_DISEASE,
                  "special_drug": CatalogueKind.SPECIAL_DRUG, "two_diseases": CatalogueKind.CHRONIC_DISEASE}


def item_names(keys) -> dict:
    """{(region id, benefit, code): catalogue name, "" when the catalogue lacks it} for the diseases
    and drugs of statement visits, in one query however many visits (issue 14 item 4)."""
    keys = set(keys)
    kinds = {ITEM_CATALOGUE[b] for _r, b, _c in keys if b in ITEM_CATALOGUE}
    if not kinds:
        return {}
    found = {(r, k, c): n for r, k, c, n in CatalogueItem.objects.filter(
        region_id__in={r for r, _b, _c in keys}, kind__in=kinds, code__in={c for _r, _b, c in keys})
        .values_list("region_id", "kind", "code", "name")}
    return {(r, b, c): found.get((r, ITEM_CATALOGUE.get(b), c), "") for r, b, c in keys}


def _name_items(visits, statement) -> None:
    """Each visit's disease or drug by its catalogue name (`item_name`, shown beside the code)."""
    visits = list(visits)
    region, benefit = statement.institution.region_id, statement.benefit
    names = item_names((region, benefit, v.item_code) for v in visits)
    for v in visits:
        v.item_name = names.get((region, benefit, v.item_code), "")


@admin.register(FeeStatement)
class FeeStatementAdmin(SimpleHistoryAdmin):
    list_display = money_columns(FeeStatement, ["institution", "benefit", "period", "visits_count", "late_visits_count", "total",
                                                "payable", "state", "payment", "released_by", "print_link"])
    list_filter = ["benefit", MonthFilter, "state"]
    list_select_related = ["institution", "institution__region", "run", "released_by"]
    search_fields = ["institution__name", "institution__code"]
    readonly_fields = money_columns(FeeStatement, ["institution", "benefit", "year", "month", "visits_count", "late_visits_count",
                                                   "total", "personal", "payable", "state", "run", "produced_by", "created_at",
                                                   "released_by", "released_at", "payment"])
    fields = readonly_fields
    actions = ["release", "export_csv", "export_xlsx"]
    change_form_template = "admin/settlement/feestatement/change_form.html"

    def get_queryset(self, request):
        return fee_statements_for(request.user).annotate(order_status=_order_status())

    @admin.display(description=_("period"), ordering="month")
    def period(self, obj):
        return obj.period

    @admin.display(description=_("payment"))
    def payment(self, obj):
        from claims.models import PaymentOrderStatus

        status = getattr(obj, "order_status", None)
        return PaymentOrderStatus(status).label if status else "—"

    @admin.display(description=_("statement"))
    def print_link(self, obj):
        return format_html('<a href="{}" target="_blank">{}</a>',
                           reverse("admin:settlement_feestatement_print", args=[obj.pk]), _("Print"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_release_permission(self, request):
        return request.user.has_perm(RELEASE_PERMISSION)

    def get_urls(self):
        return [path("<int:pk>/print/", self.admin_site.admin_view(self.print_view),
                     name="settlement_feestatement_print"), *super().get_urls()]

    def _visits_page(self, request, statement):
        visits = (CertifiedVisit.objects.filter(statement=statement).select_related("person")
                  .order_by("service_date", "pk"))
        page = Paginator(visits, VISITS_PER_PAGE).get_page(request.GET.get("page"))
        _name_items(page.object_list, statement)
        return page

    def _stays(self, statement):
        return InpatientStay.objects.filter(statement=statement).select_related("person").order_by("discharged", "pk")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        statement = self.get_object(request, object_id)
        if statement is None or not self.has_view_permission(request, statement):
            return super().change_view(request, object_id, form_url, extra_context)
        if statement.benefit == FeeBenefit.INPATIENT:
            behind = {"stays_page": Paginator(self._stays(statement), VISITS_PER_PAGE).get_page(request.GET.get("page"))}
        else:
            behind = {"visits_page": self._visits_page(request, statement)}
        extra = {**(extra_context or {}), **behind,
                 "print_url": reverse("admin:settlement_feestatement_print", args=[statement.pk])}
        return super().change_view(request, object_id, form_url, extra)

    def print_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        statement = get_object_or_404(self.get_queryset(request), pk=pk)
        visits = list(CertifiedVisit.objects.filter(statement=statement).select_related("person")
                      .order_by("service_date", "pk"))
        _name_items(visits, statement)
        return TemplateResponse(request, "settlement/fee_statement_print.html",
                                {"s": statement, "visits": visits, "stays": list(self._stays(statement))})

    @admin.action(description=_("Release the selected statements for payment"), permissions=["release"])
    @confirm_action(amount=lambda s: s.payable, describe=lambda s: f"{s.institution.name} {s.period} {s.get_benefit_display()}",
                    warning=_("Releasing orders the payment to the institution; it cannot be undone."))
    def release(self, request, queryset):
        done = 0
        for statement in queryset.order_by("pk"):
            try:
                fee_statement_release(acting_user=request.user, statement=statement)
                done += 1
            except (QuoteError, CaseError) as exc:  # CaseError: a payment refusal (no bank account)
                self.message_user(request, f"{statement}: {localized(exc)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)d statements released.") % {"n": done}, messages.SUCCESS)

    def _rows(self, queryset):
        """One row per visit of the selected statements (the statement's columns repeated)."""
        statements = {s.pk: s for s in queryset.select_related("institution")}
        visits = (CertifiedVisit.objects.filter(statement_id__in=list(statements)).select_related("person")
                  .order_by("statement_id", "service_date", "pk"))
        # the disease or drug by its catalogue name beside its code (issue 14 item 4): two queries
        # (the distinct codes, their names) for any number of visits
        keys = {(statements[pk].institution.region_id, statements[pk].benefit, code)
                for pk, code in visits.order_by().values_list("statement_id", "item_code").distinct()}
        names = item_names(keys)
        for v in visits.iterator(chunk_size=2000):
            s = statements[v.statement_id]
            yield [s.pk, s.institution.code, s.institution.name, s.get_benefit_display(), s.period,
                   s.get_state_display(), v.visit_id, v.person.masked_id_number, v.service_date.isoformat(),
                   names.get((s.institution.region_id, s.benefit, v.item_code), ""), v.item_code, v.total, v.first_copay,
                   v.deductible, v.fund, v.personal]
        stays = (InpatientStay.objects.filter(statement_id__in=list(statements)).select_related("person")
                 .order_by("statement_id", "discharged", "pk"))
        for v in stays.iterator(chunk_size=2000):  # a direct stay: dated by its discharge, its diagnosis as the disease
            s = statements[v.statement_id]
            yield [s.pk, s.institution.code, s.institution.name, s.get_benefit_display(), s.period,
                   s.get_state_display(), v.stay_id, v.person.masked_id_number, v.discharged.isoformat(),
                   "", v.diagnosis, v.total, "", v.deductible, v.amount_paid, v.personal]

    @admin.action(description=_("Export the selected statements with their visits (CSV)"), permissions=["view"])
    def export_csv(self, request, queryset):
        buffer = io.StringIO()
        buffer.write("\ufeff")  # Excel opens UTF-8 Chinese correctly with a BOM
        writer = csv.writer(buffer)
        writer.writerow([str(label) for label in EXPORT_COLUMNS])
        for row in self._rows(queryset):
            writer.writerow([str(v) for v in row])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="fee-statements.csv"'
        return response

    @admin.action(description=_("Export the selected statements with their visits (XLSX)"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append([str(label) for label in EXPORT_COLUMNS])
        for row in self._rows(queryset):
            sheet.append([v if isinstance(v, (int, str, Decimal)) else str(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = MONEY_NUMBER_FORMAT  # a number, shown as 12,345.60
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(out.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = 'attachment; filename="fee-statements.xlsx"'
        return response


@admin.register(CertifiedVisit)
class CertifiedVisitAdmin(ReadOnlyAdmin, PersonSearchMixin, admin.ModelAdmin):
    list_display = money_columns(CertifiedVisit, ["visit_id", "institution", "person", "benefit", "item", "service_date",
                                                  "total", "fund", "personal", "statement", "received_at"])
    list_filter = ["benefit", "service_date"]
    list_select_related = ["institution", "person", "statement"]
    number_fields = ("visit_id",)
    search_help_text = _("Name, full ID number or its last digits, or the visit number")
    readonly_fields = money_columns(CertifiedVisit, [f.name if f.name != "item_code" else "item"
                                                     for f in CertifiedVisit._meta.fields])
    show_full_result_count = False

    def get_queryset(self, request):
        # the disease or drug's catalogue name in the institution's region and the benefit's catalogue
        # (issue 14 item 4), in the same query
        catalogue = Case(*(When(benefit=b, then=Value(k)) for b, k in ITEM_CATALOGUE.items()), default=Value(""))
        name = CatalogueItem.objects.filter(region_id=OuterRef("institution__region_id"), code=OuterRef("item_code"),
                                            kind=OuterRef("item_catalogue"))
        return (_own(request, super().get_queryset(request)).annotate(item_catalogue=catalogue)
                .annotate(item_name=Subquery(name.values("name")[:1])))

    @admin.display(description=_("disease or drug"), ordering="item_code")
    def item(self, obj):
        return format_html("{} {}", getattr(obj, "item_name", None) or "", code_html(obj.item_code))


@admin.register(InpatientStay)
class InpatientStayAdmin(ReadOnlyAdmin, PersonSearchMixin, admin.ModelAdmin):
    """Direct inpatient stays sent by hospitals (services/stays.py): read-only; the lines are the
    supervision records' (SettlementLine, kind inpatient_stay), listed on the stay's page."""

    # the catastrophic supplement, the personal share and the arrival time on the stay's page: the
    # list fits 1366 px (issue 14 item 7)
    list_display = money_columns(InpatientStay, ["stay_id", "institution", "person", "admitted", "discharged", "diagnosis",
                                                 "total", "fund", "statement"])
    list_filter = ["discharged", "transfer"]
    list_select_related = ["institution", "person", "statement"]
    number_fields = ("stay_id",)
    search_help_text = _("Name, full ID number or its last digits, or the stay number")
    readonly_fields = money_columns(InpatientStay, [f.name if f.name != "level" else "level_label"
                                                    for f in InpatientStay._meta.fields if f.name != "quote"])
    exclude = ["quote", "level"]
    show_full_result_count = False
    change_form_template = "admin/settlement/inpatientstay/change_form.html"

    def get_queryset(self, request):
        return _own(request, super().get_queryset(request))

    @admin.display(description=_("level paid at"))
    def level_label(self, obj):
        from medins.models import InstitutionLevel

        return dict(InstitutionLevel.choices).get(obj.level, obj.level)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from claims.supervision.models import SettlementLine

        lines = SettlementLine.objects.filter(kind="inpatient_stay", object_id=int(object_id) if object_id.isdigit() else 0)
        return super().change_view(request, object_id, form_url,
                                   {**(extra_context or {}), "stay_lines": lines.order_by("date", "pk")})
