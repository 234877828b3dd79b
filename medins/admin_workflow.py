"""The admin's workflow buttons, generated from a workflow's transitions table (DESIGN "Workflows").

A workflow's admin declares its clerk steps once — ``{name: (label, service name, needs reason)}``
— and the extra permissions a step needs beyond changing the object (medins.roles). This helper
answers, for an object's state and a user, which buttons to show (the services with an edge out
of the state in the table, in table order, that the user's role may take) and builds the bulk
actions of the changelist from the same declaration. The pages take a step through one mixin's
checks (WorkflowAdminMixin), which accept exactly the buttons shown (the service checks the table
again under its lock): an editable page's buttons submit its form (WorkflowChangeFormMixin: cases,
certifications), a read-only page's post to its act view (WorkflowActMixin: the care pages, the
fund-security findings and recovery orders). A model whose services check its state themselves,
without a transitions table (recovery orders), declares the states each step is offered in
instead (StateSteps).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext

from .admin_mixins import ConfirmRow, confirm_action, confirmation_page, confirmed, object_url
from .workflow import Workflow


class StateSteps:
    """The steps of a model without a transitions table, by the states they are offered in
    (``{service name: states}``, in button order): what WorkflowButtons reads of a Workflow. Its
    services check the state themselves, under their lock."""

    def __init__(self, offered: dict[str, tuple[str, ...]]):
        self.offered = offered

    def services_from(self, state: str) -> list[str]:
        return [service for service, states in self.offered.items() if state in states]


class WorkflowButtons:
    def __init__(self, workflow: Workflow | StateSteps, steps: dict[str, tuple], extra_permissions: dict[str, tuple[str, ...]],
                 confirm: dict[str, str] | None = None):
        self.workflow = workflow
        self.steps = steps
        self.extra_permissions = extra_permissions
        self.step_of_service = {step[1]: name for name, step in steps.items()}
        # The steps that move money or cannot be undone, each with the warning its confirmation
        # page shows (issue #14 item 5): the button and the bulk action ask first.
        self.confirm = dict(confirm or {})
        unknown = set(self.confirm) - set(steps)
        if unknown:
            raise ValueError(f"confirm names steps that are not declared: {sorted(unknown)}")

    def needs_confirmation(self, name: str) -> bool:
        return name in self.confirm

    def label(self, name: str):
        return self.steps[name][0]

    def may(self, user, name: str) -> bool:
        """The extra permissions a step needs beyond changing the object."""
        return all(user.has_perm(p) for p in self.extra_permissions.get(name, ()))

    def for_state(self, state: str, user=None) -> list[tuple[str, str]]:
        """(name, label) of the buttons of an object in `state`: one per service with an edge out of
        it in the table and (given the user) only those the user's role may take."""
        out = []
        for service in self.workflow.services_from(state):
            name = self.step_of_service.get(service)
            if name is not None and (user is None or self.may(user, name)):
                out.append((name, self.label(name)))
        return out

    def bulk_action(self, name: str, run: Callable, errors: type[Exception] | tuple, *, done_message,
                    describe: Callable = str, permission: str = "change", amount: Callable | None = None):
        """A changelist action taking step `name` for each selected object in pk order;
        `run(name, user=, obj=)` calls the service, a refusal (`errors`) is reported per object.
        A step that needs confirmation first shows the confirmation page (with `amount(obj)`)."""

        def action(modeladmin, request, queryset):
            ok = 0
            for obj in queryset.order_by("pk"):
                try:
                    run(name, user=request.user, obj=obj)
                    ok += 1
                except errors as exc:
                    modeladmin.message_user(request, f"{describe(obj)}: {exc}", messages.ERROR)
            if ok:
                modeladmin.message_user(request, done_message % {"n": ok}, messages.SUCCESS)

        if self.needs_confirmation(name):
            action = confirm_action(amount=amount, describe=describe, warning=self.confirm[name],
                                    label=self.label(name))(action)
        action.__name__ = f"action_{name}"
        action.short_description = self.label(name)
        # Django offers an action when ANY of its permissions holds: a step with its own permission says so.
        action.allowed_permissions = (permission,)
        return action


# --------------------------------------------------------------------------- one form per page (issue #14 item 5)

STEP_FIELD = "_workflow_step"


def step_input(request, name: str, key: str) -> str:
    """What the clerk typed beside step `name`'s button (`_workflow_<key>_<name>`: reason, date…)."""
    return (request.POST.get(f"_workflow_{key}_{name}") or "").strip()


class StepRefused(Exception):
    """The step was refused after the page was saved: nothing is kept and the page shows why."""


class _NeedsConfirmation(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class WorkflowAdminMixin:
    """What every workflow page shares, whichever way its buttons post: the steps declared
    (``workflow_buttons``), who may take one, the steps an object offers, what must be typed beside
    a button, the confirmation page of a step that moves money or cannot be undone (one
    medins.admin_mixins.confirmation_page for all), and the services' refusals (``workflow_errors``).

    An admin implements ``workflow_steps`` (the steps offered for an object and user, by name) and
    ``workflow_run`` (takes one), and may override the other ``workflow_*`` hooks (an admin without
    a transitions table, as care stays, overrides those that read ``workflow_buttons``).
    """

    workflow_buttons: WorkflowButtons
    workflow_errors: tuple = ()

    def workflow_steps(self, request, obj) -> dict[str, str]:
        raise NotImplementedError

    def workflow_names(self):
        """Every step the page may post (the declaration), offered now or not."""
        return self.workflow_buttons.steps

    def workflow_may(self, user, name: str) -> bool:
        return name in self.workflow_buttons.steps and self.workflow_buttons.may(user, name)

    def workflow_run(self, request, obj, name: str) -> str | None:
        raise NotImplementedError

    def workflow_missing_input(self, request, name: str) -> str:
        """Why step `name` cannot be taken with what was typed beside its button ("" when it can)."""
        return ""

    def workflow_confirm_row(self, obj) -> ConfirmRow:
        return ConfirmRow(str(obj), object_url(obj))

    def workflow_confirm_rows(self, request, obj, name: str) -> list[ConfirmRow]:
        return [self.workflow_confirm_row(obj)]

    def workflow_needs_confirmation(self, name: str) -> bool:
        return self.workflow_buttons.needs_confirmation(name)

    def workflow_warning(self, name: str) -> str:
        return self.workflow_buttons.confirm.get(name, "")

    def workflow_label(self, name: str) -> str:
        return str(self.workflow_buttons.label(name)) if name in self.workflow_buttons.steps else name

    def workflow_not_offered(self, obj, name: str) -> str:
        return (gettext("“%(step)s” is not a step of %(object)s as it is now (%(state)s).")
                % {"step": self.workflow_label(name), "object": obj, "state": obj.get_state_display()})

    def workflow_confirmation(self, request, obj, name: str, cancel_url: str):
        return confirmation_page(request, self, action=self.workflow_label(name), cancel_url=cancel_url,
                                 rows=self.workflow_confirm_rows(request, obj, name), warning=self.workflow_warning(name))


class WorkflowActMixin(WorkflowAdminMixin):
    """A read-only page's buttons (care assessments, stays and claims; findings, recovery orders): each is a small form posting
    ``action=<name>`` (and what was typed beside it) to ``<pk>/act/`` (URL name
    ``admin:<app>_<model>_act``). The step is taken when the object is visible to the user
    (``get_queryset``), the user may take it and the object offers it now; after the confirmation
    page where one is needed. ``workflow_run`` may return a note, shown as a warning instead of
    "done" (the step was taken, but not all of it)."""

    def get_urls(self):
        opts = self.model._meta
        return [path("<int:pk>/act/", self.admin_site.admin_view(self.act_view), name=f"{opts.app_label}_{opts.model_name}_act"),
                *super().get_urls()]

    def workflow_may_act(self, request, obj) -> bool:
        """Who may use the page's buttons at all (each step adds its own permissions)."""
        return self.has_view_or_change_permission(request, obj)

    def act_view(self, request, pk):
        if request.method != "POST":
            raise PermissionDenied
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.workflow_may_act(request, obj):
            raise PermissionDenied
        opts = self.model._meta
        back = HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))
        name = request.POST.get("action")
        if name not in self.workflow_names():
            return back
        if not self.workflow_may(request.user, name):
            raise PermissionDenied
        if name not in self.workflow_steps(request, obj):  # the buttons shown; the service checks the table again
            refusal = self.workflow_not_offered(obj, name)
        else:
            refusal = self.workflow_missing_input(request, name)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return back
        if self.workflow_needs_confirmation(name) and not confirmed(request):
            return self.workflow_confirmation(request, obj, name, back.url)
        try:
            note = self.workflow_run(request, obj, name)
        except self.workflow_errors as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            if note:
                self.message_user(request, note, messages.WARNING)
            else:
                self.message_user(request, gettext("%(action)s — done.") % {"action": self.workflow_label(name)},
                                  messages.SUCCESS)
        return back


class WorkflowChangeFormMixin(WorkflowAdminMixin):
    """The workflow buttons submit the change form itself (issue #14 item 5: "one form per case
    page, so a button never discards what was entered").

    A button posts the whole page with ``_workflow_step=<name>``. The page is validated as on
    Save; if it is invalid, the errors are shown and nothing moves. If it is valid, what was
    entered (fields, the materials checklist, invoices) is saved and then the step is taken, in
    the one transaction of Django's change view: when the step is refused the save is rolled back
    too and the page is shown again with what was entered and the refusal. A step that moves money
    or cannot be undone (WorkflowButtons.confirm) first shows the confirmation page, which carries
    the posted page and posts it again with confirmed=yes; nothing is saved before that.
    """

    save_on_top = True  # the first submit button of the form is Save (Enter saves), the steps follow it

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        name = request.POST.get(STEP_FIELD) if request.method == "POST" and object_id else None
        if not name:
            return super().changeform_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_change_permission(request, obj) or not self.workflow_may(request.user, name):
            raise PermissionDenied
        request._workflow_step = name
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _NeedsConfirmation:
            return self.workflow_confirmation(request, obj, name, request.path)
        except StepRefused as exc:
            request._workflow_step = None
            request._workflow_refusal = str(exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "_workflow_refusal", None)
        if refusal is None:
            return form

        class RefusedStep(form):
            def clean(self):
                data = super().clean()
                self.add_error(None, refusal)  # shown with what was entered; nothing saved
                return data

        return RefusedStep

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        name = getattr(request, "_workflow_step", None)
        if not name or not change:
            return
        obj = form.instance
        if name not in self.workflow_steps(request, obj):  # the buttons shown; the service checks the table again
            raise StepRefused(self.workflow_not_offered(obj, name))
        missing = self.workflow_missing_input(request, name)
        if missing:
            raise StepRefused(missing)
        if self.workflow_needs_confirmation(name) and not confirmed(request):
            raise _NeedsConfirmation(name)
        try:
            self.workflow_run(request, obj, name)
        except self.workflow_errors as exc:
            raise StepRefused(str(exc)) from exc
        request._workflow_done = name

    def response_change(self, request, obj):
        name = getattr(request, "_workflow_done", None)
        if name:
            self.message_user(request, gettext("%(object)s: saved; %(step)s — done.")
                              % {"object": obj, "step": self.workflow_label(name)}, messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)
