"""Policy parameter values rendered as tables a clerk can read (instead of raw JSON)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import InstitutionLevel

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
    "name": _("Name"),
    "per": _("Per"),
    "admission": _("admission"),
    "year": pgettext_lazy("per", "year"),  # "per year" in a value; plain "year" is 年度 elsewhere
}


def label(code) -> str:
    return CODE_LABELS.get(code, code) if isinstance(code, str) else code


def _scalar(value) -> str:
    if value is None:
        return str(_("no limit"))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(label(value))


def render_value(value) -> SafeString:
    if isinstance(value, dict):
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((label(k), render_value(v)) for k, v in value.items()))
        return format_html('<table class="policy-value">{}</table>', rows)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for row in value for k in row))
        head = format_html_join("", "<th>{}</th>", ((label(c),) for c in columns))
        body = format_html_join(
            "", "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((render_value(row.get(c)),) for c in columns)),) for row in value),
        )
        return format_html('<table class="policy-value"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)
    if isinstance(value, list):
        return format_html_join("、", "{}", ((_scalar(v),) for v in value))
    return format_html("{}", _scalar(value))
