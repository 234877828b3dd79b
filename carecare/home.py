"""The home page's long-term care queues (assessments, monthly claims as they land, claim files to
confirm), the fund's payments to care homes and both workflows' processing times (medins.home)."""

from __future__ import annotations

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from claims.models import PaymentOrder, PaymentOrderStatus
from medins.home import (
    PaymentRow,
    ProcessingTime,
    Queue,
    first_decisions,
    register_payments,
    register_processing_time,
    register_queue,
)
from medins.uploads import UploadStatus

from .models import AssessmentState, AssessmentTransition, CareClaimState, CareClaimTransition
from .services import assessments as assessment_services
from .services import claims as claim_services
from .workflow import CLAIM_QUEUES, QUEUES

GROUP = _("Long-term care")


def _states(states):
    return lambda qs: qs.filter(state__in=states)


# Assessors record the initial and the on-site assessment; the reviewer starts the review and checks
# the monthly claims; the approver (a second clerk) approves both; the intake clerk, or the home's
# own operator, confirms a checked claim file.
for order, (name, label, roles, perm) in enumerate((
        ("to_assess", _("Assessments to assess (initial)"), ("assessor",), assessment_services.ASSESS),
        ("to_reassess", _("Assessments to re-assess on site"), ("assessor",), assessment_services.ASSESS),
        ("to_review", _("Assessments to review"), ("reviewer",), assessment_services.CHANGE),
        ("to_approve", _("Assessments to approve"), ("approver",), assessment_services.APPROVE))):
    register_queue(Queue(key=f"carecare.assessment.{name}", group=GROUP, group_order=40, order=order, label=label,
                         model="carecare.Assessment", filter=_states(QUEUES[name][1]), params={"queue": name},
                         age_field="requested_on", roles=roles, perms=(perm,)))

for order, (name, label, roles, perm) in enumerate((
        ("to_check", _("Monthly care claims to check"), ("reviewer",), claim_services.CHECK),
        ("to_approve", _("Monthly care claims to approve"), ("approver",), claim_services.APPROVE)), start=10):
    register_queue(Queue(key=f"carecare.careclaim.{name}", group=GROUP, group_order=40, order=order, label=label, model="carecare.CareClaim", filter=_states(CLAIM_QUEUES[name][1]),
                         params={"queue": name}, age_field="received_at", roles=roles, perms=(perm,)))

register_queue(Queue(key="carecare.careclaimupload.confirm", group=GROUP, group_order=40, order=20,
                     label=_("Care claim files checked, waiting for confirmation"), model="carecare.CareClaimUpload",
                     lookups={"status__exact": UploadStatus.CHECKED},
                     age_field="uploaded_at", roles=("intake_clerk", "institution_operator"), perms=("carecare.add_careclaim",)))


def care_claim_payments(since):
    """Payment orders to care homes for approved monthly claims (not failed), by the month ordered."""
    rows = (PaymentOrder.objects.filter(source_kind=claim_services.SOURCE_KIND, created_at__date__gte=since)
            .exclude(status=PaymentOrderStatus.FAILED)
            .annotate(month=TruncMonth("created_at")).values("month").annotate(amount=Sum("amount")).order_by())
    return [PaymentRow(month=r["month"], benefit=claim_services.BENEFIT, label=_("Long-term care"), amount=r["amount"])
            for r in rows]


register_payments("carecare.claims", care_claim_payments)


def assessment_decisions(since):
    return AssessmentTransition.objects.filter(to_state__in=(AssessmentState.APPROVED, AssessmentState.REJECTED),
                                               at__gte=since)


def claim_decisions(since):
    """Each claim's first approval or rejection (a claim resent after rejection counts once)."""
    return first_decisions(CareClaimTransition, "claim_id", (CareClaimState.APPROVED, CareClaimState.REJECTED), since)


register_processing_time(ProcessingTime(key="carecare.assessment", label=_("Long-term care assessments"),
                                        decisions=assessment_decisions, start="assessment__requested_on", end="at",
                                        order=30, perms=("carecare.view_assessment",)))
register_processing_time(ProcessingTime(key="carecare.careclaim", label=_("Monthly care claims"),
                                        decisions=claim_decisions, start="claim__received_at", end="at", order=40,
                                        perms=("carecare.view_careclaim",)))
