"""Values rendered as a clerk reads them (issue 14 item 4): policy parameter values as tables
instead of raw JSON, the engine's calculation steps as a table with their names, amounts with
separators, codes nobody translated in monospace (<code>); and amounts of money in the admin
(format_money and the helpers at the end: issue 14 item 5)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import InstitutionLevel

CENT = Decimal("0.01")

# Codes that appear as keys or column names in parameter values.
CODE_LABELS = {
    **{level.value: level.label for level in InstitutionLevel},
    "adult": _("Adult"),
    "child": _("Minor / student"),
    "minor": _("Minor"),
    "student": _("Pupil"),
    "college_student": _("College student"),
    "newborn": _("Newborn"),
    "upto": _("Up to (amount)"),
    "rate": _("Rate"),
    "amount": _("Amount"),
    # in context: a plain "Name" is taken by django-celery-beat's catalogue as 任务名 (a task's name)
    "name": pgettext_lazy("value key", "Name"),
    "per": _("Per"),
    "admission": _("admission"),
    "year": pgettext_lazy("per", "year"),  # "per year" in a value; plain "year" is 年度 elsewhere
}


# A catalogue item's attributes (medins/reference/catalogues/*.yaml) and groups, as a clerk reads
# them (issue 14 item 4); a key or group not listed is shown as a code.
CATALOGUE_ATTRIBUTE_LABELS = {
    "note": _("note"),
    "source": _("source"),
    "criteria": _("certification criteria"),
    "disease": _("disease"),
    "department": _("department"),
    "batch": _("batch"),
    "brands": _("brands and strengths"),
    "payer": _("paid by"),
    "programmes": _("fixed-copay programmes"),
    "annual_cap": _("annual cap"),
    "cap_uncertain": _("cap inferred"),
    "annual_copay": _("annual copayment"),
    "copay": _("copayment"),
    "copay_resident": _("copayment of a resident"),
    "copay_per_admission": _("copayment per admission"),
    "first_copay_rate": _("first copayment rate"),
    "rate": _("rate"),
    "rate_floor": _("rate floor of 75%"),
    "episodic": _("episodic treatment"),
    "dialysis": _("dialysis"),
    "deductible_exempt": _("no deductible"),
    "mental_disorder": _("mental disorder"),
}
CATALOGUE_GROUP_LABELS = {
    "copay_35": _("35% paid first by the insured"),
    "copay_10": _("10% paid first by the insured"),
    "basic": _("basic insurance special drugs"),
    "catastrophic": _("catastrophic insurance special drugs"),
    "low_copay": _("low copayment for serious diseases"),
    "single_disease": _("fixed amount per disease"),
    "district_hospital": _("fixed amount at district hospitals"),
    "capped": _("own annual cap"),
    "dialysis": _("dialysis"),
    "rate_floor": _("rate floor of 75%"),
    "other": _("other"),
    "glaucoma": _("glaucoma"),
    "rectal_polyp": _("rectal polyp"),
    "vocal_cord_polyp": _("vocal cord polyp"),
    "breast_benign_tumour": _("benign breast tumour"),
    "pterygium": _("pterygium"),
    "colon_polyp": _("colon polyp"),
    "preauricular_fistula": _("preauricular fistula"),
}


_CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")


def label(code, names: dict | None = None):
    """A code as a clerk reads it: its label in `names` (the page's own: catalogue items by code, an
    upload's columns), else in CODE_LABELS, else the code itself in monospace when it looks like one
    (never an untranslated word). The page's names come first: a care claim's "name" column is the
    resident's name, not CODE_LABELS' generic one (no catalogue code is a CODE_LABELS key)."""
    if not isinstance(code, str):
        return code
    found = (names or {}).get(code) or CODE_LABELS.get(code)
    if found:
        return found
    return code_html(code) if _CODE_RE.fullmatch(code) else code


def _scalar(value, names=None):
    if value is None:
        return str(_("no limit"))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return label(value, names)


def render_value(value, names: dict | None = None) -> SafeString:
    """A parameter value as nested tables (dict: one row per key; list of dicts: one column per key)."""
    if isinstance(value, dict):
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>",
                                ((label(k, names), render_value(v, names)) for k, v in value.items()))
        return format_html('<table class="policy-value">{}</table>', rows)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for row in value for k in row))
        head = format_html_join("", "<th>{}</th>", ((label(c, names),) for c in columns))
        body = format_html_join(
            "", "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((render_value(row.get(c), names),) for c in columns)),) for row in value),
        )
        return format_html('<table class="policy-value"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)
    if isinstance(value, list):
        return format_html_join("、", "{}", ((_scalar(v, names),) for v in value))
    return format_html("{}", _scalar(value, names))


def _summary_parts(value, names):
    if isinstance(value, dict):
        return format_html_join("；", "{}：{}", ((label(k, names), _summary_parts(v, names)) for k, v in value.items()))
    if isinstance(value, list):
        return format_html_join("、", "{}", ((_summary_parts(v, names),) for v in value))
    return format_html("{}", _scalar(value, names))


def value_summary(value, names: dict | None = None, limit: int = 12) -> SafeString:
    """A value on one line for a list column ("一级：成人 200；…"): the first `limit` entries, then "…"."""
    if isinstance(value, dict) and len(value) > limit:
        return format_html("{}；…", _summary_parts(dict(list(value.items())[:limit]), names))
    if isinstance(value, list) and len(value) > limit:
        return format_html("{}、…", _summary_parts(value[:limit], names))
    return _summary_parts(value, names)


def catalogue_names() -> dict[str, str]:
    """{catalogue code: name} over every region (one query): the disease and drug codes parameters use."""
    from .models import CatalogueItem

    return dict(CatalogueItem.objects.values_list("code", "name"))


# --------------------------------------------------------------------------- calculation steps (issue 14 item 4)

# The benefit engine's step codes (medins.benefits: Line.step), as a clerk reads them. A step the
# table does not know is shown as its code in monospace (tests/test_value_display.py checks that
# every step the engine writes has a label).
STEP_LABELS = {
    "class_c_excluded": _("Class C (not covered): paid by the insured"),
    "class_b_copay": _("Class B first copayment"),
    "special_drug_first_copay": _("Special drug: first copayment"),
    "deductible": _("Deductible"),
    "band_fund": _("Fund share of the band"),
    "band_personal": _("Personal share of the band"),
    "fund_annual_cap": _("Above the fund's annual cap"),
    "shared_annual_cap": _("Above the shared outpatient annual cap"),
    "chronic_annual_cap": _("Above the chronic-disease annual cap"),
    "disease_annual_cap": _("Above the disease's annual cap"),
    "catastrophic_band": _("Catastrophic supplement: band"),
    "catastrophic_annual_cap": _("Above the catastrophic supplement's annual cap"),
    "pool_fund": _("Outpatient pool: fund share"),
    "pool_personal": _("Outpatient pool: personal share"),
    "fixed_copay": _("Fixed-copay treatment: personal share"),
    "fixed_copay_fund": _("Fixed-copay treatment: fund share"),
    "accident_deductible": _("Accident outpatient: deductible"),
    "accident_fund": _("Accident outpatient: fund share"),
    "accident_personal": _("Accident outpatient: personal share"),
    "accident_above_cap": _("Accident outpatient: above the eligible cost cap"),
    "maternity_lump_sum": _("Maternity lump sum"),
    "maternity_personal": _("Maternity: personal share"),
    "other_not_covered": _("Other costs not covered"),
    "ltc_severe": _("Long-term care, severe disability: fund share"),
    "ltc_severe_personal": _("Long-term care, severe disability: personal share"),
    "ltc_moderate": _("Long-term care, moderate disability: fund share"),
    "ltc_moderate_personal": _("Long-term care, moderate disability: personal share"),
    "ltc_aged": _("Long-term care, aged 90 or over: fund share"),
    "ltc_aged_personal": _("Long-term care, aged 90 or over: personal share"),
    "ltc_aged_bed_fee": _("Long-term care, bed fee aged 85 to 89: fund share"),
    "ltc_aged_bed_fee_personal": _("Long-term care, bed fee aged 85 to 89: personal share"),
    "ltc_no_rule": _("Long-term care: no benefit rule applies"),
}
CLASS_LABELS = {
    "class_a": _("Class A"),
    "class_b": _("Class B"),
    "class_c": _("Class C"),
}
PAYER_LABELS = {
    "fund": _("Pooled fund"),
    "catastrophic": _("Catastrophic supplement"),
    "personal": _("Insured person"),
}


def code_html(code) -> SafeString:
    """A code nobody translated, shown as a code (monospace), never as if it were a word."""
    return format_html('<code>{}</code>', code)


def step_label(code: str):
    return STEP_LABELS.get(code) or code_html(code)


def rate_text(rate) -> str:
    """"0.85" → "85%"; anything that is not a decimal fraction as it is."""
    try:
        value = Decimal(str(rate))
    except (InvalidOperation, ValueError):
        return str(rate)
    return f"{(value * 100).normalize():f}%"


def amount_text(value) -> str:
    """An amount with thousands separators and two decimals ("12,345.60")."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def breakdown_table(lines, parameter_names: dict | None = None) -> SafeString:
    """The engine's lines as a table: step, policy parameter, rate, who pays, amount (issue 14 item 4).
    `parameter_names` gives the Chinese name of a parameter key (its description); a key without
    one is shown as a code."""
    names = parameter_names or {}
    rows = format_html_join(
        "", '<tr><td>{}</td><td>{}</td><td class="rate">{}</td><td>{}</td><td class="amount">{}</td></tr>',
        ((step_label(line.get("step", "")),
          (names.get(line["parameter"]) or code_html(line["parameter"])) if line.get("parameter") else "—",
          rate_text(line["rate"]) if line.get("rate") not in (None, "") else "—",
          PAYER_LABELS.get(line.get("payer"), line.get("payer", "")),
          amount_text(line.get("amount", "")))
         for line in lines))
    return format_html(
        '<table class="calculation-steps"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
        '<tbody>{}</tbody></table>', _("step"), _("policy basis"), _("rate"), _("paid by"), _("amount"), rows)


def file_kind(content_type: str) -> str:
    """A file's type as a clerk names it ("PDF", "图片"), not its MIME type."""
    content_type = (content_type or "").lower()
    if content_type == "application/pdf":
        return "PDF"
    if content_type.startswith("image/"):
        return str(_("image"))
    return str(_("file"))


def parameter_short_name(description: str) -> str:
    """A parameter's name, from its description (the text before the first bracket, comma or colon)."""
    text = re.sub(r"^(决定|推定|假设)[：:]", "", (description or "").strip())
    for mark in ("（", "(", "，", ",", "：", ":", "；", ";", "。"):
        head, found, _rest = text.partition(mark)
        if found and head:
            text = head
    return text


def parameter_names(version_code: str, keys) -> dict[str, str]:
    """{key: short Chinese name} of a policy version's parameters (one query)."""
    from .models import PolicyParameter

    keys = {k for k in keys if k}
    if not keys:
        return {}
    rows = PolicyParameter.objects.filter(version__code=version_code, key__in=keys).values_list("key", "description")
    return {key: parameter_short_name(description) for key, description in rows if description}


def table(head, rows) -> SafeString:
    """A plain table: `head` the column titles, `rows` tuples of cells (text or safe HTML)."""
    return format_html(
        '<table class="readable"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((h,) for h in head)),
        format_html_join("", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows)))


def pairs_table(pairs) -> SafeString:
    """A two-column table of (label, value) rows."""
    return format_html('<table class="readable">{}</table>',
                       format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", pairs))


# --------------------------------------------------------------------------- money (issue #14 item 5)
#
# One way to show an amount of money to a clerk: two decimals, thousands separated by commas
# ("12,345.60", "-1,234.50"), right-aligned wherever amounts stand in a column. Lists and detail
# pages (MoneyAdminMixin, medins.admin_mixins), printable notices and statements (the `money`
# template filter, medins.templatetags.money) and XLSX exports (MONEY_NUMBER_FORMAT on number
# cells) all take it from here. CSV exports keep plain numbers ("12345.60"): they are read by
# programs and by Excel, which formats numbers itself, and a "12,345.60" would be text there.

MONEY_NUMBER_FORMAT = "#,##0.00"  # XLSX: the cell stays a number, shown with separators


def format_money(value, *, empty: str = "—") -> str:
    """`value` (Decimal, int, or a decimal string such as a breakdown's "1234.5") as "1,234.50";
    None or "" as `empty`; anything that is not a number unchanged (as text)."""
    if value is None or value == "":
        return empty
    if isinstance(value, float):  # never stored as float (DESIGN money); shown exactly as written
        value = repr(value)
    try:
        amount = Decimal(str(value).replace(",", "")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return str(value)
    if not amount.is_finite():
        return str(value)
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def money_html(value, *, empty: str = "—") -> SafeString:
    """An amount for an HTML page: `<span class="money">1,234.50</span>` (right-aligned in a
    table cell by the admin's stylesheet, medins/static/medins/admin.css)."""
    return format_html('<span class="money">{}</span>', format_money(value, empty=empty))


def is_money_field(field) -> bool:
    """Every DecimalField with two decimal places is an amount of money here (DESIGN "Money":
    DecimalField(max_digits=14, decimal_places=2)); rates and scores are not stored that way."""
    return isinstance(field, models.DecimalField) and field.decimal_places == 2


def money_column(name: str, field=None, *, description=None):
    """A list_display / readonly_fields entry for the money field `name`: formatted and
    right-aligned, sorted by the field, labelled with its verbose name."""
    label = description if description is not None else (field.verbose_name if field is not None else name)

    def column(obj):
        return money_html(getattr(obj, name, None))

    # Django names a column's cells after the callable: `column-<name> money-col` on the header,
    # `field-<name> money-col` on the cells and on the detail page's row — the stylesheet
    # right-aligns `.money-col` (medins/static/medins/admin.css).
    column.__name__ = f"{name} money-col"
    column.short_description = label
    column.admin_order_field = name
    column.money_field = name
    return column


_COLUMNS: dict[tuple, object] = {}


def money_columns(model, names):
    """`names` (list_display, fields, readonly_fields) with each money field of `model` replaced by
    its money_column — the same object every time, so a page's `fields` and `readonly_fields`
    still name the same entry. Other names are kept as they are."""
    out = []
    for name in names:
        field = None
        if isinstance(name, str):
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
        if field is not None and is_money_field(field):
            key = (model._meta.label_lower, name)
            if key not in _COLUMNS:
                _COLUMNS[key] = money_column(name, field)
            out.append(_COLUMNS[key])
        else:
            out.append(name)
    return tuple(out) if isinstance(names, tuple) else out


def day_column(model, name: str):
    """A list column for the datetime field `name` showing the day only (lists must fit 1366 px,
    issue #14 item 7), the full date and time in the cell's title; sorted by the field."""
    field = model._meta.get_field(name)

    def column(obj):
        value = getattr(obj, name, None)
        if value is None:
            return "—"
        when = timezone.localtime(value)
        return format_html('<span title="{}">{}</span>', date_format(when, "DATETIME_FORMAT"),
                           date_format(when, "SHORT_DATE_FORMAT"))

    column.__name__ = name
    column.short_description = field.verbose_name
    column.admin_order_field = name
    return column
