"""The finding workflow (DOMAIN.md §9, issue 15 item 3): states and the one transitions table.

open → dismissed (with a reason) | confirmed_pending_second (a supervisor confirms) →
confirmed (a *second, different* person approves: four eyes, as a case's approver is never its
reviewer) or back to open (the second person disagrees, with a reason). A confirmed finding is
what a recovery order is built on.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from medins.workflow import Record, Workflow


class FindingState(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Dismissed")
    CONFIRMED_PENDING_SECOND = "confirmed_pending_second", _("Confirmed, waiting for a second person")
    CONFIRMED = "confirmed", _("Confirmed")


S = FindingState

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.OPEN, S.DISMISSED): "finding_dismiss",
    (S.OPEN, S.CONFIRMED_PENDING_SECOND): "finding_confirm",
    (S.CONFIRMED_PENDING_SECOND, S.CONFIRMED): "finding_approve",
    (S.CONFIRMED_PENDING_SECOND, S.OPEN): "finding_return",
}

TERMINAL = frozenset({S.DISMISSED, S.CONFIRMED})


def _refuse(finding, to_state: str, why: str) -> Exception:
    from .errors import InvalidFindingTransition

    return InvalidFindingTransition(why)


def _stale(finding, to_state: str) -> Exception:
    from .errors import InvalidFindingTransition

    return InvalidFindingTransition(_("The finding was changed by someone else; reload it."))


FINDINGS = Workflow(
    name="finding", transitions=TRANSITIONS,
    record=Record(model="supervision.FindingTransition", subject="finding", actor="actor", reason="reason"),
    refuse=_refuse, stale=_stale, guard="claims.supervision.services.finding_guard",
)
