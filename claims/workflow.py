"""The reimbursement case workflow (手工报销, DOMAIN.md §6): states and the one transitions table.

Every change of state goes through ``claims.services.cases`` (one service per transition),
which checks this table under a row lock and records a CaseTransition row.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    RECEIVED = "received", _("Received")
    MATERIALS_INCOMPLETE = "materials_incomplete", _("Materials incomplete")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    UNDER_REVIEW = "under_review", _("Under review")
    CALCULATED = "calculated", _("Calculated")
    APPROVED = "approved", _("Approved")
    PAYMENT_ORDERED = "payment_ordered", _("Payment ordered")
    PAID = "paid", _("Paid")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


S = CaseState
_OPEN = (S.RECEIVED, S.MATERIALS_INCOMPLETE, S.RESUBMITTED, S.UNDER_REVIEW, S.CALCULATED)

# (from, to) -> the service that performs it.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.RECEIVED, S.MATERIALS_INCOMPLETE): "case_request_materials",
    (S.RESUBMITTED, S.MATERIALS_INCOMPLETE): "case_request_materials",
    (S.UNDER_REVIEW, S.MATERIALS_INCOMPLETE): "case_request_materials",
    (S.MATERIALS_INCOMPLETE, S.RESUBMITTED): "case_resubmit",
    (S.RECEIVED, S.UNDER_REVIEW): "case_start_review",
    (S.RESUBMITTED, S.UNDER_REVIEW): "case_start_review",
    (S.CALCULATED, S.UNDER_REVIEW): "case_return_for_review",
    (S.UNDER_REVIEW, S.CALCULATED): "case_calculate",
    (S.CALCULATED, S.APPROVED): "case_approve",
    (S.APPROVED, S.PAYMENT_ORDERED): "payment_orders_create",
    (S.PAYMENT_ORDERED, S.PAID): "payment_result_import",
    (S.PAYMENT_ORDERED, S.PAYMENT_FAILED): "payment_result_import",
    (S.PAYMENT_FAILED, S.APPROVED): "case_payment_reorder",
    # The payee or bank account changed after approval: back for approval by a second approver.
    (S.APPROVED, S.CALCULATED): "case_payee_change",
    (S.PAYMENT_FAILED, S.CALCULATED): "case_payee_change",
    **{(state, S.REJECTED): "case_reject" for state in _OPEN},
    **{(state, S.WITHDRAWN): "case_withdraw" for state in _OPEN},
}

TERMINAL = frozenset({S.PAID, S.REJECTED, S.WITHDRAWN})
# States in which the case's invoices count as claimed (the same invoice may not be in another case).
INVOICE_RELEASED = frozenset({S.REJECTED, S.WITHDRAWN})
# States in which invoices, materials and case details may still be changed by a clerk.
EDITABLE = frozenset({S.RECEIVED, S.MATERIALS_INCOMPLETE, S.RESUBMITTED, S.UNDER_REVIEW})


def allowed(from_state: str, to_state: str) -> bool:
    return (from_state, to_state) in TRANSITIONS


def next_states(state: str) -> list[str]:
    return [to for (frm, to) in TRANSITIONS if frm == state]


# Work queues of the admin: name -> (label, states).
QUEUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "new": (_("New (to check materials)"), (S.RECEIVED,)),
    "incomplete": (_("Waiting for materials"), (S.MATERIALS_INCOMPLETE,)),
    "review": (_("To review and calculate"), (S.RESUBMITTED, S.UNDER_REVIEW)),
    "approve": (_("To approve"), (S.CALCULATED,)),
    "pay": (_("To pay / payment problems"), (S.APPROVED, S.PAYMENT_ORDERED, S.PAYMENT_FAILED)),
    "closed": (_("Closed"), (S.PAID, S.REJECTED, S.WITHDRAWN)),
}
