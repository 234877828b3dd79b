"""Two approvals of one person's cases at once (PostgreSQL row locks, real second connections):
the yearly cap holds (issue #10 item 6, DOMAIN §3.5)."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection, connections
from django.db.models import Sum

from claims.errors import Recalculated
from claims.ledger.models import LedgerAccount
from claims.ledger.selectors import discrepancies
from claims.models import Case
from claims.services import case_approve, case_calculate, case_start_review
from claims.workflow import CaseState
from tests.claims.factories import invoice

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_of_one_persons_cases_keep_the_yearly_cap(new_case, reviewer, approver, make_clerk,
                                                                       covered_adult):
    """Both cases were calculated on an empty year (200 000 each). Two approvers approve at the
    same moment on two connections: one approval takes the person's ledger lock first and pays;
    the other waits for it, recomputes on the committed figures and is refused as recalculated.
    Together they never pay more than the cap."""
    second_approver = make_clerk("approver2")
    cases = []
    for number in ("INV-X1", "INV-X2"):
        case = new_case(invoices=[invoice(number=number, a="300000.00", b="0.00", c="0.00")])
        case_start_review(acting_user=reviewer, case=case)
        cases.append(case_calculate(acting_user=reviewer, case=case))
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def approve(case, user):
        try:
            barrier.wait()
            case_approve(acting_user=user, case=case)
            outcomes.append("approved")
        except Recalculated:
            outcomes.append("recalculated")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(c, u)) for c, u in zip(cases, (approver, second_approver), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(outcomes) == ["approved", "recalculated"]
    approved = Case.objects.filter(state=CaseState.APPROVED)
    assert approved.aggregate(s=Sum("fund_amount"))["s"] == D("200000.00")
    waiting = Case.objects.get(state=CaseState.CALCULATED)
    assert waiting.fund_amount == D("0.00")
    year = LedgerAccount.objects.get(person=covered_adult, year=2021, benefit="", item="")
    assert year.cap_fund == D("200000.00")
    assert discrepancies() == []
