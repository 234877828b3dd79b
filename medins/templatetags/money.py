"""`{% load money %}{{ amount|money }}`: an amount as "12,345.60" in printable notices, statements
and admin pages (medins.value_display.format_money, issue #14 item 5)."""

from django import template

from medins.value_display import format_money

register = template.Library()


@register.filter
def money(value, empty="—"):
    return format_money(value, empty=empty)
