"""The registry of the home page's queues, cards, payment sources and processing times (see the package docstring)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

_QUEUES: dict[str, Queue] = {}
_CARDS: dict[str, Card] = {}
_PAYMENTS: dict[str, Callable[[dt.date], Iterable[PaymentRow]]] = {}
_TIMES: dict[str, ProcessingTime] = {}
_discovered = False


@dataclass(frozen=True)
class Queue:
    """One work queue: the model's rows the user's admin shows, narrowed by `filter`.

    `params` is the changelist's query string for the same rows (the admin's own queue filter
    where there is one: ``{"queue": "approve"}``); a test checks, per queue and role, that the
    changelist behind the link counts what the home page counts. A queue that is a plain field
    condition declares it once as `lookups` (``{"status__exact": "checked"}``): the filter and the
    link's parameters are both made from it. `age_field` is the submission time (a DateTimeField
    or DateField) of which the oldest is shown."""

    key: str
    group: str  # the card it appears on (e.g. "Reimbursement cases")
    label: str
    model: str  # "app_label.ModelName"
    age_field: str
    filter: Callable[[QuerySet], QuerySet] | None = None
    params: dict[str, str] | None = None
    roles: tuple[str, ...] = ()
    perms: tuple[str, ...] = ()
    order: int = 100
    group_order: int = 100
    lookups: dict[str, Any] | None = None

    def __post_init__(self):
        if self.lookups is not None:
            if self.filter is not None or self.params is not None:
                raise ValueError(f"queue {self.key}: lookups replace filter and params")
            lookups = dict(self.lookups)
            object.__setattr__(self, "filter", lambda qs: qs.filter(**lookups))
            object.__setattr__(self, "params", {key: str(value) for key, value in lookups.items()})
        elif self.filter is None or self.params is None:
            raise ValueError(f"queue {self.key}: give lookups, or filter and params")

    @property
    def model_class(self):
        from django.apps import apps

        return apps.get_model(self.model)


@dataclass(frozen=True)
class Card:
    """A card of the home page with its own template; `context(request)` is called only when shown."""

    key: str
    title: str
    template: str
    context: Callable[[Any], dict]
    roles: tuple[str, ...] = ()
    perms: tuple[str, ...] = ()
    order: int = 100


@dataclass(frozen=True)
class PaymentRow:
    month: dt.date  # the first day of the month
    benefit: str  # a code (inpatient, chronic, long_term_care …)
    label: str  # its label
    amount: Decimal


def first_decisions(transitions, owner: str, decided: tuple, since) -> QuerySet:
    """Each object's first transition of `transitions` (a transition model) into one of the `decided`
    states since `since`; an object decided again (approved again after a payee change, resent
    after a rejection) counts once. `owner` is the transition's field of the object ("case_id")."""
    from django.db.models import Exists, OuterRef

    earlier = transitions.objects.filter(**{owner: OuterRef(owner)}, to_state__in=decided, pk__lt=OuterRef("pk"))
    return transitions.objects.filter(to_state__in=decided, at__gte=since).exclude(Exists(earlier))


@dataclass(frozen=True)
class ProcessingTime:
    """Decisions of one workflow: `decisions(since)` is a queryset with one row per decision taken
    since that day; `start` and `end` name its submission and decision times (expressions or
    field paths)."""

    key: str
    label: str
    decisions: Callable[[dt.datetime], QuerySet]
    start: str
    end: str
    order: int = 100
    perms: tuple[str, ...] = field(default=())


def register_queue(queue: Queue) -> Queue:
    _QUEUES[queue.key] = queue
    return queue


def register_card(card: Card) -> Card:
    _CARDS[card.key] = card
    return card


def register_payments(key: str, source: Callable[[dt.date], Iterable[PaymentRow]]) -> None:
    """`source(since)`: the payments since the first day of a month, as PaymentRows (one query)."""
    _PAYMENTS[key] = source


def register_processing_time(item: ProcessingTime) -> ProcessingTime:
    _TIMES[item.key] = item
    return item


def discover() -> None:
    """Import every installed app's ``home`` module once (as the admin's autodiscover does)."""
    global _discovered
    if _discovered:
        return
    from django.utils.module_loading import autodiscover_modules

    from . import core  # noqa: F401  (the core app's own queues and the supervisor's cards)

    autodiscover_modules("home")
    _discovered = True


def queues() -> list[Queue]:
    discover()
    return sorted(_QUEUES.values(), key=lambda q: (q.group_order, q.order, q.key))


def cards() -> list[Card]:
    discover()
    return sorted(_CARDS.values(), key=lambda c: (c.order, c.key))


def payment_sources() -> dict[str, Callable[[dt.date], Iterable[PaymentRow]]]:
    discover()
    return dict(_PAYMENTS)


def processing_times() -> list[ProcessingTime]:
    discover()
    return sorted(_TIMES.values(), key=lambda t: (t.order, t.key))
