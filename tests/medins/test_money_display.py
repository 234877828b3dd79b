"""Issue #14 item 5: "Amounts right-aligned with separators in every list, detail and export"
(medins.value_display: one way to show money; DESIGN "Money")."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.template import Context, Template

from medins.value_display import format_money, is_money_field, money_columns, money_html


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("12345.6"), "12,345.60"),
    (Decimal("1234567.891"), "1,234,567.89"),
    (Decimal("0"), "0.00"),
    (Decimal("999.995"), "1,000.00"),  # half up, as money is rounded everywhere here
    (Decimal("-1234.5"), "-1,234.50"),  # a recovery (negative payable) keeps its sign
    (Decimal("-0.4"), "-0.40"),
    (12, "12.00"),
    ("18768.00", "18,768.00"),  # a breakdown's amounts are decimal strings
    ("1,234.5", "1,234.50"),
])
def test_amounts_have_separators_and_two_decimals(value, shown):
    assert format_money(value) == shown


def test_none_and_empty_show_a_dash_or_what_is_asked_and_text_stays_text():
    assert format_money(None) == "—" and format_money("") == "—"
    assert format_money(None, empty="") == ""
    assert format_money("n/a") == "n/a"


def test_the_html_form_is_a_right_aligned_span_and_the_template_filter_agrees():
    assert money_html(Decimal("2568")) == '<span class="money">2,568.00</span>'
    rendered = Template("{% load money %}{{ a|money }} {{ b|money }}").render(Context({"a": Decimal("-5136"), "b": None}))
    assert rendered == "-5,136.00 —"


def _money_names(model):
    return {f.name for f in model._meta.get_fields() if is_money_field(f)}


def _plain_money_names(model, names):
    return sorted(n for n in names if isinstance(n, str) and n in _money_names(model))


def test_every_admin_list_and_detail_shows_amounts_as_money():
    """No amount of any registered admin (nor of its inlines) is listed or shown read-only as a
    plain field name, which Django would show left-aligned and without separators."""
    offenders = []
    for model, model_admin in admin.site._registry.items():
        if not _money_names(model):
            continue
        names = list(model_admin.list_display) + list(model_admin.readonly_fields)
        if offenders_here := _plain_money_names(model, names):
            offenders.append((model.__name__, offenders_here))
    for model_admin in admin.site._registry.values():
        for inline in model_admin.inlines:
            if offenders_here := _plain_money_names(inline.model, inline.readonly_fields):
                offenders.append((inline.__name__, offenders_here))
    assert not offenders, offenders


def test_a_money_column_is_sorted_by_its_field_and_labelled_with_its_name():
    from claims.models import PaymentOrder

    (column,) = money_columns(PaymentOrder, ["amount"])
    assert column.admin_order_field == "amount" and column.__name__ == "amount money-col"
    assert str(column.short_description) == str(PaymentOrder._meta.get_field("amount").verbose_name)
    assert money_columns(PaymentOrder, ["amount"])[0] is column  # the same entry for fields and readonly_fields
    assert money_columns(PaymentOrder, ("status",)) == ("status",)
