"""The home page's certification queues and the certifications' processing time (medins.home)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from medins.home import ProcessingTime, Queue, register_processing_time, register_queue
from medins.roles import APPROVE_CERTIFICATION

from .models import CertificationTransition
from .selectors import queue
from .workflow import QUEUES, CertificationState

GROUP = _("Certifications and special-drug approvals")
CHANGE = "certifications.change_certification"


def _queue(name):
    return lambda qs: queue(name, qs)


# The reviewer (or an examining hospital's operator, for its own institution) starts the review;
# the approver (or the hospital, where claims/certifications/kinds.py lets it decide) approves what
# is under review; the intake clerk and the reviewer chase documents missing for too long (aged
# from the request for them, the queue's own clock).
register_queue(Queue(key="certifications.review", group=GROUP, group_order=20, order=0, label=QUEUES["review"][0],
                     model="certifications.Certification", filter=_queue("review"), params={"queue": "review"},
                     age_field="applied_at", roles=("reviewer", "institution_operator"), perms=(CHANGE,)))
register_queue(Queue(key="certifications.approve", group=GROUP, group_order=20, order=1,
                     label=_("Under review, to approve"), model="certifications.Certification",
                     lookups={"state__exact": CertificationState.UNDER_REVIEW}, age_field="applied_at",
                     roles=("approver", "institution_operator"), perms=(CHANGE, APPROVE_CERTIFICATION)))
register_queue(Queue(key="certifications.incomplete_overdue", group=GROUP, group_order=20, order=2,
                     label=QUEUES["incomplete_overdue"][0], model="certifications.Certification",
                     filter=_queue("incomplete_overdue"), params={"queue": "incomplete_overdue"},
                     age_field="state_changed_at", roles=("intake_clerk", "reviewer"), perms=(CHANGE,)))

_DECIDED = (CertificationState.APPROVED, CertificationState.REJECTED)


def certification_decisions(since):
    """Approvals and rejections since `since` (each certification is decided once)."""
    return CertificationTransition.objects.filter(to_state__in=_DECIDED, at__gte=since)


register_processing_time(ProcessingTime(
    key="certifications.certification", label=_("Certifications and special-drug approvals"),
    decisions=certification_decisions, start="certification__applied_at", end="at", order=20,
    perms=("certifications.view_certification",)))
