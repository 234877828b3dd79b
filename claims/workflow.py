"""The reimbursement case workflow (手工报销, DOMAIN.md §6): states and the one transitions table.

Every change of state goes through one service (``claims.services.cases``, ``.payments``), which
may take only the edges this table gives to its name: ``CASES`` (medins.workflow) checks the
table for the running service under a row lock, runs the edge's guard (``cases.case_guard``:
reviewer set, materials complete, covered, four eyes), moves the state conditionally and records
a CaseTransition row. The admin's buttons and its action view are built from the same table.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from medins.workflow import Record, Workflow


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


def _refuse(case, to_state: str, why: str) -> Exception:
    from .errors import InvalidTransition

    return InvalidTransition(case, to_state, why=why)


def _stale(case, to_state: str) -> Exception:
    from .errors import ConcurrentChange

    return ConcurrentChange(_("case %(number)s was changed by someone else; reload it") % {"number": case.number})


CASES = Workflow(
    name="case", transitions=TRANSITIONS,
    record=Record(model="claims.CaseTransition", subject="case", actor="actor", reason="reason"),
    refuse=_refuse, stale=_stale, guard="claims.services.cases.case_guard",
)


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
