"""Template filters that show stored values as a clerk reads them (issue 14 item 4): the change
history's field names, values and change reasons in the reader's language, never "None" or a code."""

from __future__ import annotations

import re

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext, gettext_lazy

from medins.workflow import transition_text

register = template.Library()

# The change reasons services write (medins.services.reference_data, institution_import, claims.services.case_types).
CHANGE_REASONS = {
    "load_reference_data": gettext_lazy("loaded from the shipped reference data"),
    "institution_import": gettext_lazy("institution file import"),
    "load_case_types": gettext_lazy("loaded from the shipped case types"),
}
_TRANSITION = re.compile(r"(?P<frm>[a-z_]*) → (?P<to>[a-z_]+)")


def _field(opts, name: str):
    try:
        return opts.get_field(name)
    except (FieldDoesNotExist, AttributeError):
        return None


@register.filter
def field_label(name: str, opts) -> str:
    """A field's verbose name ("state" → "状态")."""
    field = _field(opts, name)
    return str(field.verbose_name) if field is not None and hasattr(field, "verbose_name") else name


@register.simple_tag
def field_value(value, name: str, opts) -> str:
    """A stored value as shown: "—" for none, 是/否, a choice's label, a related object's id as is."""
    if value is None or value == "":
        return "—"
    if value is True or value is False:
        return gettext("yes") if value else gettext("no")
    field = _field(opts, name)
    if field is not None and getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.JSONField) or isinstance(value, (dict, list)):
        return gettext("(structured value changed)")
    return str(value)


@register.filter
def change_reason(reason, opts) -> str:
    """A history record's reason in the reader's language: a workflow step by its states' labels."""
    if not reason:
        return "—"
    if reason in CHANGE_REASONS:
        return str(CHANGE_REASONS[reason])
    match = _TRANSITION.fullmatch(reason)
    state = _field(opts, "state")
    if match and state is not None and state.choices:
        return transition_text(match["frm"], match["to"], state.flatchoices)
    return reason


@register.filter
def label_in(key, labels):
    """A field name by its label in `labels` (an upload's columns): medins.value_display.label."""
    from medins.value_display import label

    return label(str(key), labels) if key else "—"
