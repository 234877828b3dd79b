"""Helpers for the admin's confirmation pages and one-form pages (issue #14 item 5)."""

import datetime as dt
from decimal import Decimal

CONFIRM_TEMPLATE = "admin/confirm_action.html"


def is_confirmation(response) -> bool:
    return response.status_code == 200 and CONFIRM_TEMPLATE in [t.name for t in response.templates]


def confirm_then_do(client, url, data):
    """Post `data` (an action that moves money or cannot be undone): the first answer must be the
    confirmation page; then post it again as the page's "Yes" does. Returns both responses."""
    first = client.post(url, data)
    assert is_confirmation(first), f"no confirmation page for {data} at {url} (status {first.status_code})"
    second = client.post(url, {**data, "confirmed": "yes"})
    return first, second


def _value(value):
    if isinstance(value, bool):
        return "on" if value else None
    if isinstance(value, (dt.date, Decimal, int)):
        return str(value)
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value


def page_data(response) -> dict:
    """What a browser posts for an admin change page as it was rendered: the main form's fields and
    every inline formset (management form and rows), with their current values."""
    data = {}
    context = response.context

    def add(form):
        for name in form.fields:
            value = _value(form[name].value())
            if value is not None:
                data[form.add_prefix(name)] = value

    add(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


def take_step(client, change_url, name, *, confirm=False, **typed):
    """Press step `name`'s button on an editable workflow page (medins.admin_workflow.WorkflowChangeFormMixin):
    the page as it was rendered (nothing when the user may not open it), the step, and what was
    typed beside the button (`reason=`, `on=`, `institution=`); `confirm` answers the confirmation page."""
    page = client.get(change_url)
    data = page_data(page) if page.status_code == 200 else {}
    data.update({f"_workflow_{key}_{name}": str(value) for key, value in typed.items()})
    data["_workflow_step"] = name
    if confirm:
        data["confirmed"] = "yes"
    return client.post(change_url, data)
