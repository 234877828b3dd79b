"""What the home page shows a user: the queues on its desk and the cards it may see."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Count, Min
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from medins.roles import MATRIX

from .registry import Card, Queue, cards, queues


def user_roles(user) -> frozenset[str]:
    """The user's role groups (one query, kept on the user for the request)."""
    cached = getattr(user, "_home_roles", None)
    if cached is None:
        cached = frozenset(name for name in user.groups.values_list("name", flat=True) if name in MATRIX)
        user._home_roles = cached
    return cached


def has_perms(user, perms) -> bool:
    """All of `perms`; an entry "a|b" is satisfied by either."""
    return all(any(user.has_perm(p) for p in entry.split("|")) for entry in perms)


def on_desk(user, roles) -> bool:
    """Whether work for `roles` is this user's: the administrator and accounts without a role group
    see everything they may act on; a role user sees its roles' work."""
    if user.is_superuser or not roles:
        return True
    mine = user_roles(user)
    return not mine or bool(mine & set(roles))


def _model_admin(queue: Queue):
    return admin.site._registry.get(queue.model_class)


def changelist_url(queue: Queue) -> str:
    meta = queue.model_class._meta
    try:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(queue.params)}" if queue.params else url


def may_view(request, queue: Queue) -> bool:
    model_admin = _model_admin(queue)
    return model_admin is not None and model_admin.has_view_or_change_permission(request)


def may_act(request, queue: Queue) -> bool:
    return may_view(request, queue) and has_perms(request.user, queue.perms) and on_desk(request.user, queue.roles)


def age_days(oldest, now: dt.datetime | None = None) -> int | None:
    """Whole days since `oldest` (a timestamp, or a date counted in the local calendar)."""
    if oldest is None:
        return None
    now = now or timezone.now()
    if isinstance(oldest, dt.datetime):
        return max((now - oldest).days, 0)
    return max((timezone.localdate(now) - oldest).days, 0)


def age_text(days: int | None) -> str:
    if days is None:
        return ""
    if days == 0:
        return _("oldest today")
    return ngettext("oldest %(n)d day ago", "oldest %(n)d days ago", days) % {"n": days}


def queue_row(request, queue: Queue, now: dt.datetime | None = None) -> dict:
    """The queue's count and oldest item for this user: one aggregate query (once per request:
    the administrator's queue cards and the queue-sizes card share it)."""
    cache = request.__dict__.setdefault("_home_queue_rows", {})
    if queue.key not in cache:
        cache[queue.key] = _queue_row(request, queue, now)
    return cache[queue.key]


def _queue_row(request, queue: Queue, now: dt.datetime | None) -> dict:
    model_admin = _model_admin(queue)
    qs = queue.filter(model_admin.get_queryset(request))
    figures = qs.order_by().aggregate(n=Count("pk"), oldest=Min(queue.age_field))
    days = age_days(figures["oldest"], now) if figures["n"] else None
    return {"key": queue.key, "group": str(queue.group), "label": str(queue.label), "count": figures["n"],
            "oldest": figures["oldest"], "age_days": days, "age": age_text(days), "url": changelist_url(queue)}


def my_queues(request) -> list[Queue]:
    return [q for q in queues() if may_act(request, q)]


def viewable_queues(request) -> list[Queue]:
    return [q for q in queues() if may_view(request, q)]


def queue_cards(request, now: dt.datetime | None = None) -> list[dict]:
    """One card per group of the user's queues, each row counted."""
    groups: dict[str, dict] = {}
    for queue in my_queues(request):
        card = groups.setdefault(str(queue.group), {"key": f"queues:{queue.group_order}", "title": str(queue.group),
                                                     "template": "admin/medins/home/queues.html", "rows": []})
        card["rows"].append(queue_row(request, queue, now))
    return list(groups.values())


def card_visible(request, card: Card) -> bool:
    return has_perms(request.user, card.perms) and on_desk(request.user, card.roles)


def home_cards(request) -> list[dict]:
    """Everything the home page shows this user, in order: its queues, then the registered cards."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return []
    out = queue_cards(request)
    for card in cards():
        if card_visible(request, card):
            out.append({"key": card.key, "title": str(card.title), "template": card.template, **card.context(request)})
    return out
