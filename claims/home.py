"""The home page's reimbursement-case queues, payment files, the fund's case payments and the
cases' processing time (medins.home)."""

from __future__ import annotations

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from medins.home import (
    PaymentRow,
    ProcessingTime,
    Queue,
    first_decisions,
    register_payments,
    register_processing_time,
    register_queue,
)
from medins.roles import APPROVE_CASE, IMPORT_BANK_RESULT

from .models import Benefit, CaseTransition, PaymentFileStatus, PaymentOrder, PaymentOrderStatus
from .workflow import QUEUES, CaseState

GROUP = _("Reimbursement cases")


def _cases(name):
    states = QUEUES[name][1]
    return lambda qs: qs.filter(state__in=states)


# Whose desk each queue is on (medins.home): the intake clerk checks the materials of new cases and
# records those handed in later; the reviewer starts the review and calculates; the approver
# approves; finance pays and follows up failed payments.
_DESKS = {
    "new": (("intake_clerk", "reviewer"), ("claims.change_case",)),
    "incomplete": (("intake_clerk",), ("claims.change_case",)),
    "review": (("reviewer",), ("claims.change_case",)),
    "approve": (("approver",), ("claims.change_case", APPROVE_CASE)),
    "pay": (("finance",), ("claims.change_paymentorder",)),
}
for order, (name, (roles, perms)) in enumerate(_DESKS.items()):
    register_queue(Queue(key=f"claims.case.{name}", group=GROUP, group_order=10, order=order, label=QUEUES[name][0],
                         model="claims.Case", filter=_cases(name), params={"queue": name}, age_field="received_at",
                         roles=roles, perms=perms))

register_queue(Queue(
    key="claims.paymentfile.result", group=GROUP, group_order=10, order=10,
    label=_("Payment files waiting for the bank's result"), model="claims.PaymentFile",
    lookups={"status__exact": PaymentFileStatus.CREATED},
    age_field="created_at", roles=("finance",), perms=(IMPORT_BANK_RESULT,)))


def case_payments(since):
    """Payment orders to insured persons (not failed: a failed one is ordered again), by the month
    they were ordered and the benefit their case type is computed with."""
    rows = (PaymentOrder.objects.filter(case__isnull=False, created_at__date__gte=since)
            .exclude(status=PaymentOrderStatus.FAILED)
            .annotate(month=TruncMonth("created_at")).values("month", "case__case_type__benefit")
            .annotate(amount=Sum("amount")).order_by())
    labels = dict(Benefit.choices)
    return [PaymentRow(month=r["month"], benefit=r["case__case_type__benefit"],
                       label=labels.get(r["case__case_type__benefit"], r["case__case_type__benefit"]), amount=r["amount"])
            for r in rows]


register_payments("claims.cases", case_payments)

_DECIDED = (CaseState.APPROVED, CaseState.REJECTED)


def case_decisions(since):
    """Each case's first approval or rejection since `since` (a case approved again after a
    payee change counts once)."""
    return first_decisions(CaseTransition, "case_id", _DECIDED, since)


register_processing_time(ProcessingTime(key="claims.case", label=_("Reimbursement cases"), decisions=case_decisions,
                                        start="case__received_at", end="at", order=10, perms=("claims.view_case",)))
