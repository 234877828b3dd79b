"""Small admin mixins shared by the apps, and the confirmation page of irreversible actions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class AdministratorOnly:
    """Operator accounts decide which tenant's data a user reads: only the administrator (a
    superuser) sees and changes them (issue #11 finding 4; medins.roles.ADMINISTRATOR_ONLY), with history."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class ReadOnlyAdmin:
    """A record written only by its services (visits, stays, imports, runs, renewal lists…): the admin
    shows it and never adds, changes or deletes it (view permission still applies)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CodeValuesFilter(admin.AllValuesFieldListFilter):
    """A list filter by a field's values that are codes (a request path): each shown as a code, the
    first choice ("全部") as text."""

    template = "admin/medins/code_filter.html"


class RecordTitleMixin:
    """A record's page titled by `record_title(obj)` (its subtitle and the last breadcrumb) instead of
    str(obj): for third-party models whose __str__ is English ("Access Log for admin @ …";
    issue 14 item 4)."""

    change_form_template = "admin/medins/record_title_change_form.html"

    def record_title(self, obj) -> str:
        return str(obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.contrib.admin.utils import unquote

        obj = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if obj is not None:
            title = self.record_title(obj)
            extra_context.setdefault("subtitle", title)
            extra_context.setdefault("record_title", title)
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- choosers (issue #14 item 6)


class ChooserMixin:
    """For a ModelAdmin whose forms choose a person, an institution or a school with an
    autocomplete box (`autocomplete_fields`, Django's select2): which rows the box suggests, and
    who may use it (medins.admin_mixins.ChooserAutocompleteView asks this admin, the source).

    - `chooser_queryset(request, db_field, queryset, term)`: the suggestions, narrowed for the
      user (a tenant sees its own rows only). The target admin's search has already run.
    - `may_choose(request, db_field)`: a user who may add or change this admin's rows may use its
      choosers even without the view permission of the target model (an institution operator
      picks the person of its own application; it never reads the person list).
    The label of a suggestion and of the chosen row is the target admin's `chooser_label(obj)`
    (name and code of an institution, name and masked ID number of a person), never the key.
    """

    def chooser_queryset(self, request, db_field, queryset, term: str):
        return queryset

    def may_choose(self, request, db_field) -> bool:
        return db_field.name in self.get_autocomplete_fields(request) and (
            self.has_add_permission(request) or self.has_change_permission(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        target = self.admin_site._registry.get(db_field.remote_field.model)
        label = getattr(target, "chooser_label", None)
        if field is not None and label is not None and db_field.name in self.get_autocomplete_fields(request):
            field.label_from_instance = label
        return field


class ChooserAutocompleteView(AutocompleteJsonView):
    """The admin's autocomplete endpoint, aware of the form it serves (issue #14 item 6):

    - permission: the user may view the target model (Django's rule), or the source admin lets the
      user choose in this field (`ChooserMixin.may_choose`); anyone else gets 403;
    - results: the target admin's `get_search_results` (for persons: full ID number, last digits
      or start of the name), then the source admin's `chooser_queryset` (tenancy);
    - label: the target admin's `chooser_label(obj)`, else str(obj).
    At most 20 rows a page, in a bounded number of queries (the paginator counts one LIMITed query).
    """

    def _source_admin(self):
        return self.admin_site._registry.get(self.source_field.model)

    def has_perm(self, request, obj=None):
        if super().has_perm(request, obj):
            return True
        source = self._source_admin()
        return isinstance(source, ChooserMixin) and source.may_choose(request, self.source_field)

    def get_queryset(self):
        qs = super().get_queryset()
        source = self._source_admin()
        if isinstance(source, ChooserMixin):
            qs = source.chooser_queryset(self.request, self.source_field, qs, self.term.strip())
        return qs

    def serialize_result(self, obj, to_field_name):
        label = getattr(self.model_admin, "chooser_label", None)
        return {"id": str(getattr(obj, to_field_name)), "text": label(obj) if label else str(obj)}


def install_chooser_autocomplete(site) -> None:
    """Serve the site's autocomplete URL (admin:autocomplete) with ChooserAutocompleteView."""

    def autocomplete_view(request):
        return ChooserAutocompleteView.as_view(admin_site=site)(request)

    site.autocomplete_view = autocomplete_view


def chooser_field(form_field, model, field_name: str, site) -> None:
    """Turn a plain form's ModelChoiceField into the autocomplete box of `model.field_name` (a page
    outside a ModelAdmin form, e.g. an upload page): served by the admin of `model`, which must be a
    ChooserMixin deciding who may use it and what it offers. The page must include the form's media."""
    from django.contrib.admin.widgets import AutocompleteSelect

    db_field = model._meta.get_field(field_name)
    widget = AutocompleteSelect(db_field, site)
    widget.is_required = form_field.required
    widget.choices = form_field.choices  # bound to the field's queryset, as the field's own widget is
    form_field.widget = widget
    label = getattr(site._registry.get(db_field.remote_field.model), "chooser_label", None)
    if label is not None:
        form_field.label_from_instance = label


@admin.display(description=_("No."), ordering="pk")
def record_number(obj):
    """A list column for the record's number ("编号"), instead of "pk" (shown as "Pk": issue 14 item 4)."""
    return obj.pk


# --------------------------------------------------------------------------- confirmation pages (issue #14 item 5)
#
# Every admin action that moves money or cannot be undone asks first, as Django's delete does: the
# first request shows a page listing the objects (and the amounts) and changes nothing; only its
# "Yes, confirm" — the same request again, with `confirmed=yes` — performs it. Changelist actions
# take the `confirm_action` decorator; the per-object buttons (medins.admin_workflow, the care
# pages) call `confirmation_page` themselves. Both use the one template admin/confirm_action.html.

CONFIRM_FIELD = "confirmed"
_NOT_CARRIED = frozenset({"csrfmiddlewaretoken", CONFIRM_FIELD, "index"})


@dataclass
class ConfirmRow:
    """One object on the confirmation page: its name (a link to its page), the amount moved, a note."""

    label: str
    url: str = ""
    amount: Decimal | None = None
    note: str = ""


def confirmed(request) -> bool:
    """The request is the confirmation page's "Yes" (a POST carrying confirmed=yes)."""
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "yes"


def object_url(obj) -> str:
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def confirmation_page(request, model_admin, *, action, rows: list[ConfirmRow], cancel_url: str, warning="",
                      action_url: str | None = None, carry=None) -> TemplateResponse:
    """The page asking "Do you want to <action>?" for `rows`, with their total when they carry
    amounts. Its "Yes" posts `carry` (by default the request's own POST data: the action chosen,
    the selected objects, what the clerk typed) again to `action_url` (by default the same URL),
    with confirmed=yes; "No" goes back to `cancel_url`. Nothing is changed by showing it."""
    data = request.POST if carry is None else carry
    hidden = [(key, value) for key in data for value in data.getlist(key) if key not in _NOT_CARRIED]
    amounts = [row.amount for row in rows if row.amount is not None]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": gettext("Confirm: %(action)s") % {"action": action},
        "action": action,
        "rows": rows,
        "has_amounts": bool(amounts),
        "total": sum(amounts, Decimal("0")) if amounts else None,
        "warning": warning,
        "hidden": hidden,
        "action_url": action_url if action_url is not None else request.get_full_path(),
        "cancel_url": cancel_url,
        "confirm_field": CONFIRM_FIELD,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def confirm_action(*, amount: Callable | None = None, describe: Callable = str, warning="", label=None):
    """Decorate a changelist action (function or ModelAdmin method) so that choosing it first shows
    the confirmation page listing the selected objects (with `amount(obj)` each, and the total);
    the action runs only on the page's "Yes". Put it under @admin.action, which then describes
    the decorated action as usual."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(modeladmin, request, queryset):
            if confirmed(request):
                return func(modeladmin, request, queryset)
            text = label or getattr(wrapper, "short_description", None) or func.__name__
            rows = [ConfirmRow(describe(obj), object_url(obj), amount(obj) if amount else None)
                    for obj in queryset.order_by("pk")]
            return confirmation_page(request, modeladmin, action=text, rows=rows, warning=warning,
                                     cancel_url=request.get_full_path())

        wrapper.confirms = True
        return wrapper

    return decorate


class TransitionHistoryInline(admin.TabularInline):
    """The read-only history of a workflow's transitions (who, when, from, to, why), one shape for
    every workflow's transition model: a subclass names only `model`."""

    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "from_state", "to_state", "actor", "reason")
    verbose_name_plural = _("history of states (who, when, from, to, why)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")
