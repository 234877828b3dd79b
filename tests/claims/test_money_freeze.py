"""Money fields freeze when money is committed (issue #11 item 2, finding 1: an intake clerk changed
an approved case's bank account in the admin and the nightly job paid the new account)."""

import pytest

from claims.errors import FourEyes
from claims.ledger.models import LedgerAccount, LedgerEntry
from claims.models import Case, PaymentFile, PaymentOrder
from claims.services import (
    case_approve,
    case_calculate,
    case_details_update,
    case_payee_change,
    case_start_review,
)
from claims.tasks import payment_orders_nightly
from claims.workflow import CaseState
from tests.claims.factories import invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_case(new_case, reviewer, approver):
    case = new_case(invoices=[invoice(number="F-1")], bank_account="6222000011112222")
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    return case_approve(acting_user=approver, case=case)


def test_changing_the_account_of_an_approved_case_sends_it_back_for_approval(approved_case, intake, approver,
                                                                           make_clerk, covered_adult):
    """Finding 1: the admin's edit path (case_details_update) no longer changes the account of an
    approved case in place; the case returns to calculated, its ledger entry is reversed (the
    money is not committed any more), and the nightly job pays nothing until it is approved again."""
    case = case_details_update(acting_user=intake, case=approved_case, bank_account="6222999988887777")
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED and case.bank_account == "6222999988887777"
    assert case.approved_by is None and case.approval_digest == ""
    transition = case.transitions.order_by("pk").last()
    assert (transition.from_state, transition.to_state, transition.actor) == (CaseState.APPROVED, CaseState.CALCULATED,
                                                                           intake)
    assert LedgerEntry.objects.filter(reverses__isnull=False).count() == 1
    assert LedgerAccount.objects.get(person=covered_adult, year=2021, benefit="").cap_fund == 0
    assert payment_orders_nightly("2021-06-01")["orders"] == 0

    second = make_clerk("approver2")
    case_approve(acting_user=second, case=case)
    payment_orders_nightly("2021-06-02")
    assert PaymentOrder.objects.get(case=case).bank_account == "6222999988887777"


def test_the_clerk_who_changed_the_payee_cannot_approve_it(approved_case, make_clerk):
    """Four eyes on the re-approval: not the clerk who changed the payee."""
    other = make_clerk("approver3")
    case = case_payee_change(acting_user=other, case=approved_case, bank_account="6222123412341234", reason="客户更正")
    with pytest.raises(FourEyes):
        case_approve(acting_user=other, case=case)


def test_the_nightly_job_holds_a_case_changed_behind_the_services(approved_case):
    """The job pays exactly what was approved: a bank account written into an approved case by any
    other path (a script, a direct database edit) no longer matches the approval digest, and
    the case is held back — listed on the day's file, left approved, nothing ordered."""
    Case.objects.filter(pk=approved_case.pk).update(bank_account="6222666655554444")
    result = payment_orders_nightly("2021-06-01")
    assert result["orders"] == 0
    held = PaymentFile.objects.get().held
    assert [h["case"] for h in held] == [approved_case.number]
    approved_case.refresh_from_db()
    assert approved_case.state == CaseState.APPROVED


def test_the_nightly_job_holds_a_case_whose_amount_changed_after_approval(approved_case):
    Case.objects.filter(pk=approved_case.pk).update(payable_amount=approved_case.payable_amount + 1000)
    assert payment_orders_nightly("2021-06-01")["orders"] == 0


def test_only_the_note_of_an_approved_case_changes_in_place(approved_case, intake):
    case = case_details_update(acting_user=intake, case=approved_case, note="已电话通知")
    assert case.state == CaseState.APPROVED and case.note == "已电话通知"
    digest = Case.objects.get(pk=case.pk).approval_digest
    assert payment_orders_nightly("2021-06-01")["orders"] == 1 and digest
