"""One transition-and-audit helper for every workflow (DESIGN.md "Workflows").

A workflow is one table ``{(from_state, to_state): service name}``. Every change of state goes
through :func:`transition`, which

1. checks the table: the edge exists *and* belongs to the service that is running (the innermost
   function decorated with :meth:`Workflow.service`), so a service can take only its own edges —
   "return for review" cannot take "start review"'s edge, whatever view or task calls it;
2. runs the workflow's guard for the edge (reviewer set, materials complete, covered, four eyes…),
   in the service, whoever the caller;
3. changes the state with a conditional ``UPDATE … WHERE pk = … AND state = <state read>``, so a
   concurrent second change fails instead of overwriting (also where ``SELECT … FOR UPDATE`` is
   not available);
4. records who, when, from, to and why in the workflow's transition model, in the same
   transaction.

Cases (``claims.workflow``) and settlement runs (``claims.settlement.workflow``) use it now;
certifications and care claims declare their own :class:`Workflow` and reuse it.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.module_loading import import_string

_running: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("medins_workflow_services", default=())


class WorkflowError(Exception):
    """Base of the helper's refusals (workflows map them onto their own error classes)."""


class TransitionNotAllowed(WorkflowError):
    pass


class StaleState(WorkflowError):
    pass


def running_service() -> str | None:
    """The innermost workflow service running in this context (None outside any)."""
    stack = _running.get()
    return stack[-1] if stack else None


@dataclass(frozen=True)
class Record:
    """How a workflow's transition model stores one transition (`model` may be "app_label.Model",
    resolved when first used, so a workflow table can be declared before its models)."""

    model: type[models.Model] | str
    subject: str  # the foreign key to the object moved ("case", "run")
    actor: str = "actor"
    reason: str = "reason"
    reason_max: int | None = None


@dataclass
class Workflow:
    """A state machine: the one table of allowed transitions and how they are recorded.

    ``refuse(obj, to, why)`` and ``stale(obj, to)`` build the exception the workflow's callers
    expect (e.g. claims' InvalidTransition); ``guard(obj, frm, to, changes, acting_user)`` raises
    when an edge's condition does not hold.
    """

    name: str
    transitions: dict[tuple[str, str], str]
    record: Record
    state_field: str = "state"
    refuse: Callable[[Any, str, str], Exception] | None = None
    stale: Callable[[Any, str], Exception] | None = None
    # guard(obj, frm, to, changes, acting_user): a callable or its dotted path (resolved when first used)
    guard: Callable[..., None] | str | None = None
    services: frozenset[str] = field(init=False)

    def __post_init__(self):
        self.services = frozenset(self.transitions.values())

    # ------------------------------------------------------------------ reading the table

    def service_of(self, frm: str, to: str) -> str | None:
        return self.transitions.get((frm, to))

    def allowed(self, frm: str, to: str, service: str | None = None) -> bool:
        owner = self.service_of(frm, to)
        return owner is not None and (service is None or owner == service)

    def edges_of(self, service: str) -> list[tuple[str, str]]:
        return [edge for edge, owner in self.transitions.items() if owner == service]

    def services_from(self, state: str) -> list[str]:
        """The services that may move an object out of `state`, in table order, each once."""
        out: list[str] = []
        for (frm, _to), owner in self.transitions.items():
            if frm == state and owner not in out:
                out.append(owner)
        return out

    def targets(self, state: str, service: str) -> list[str]:
        return [to for (frm, to), owner in self.transitions.items() if frm == state and owner == service]

    # ------------------------------------------------------------------ services

    def service(self, func: Callable) -> Callable:
        """Mark `func` as this workflow's service of the same name: while it runs, transition()
        lets it take only the edges the table gives to that name."""
        name = func.__name__
        if name not in self.services:
            raise ValueError(f"{name} is not a service of the {self.name} workflow's table")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            token = _running.set((*_running.get(), name))
            try:
                return func(*args, **kwargs)
            finally:
                _running.reset(token)

        wrapper.workflow_service = name
        return wrapper

    def check(self, frm: str, to: str, *, obj=None) -> str:
        """Refuse unless (frm, to) is in the table and belongs to the running service; return it."""
        service = running_service()
        owner = self.service_of(frm, to)
        if owner is None:
            why = f"{self.name}: {frm or '∅'} → {to} is not a transition of the workflow"
        elif service != owner:
            why = f"{self.name}: {frm} → {to} is taken by {owner}, not by {service or 'code outside the services'}"
        else:
            return owner
        raise (self.refuse(obj, to, why) if self.refuse else TransitionNotAllowed(why))

    def record_rows(self, subject_ids: Iterable[int], *, frm: str, to: str, acting_user, reason: str = "") -> list:
        """Unsaved transition rows for many objects moved together (set-based services)."""
        rec = self.record
        model = apps.get_model(rec.model) if isinstance(rec.model, str) else rec.model
        reason = (reason or "")[: rec.reason_max] if rec.reason_max else (reason or "")
        return [model(**{f"{rec.subject}_id": pk, "from_state": frm, "to_state": to, rec.actor: acting_user,
                             rec.reason: reason}) for pk in subject_ids]


def transition(workflow: Workflow, obj: models.Model, to: str, *, acting_user, reason: str = "",
               fields: dict | None = None) -> models.Model:
    """Move `obj` to `to`: table check for the running service, the edge's guard, a conditional
    UPDATE on the state read, and the transition record (who, when, from, to, why).

    `fields` are written in the same UPDATE. The in-memory object is updated to match. Raises the
    workflow's refusal when the edge is not the running service's or its guard fails, and its
    stale-state error when the row's state is no longer the one read.
    """
    state_field = workflow.state_field
    frm = getattr(obj, state_field)
    workflow.check(frm, to, obj=obj)
    changes = {state_field: to, **(fields or {})}
    if workflow.guard is not None:
        check = import_string(workflow.guard) if isinstance(workflow.guard, str) else workflow.guard
        check(obj, frm, to, changes, acting_user)
    model = type(obj)
    if model._default_manager.filter(pk=obj.pk, **{state_field: frm}).update(**changes) != 1:
        if workflow.stale:
            raise workflow.stale(obj, to)
        raise StaleState(f"{workflow.name}: {model.__name__} {obj.pk} is no longer {frm}")
    for name, value in changes.items():
        setattr(obj, name, value)
    (row,) = workflow.record_rows([obj.pk], frm=frm, to=to, acting_user=acting_user, reason=reason)
    row.save()
    return obj


def transition_text(from_state: str, to_state: str, choices=None) -> str:
    """A recorded transition as a reader sees it (issue 14 item 4): the states' labels in the active
    language ("待审核 → 已批准"), "新建" for the first edge; a state without a label shows its code."""
    from django.utils.translation import pgettext

    labels = dict(choices or ())

    def shown(state: str) -> str:
        return str(labels.get(state, state))

    return f"{shown(from_state) if from_state else pgettext('transition', 'new')} → {shown(to_state)}"
