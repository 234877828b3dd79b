"""The certification lifecycle (DOMAIN.md §5): states and the one transitions table.

One table serves the four kinds (chronic, special disease, special drug, 两病); what differs
between kinds is data (claims/certifications/kinds.py: required documents, who may approve,
validity). Every change of state goes through one service of ``services.py`` that may take only
the edges this table gives to its name (medins.workflow), recorded as a CertificationTransition.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from medins.workflow import Record, Workflow


class CertificationState(models.TextChoices):
    APPLIED = "applied", _("Applied")
    INCOMPLETE = "incomplete", _("Documents incomplete")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved (in force)")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Superseded")


S = CertificationState
OPEN = (S.APPLIED, S.INCOMPLETE, S.RESUBMITTED, S.UNDER_REVIEW)
# States of a certification that was approved: its validity window (valid_from..valid_to) is what
# the benefits read; the state only says whether it is still in force.
WAS_APPROVED = (S.APPROVED, S.EXPIRED, S.REVOKED, S.SUPERSEDED)

# (from, to) -> the service that performs it.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.APPLIED, S.INCOMPLETE): "certification_request_documents",
    (S.RESUBMITTED, S.INCOMPLETE): "certification_request_documents",
    (S.UNDER_REVIEW, S.INCOMPLETE): "certification_request_documents",
    (S.INCOMPLETE, S.RESUBMITTED): "certification_resubmit",
    (S.APPLIED, S.UNDER_REVIEW): "certification_start_review",
    (S.RESUBMITTED, S.UNDER_REVIEW): "certification_start_review",
    (S.UNDER_REVIEW, S.APPROVED): "certification_approve",
    **{(state, S.REJECTED): "certification_reject" for state in OPEN},
    (S.APPROVED, S.EXPIRED): "certification_expire",
    (S.APPROVED, S.REVOKED): "certification_revoke",
    (S.APPROVED, S.SUPERSEDED): "certification_supersede",
}

TERMINAL = frozenset({S.REJECTED, S.EXPIRED, S.REVOKED, S.SUPERSEDED})


def _refuse(certification, to_state: str, why: str) -> Exception:
    from .errors import InvalidTransition

    return InvalidTransition(certification, to_state, why=why)


def _stale(certification, to_state: str) -> Exception:
    from .errors import ConcurrentChange

    return ConcurrentChange(_("certification %(number)s was changed by someone else; reload it") % {
        "number": certification.number})


CERTIFICATIONS = Workflow(
    name="certification", transitions=TRANSITIONS,
    record=Record(model="certifications.CertificationTransition", subject="certification", actor="actor", reason="reason"),
    refuse=_refuse, stale=_stale, guard="claims.certifications.services.certification_guard",
)

# Work queues of the admin: name -> (label, states). "incomplete_overdue" and "expiring" also
# filter on dates (selectors.queue).
QUEUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "review": (_("Waiting for review"), (S.APPLIED, S.RESUBMITTED, S.UNDER_REVIEW)),
    "incomplete": (_("Waiting for documents"), (S.INCOMPLETE,)),
    "incomplete_overdue": (_("Documents missing for too long"), (S.INCOMPLETE,)),
    "expiring": (_("Expiring within 30 days"), (S.APPROVED,)),
    "in_force": (_("In force"), (S.APPROVED,)),
    "closed": (_("Closed"), tuple(TERMINAL)),
}
