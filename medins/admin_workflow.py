"""The admin's workflow buttons, generated from a workflow's transitions table (DESIGN "Workflows").

A workflow's admin declares its clerk steps once — ``{name: (label, service name, needs reason)}``
— and the extra permissions a step needs beyond changing the object (medins.roles). This helper
answers, for an object's state and a user, which buttons to show (the services with an edge out
of the state in the table, in table order, that the user's role may take) and builds the bulk
actions of the changelist from the same declaration. The action view accepts exactly the buttons
shown; the service checks the table again under its lock. Cases (claims.admin) and certifications
(claims.certifications.admin) use it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages

from .workflow import Workflow


class WorkflowButtons:
    def __init__(self, workflow: Workflow, steps: dict[str, tuple], extra_permissions: dict[str, tuple[str, ...]]):
        self.workflow = workflow
        self.steps = steps
        self.extra_permissions = extra_permissions
        self.step_of_service = {step[1]: name for name, step in steps.items()}

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
                    describe: Callable = str, permission: str = "change"):
        """A changelist action taking step `name` for each selected object in pk order;
        `run(name, user=, obj=)` calls the service, a refusal (`errors`) is reported per object."""

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

        action.__name__ = f"action_{name}"
        action.short_description = self.label(name)
        # Django offers an action when ANY of its permissions holds: a step with its own permission says so.
        action.allowed_permissions = (permission,)
        return action
