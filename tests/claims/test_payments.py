"""Nightly payment orders and the bank result file (DESIGN: jobs idempotent, never pay twice)."""

import datetime as dt

import pytest

from claims.models import PaymentFile, PaymentOrder
from claims.services import case_approve, case_calculate, case_payment_reorder, case_start_review, payment_result_import
from claims.tasks import payment_orders_nightly
from claims.workflow import CaseState
from tests.claims.factories import invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(new_case, reviewer, approver):
    def make(n=1):
        cases = []
        for i in range(n):
            case = new_case(invoices=[invoice(number=f"P-{i}")])
            case_start_review(acting_user=reviewer, case=case)
            case_calculate(acting_user=reviewer, case=case)
            case_approve(acting_user=approver, case=case)
            cases.append(case)
        return cases

    return make


def test_nightly_job_orders_approved_cases_in_one_file_per_day(approved):
    cases = approved(3)
    result = payment_orders_nightly("2021-06-01")
    assert result == {"pay_date": "2021-06-01", "created": True, "orders": 3}
    f = PaymentFile.objects.get()
    assert f.content.count("\n") == 4  # header + 3 orders
    for c in cases:
        c.refresh_from_db()
        assert c.state == CaseState.PAYMENT_ORDERED
    assert f.total_amount == sum(c.payable_amount for c in cases)


def test_running_the_nightly_job_twice_creates_nothing_new(approved):
    """Idempotent job: the second run the same day creates no file and no order."""
    approved(2)
    payment_orders_nightly("2021-06-01")
    second = payment_orders_nightly("2021-06-01")
    assert second["created"] is False
    assert PaymentOrder.objects.count() == 2 and PaymentFile.objects.count() == 1


def test_bank_result_marks_paid_and_failed_and_is_idempotent(approved, make_clerk):
    finance = make_clerk("finance1")
    good, bad = approved(2)
    payment_orders_nightly("2021-06-01")
    o_good = PaymentOrder.objects.get(case=good)
    o_bad = PaymentOrder.objects.get(case=bad)
    content = f"order_no,result,message\n{o_good},success,\n{o_bad},failed,账户不存在\nZF99999999,success,\n"
    counts = payment_result_import(acting_user=finance, content=content)
    assert (counts["paid"], counts["failed"], len(counts["errors"])) == (1, 1, 1)
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.state, bad.state) == (CaseState.PAID, CaseState.PAYMENT_FAILED)
    again = payment_result_import(acting_user=finance, content=content)
    assert (again["paid"], again["failed"], again["unchanged"]) == (0, 0, 2)


def test_failed_payment_is_ordered_again_after_the_account_is_corrected(approved, make_clerk, approver):
    """A corrected account is a new payee: the case goes back for approval by a second approver
    (issue #11 item 2) before the next nightly run orders it."""
    finance = make_clerk("finance1")
    (case,) = approved(1)
    payment_orders_nightly("2021-06-01")
    order = PaymentOrder.objects.get()
    payment_result_import(acting_user=finance, content=f"order_no,result,message\n{order},failed,户名不符\n")
    case_payment_reorder(acting_user=finance, case=case, bank_account="6222 0000 9999 8888")
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED
    case_approve(acting_user=approver, case=case)
    payment_orders_nightly("2021-06-02")
    case.refresh_from_db()
    assert case.state == CaseState.PAYMENT_ORDERED
    new = PaymentOrder.objects.exclude(pk=order.pk).get()
    assert new.bank_account == "6222000099998888" and new.payment_file.pay_date == dt.date(2021, 6, 2)


def test_nightly_job_retries_only_transient_database_errors():
    """DESIGN jobs: retried with backoff on specific transient errors, never on a terminal one."""
    from django.db import OperationalError

    assert payment_orders_nightly.autoretry_for == (OperationalError,)
    assert payment_orders_nightly.retry_backoff and payment_orders_nightly.max_retries == 5


@pytest.mark.parametrize("n", [3, 30])
def test_nightly_job_queries_do_not_grow_with_the_cases(new_case, n, django_assert_max_num_queries):
    """Issue #4 (100 000 cases < 60 s): the job is set-based per batch of cases, not per case."""
    from decimal import Decimal

    from claims.approval import approval_digest
    from claims.models import Case
    from claims.services import payment_orders_create, system_user

    for i in range(n):
        new_case(invoices=[invoice(number=f"N-{i}")])
    Case.objects.update(state=CaseState.APPROVED, payable_amount=Decimal("10.00"))
    for case in Case.objects.select_related("person"):  # as approval leaves them: with the approval digest
        Case.objects.filter(pk=case.pk).update(approval_digest=approval_digest(
            case_id=case.pk, amount=case.payable_amount, payee=case.person.name, account=case.bank_account))
    user = system_user()
    with django_assert_max_num_queries(16):
        payment_file, created = payment_orders_create(acting_user=user, pay_date=dt.date(2021, 6, 1))
    assert created and payment_file.order_count == n and payment_file.total_amount == Decimal("10.00") * n
    first = Case.objects.order_by("pk").first()
    assert PaymentOrder.objects.get(case=first).history.get().history_user == user
    # DESIGN audit: the state change is in the case's history, with its author, and recorded as a transition
    latest = first.history.order_by("-history_date", "-history_id").first()
    assert (latest.state, latest.history_user, latest.history_change_reason) == (CaseState.PAYMENT_ORDERED, user,
                                                                                "approved → payment_ordered")
    assert first.transitions.filter(from_state=CaseState.APPROVED, to_state=CaseState.PAYMENT_ORDERED, actor=user).count() == 1


def test_bank_result_import_records_history_and_transitions_with_the_bank_message(approved, make_clerk):
    """DESIGN audit + §6: the bank's answer moves each case, recorded with who, when and the bank's message."""
    finance = make_clerk("finance1")
    good, bad = approved(2)
    payment_orders_nightly("2021-06-01")
    o_good, o_bad = PaymentOrder.objects.get(case=good), PaymentOrder.objects.get(case=bad)
    payment_result_import(acting_user=finance, content=f"order_no,result,message\n{o_good},success,\n{o_bad},failed,户名不符\n")
    o_bad.refresh_from_db()
    assert (o_bad.status, o_bad.bank_message, o_bad.history.first().history_user) == ("failed", "户名不符", finance)
    t = bad.transitions.order_by("pk").last()
    assert (t.from_state, t.to_state, t.actor, t.reason) == ("payment_ordered", "payment_failed", finance, "户名不符")
    assert good.transitions.order_by("pk").last().reason == "银行支付成功"
    latest = good.history.order_by("-history_id").first()
    assert (latest.state, latest.history_user, latest.history_change_reason) == ("paid", finance, "payment_ordered → paid")


def test_bank_result_import_queries_do_not_grow_with_the_orders(approved, make_clerk, django_assert_max_num_queries):
    """A day's result file is imported set-based: a fixed number of queries, not a few per order."""
    finance = make_clerk("finance1")
    cases = approved(3)
    payment_orders_nightly("2021-06-01")
    orders = [PaymentOrder.objects.get(case=c) for c in cases]
    with django_assert_max_num_queries(14):
        payment_result_import(acting_user=finance, content="order_no,result,message\n" + "".join(f"{o},success,\n" for o in orders))
    assert PaymentOrder.objects.filter(status="paid").count() == 3


def test_a_failed_payment_replaces_an_old_reason_on_the_portal(approved, make_clerk, client):
    """Issue #14 item 8: after a payment failure the case's reason is the bank's answer, not an
    earlier '缺少材料' reason; a paid case keeps no stale reason."""
    from claims.models import Case, SchoolOperator
    from tests.enrollment.factories import SchoolFactory, UserFactory

    finance = make_clerk("finance1")
    good, bad = approved(2)
    Case.objects.filter(pk__in=[good.pk, bad.pk]).update(reason="缺少材料：发票原件")
    payment_orders_nightly("2021-06-01")
    content = (f"order_no,result,message\n{PaymentOrder.objects.get(case=good)},success,\n"
               f"{PaymentOrder.objects.get(case=bad)},failed,账户不存在\n")

    payment_result_import(acting_user=finance, content=content)

    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.reason, bad.reason) == ("", "账户不存在")
    school = SchoolFactory(region=bad.person.region)
    Case.objects.filter(pk=bad.pk).update(school=school)
    operator = UserFactory(username="portal_op", is_staff=False)
    SchoolOperator.objects.create(user=operator, school=school)
    client.force_login(operator)
    from django.urls import reverse

    page = client.get(reverse("portal:case", args=[bad.pk])).content.decode()
    assert "缺少材料" not in page and "账户不存在" in page
