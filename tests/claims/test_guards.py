"""Guards of a case (DOMAIN.md §6, §9): cover on the service date, the same invoice never twice, the policy in force."""

import datetime as dt
import threading

import pytest
from django.db import connection

from claims.errors import ConcurrentChange, DuplicateInvoice, InvalidTransition
from claims.models import Case
from claims.services import case_approve, case_calculate, case_receive, case_start_review
from claims.services import cases as case_services
from claims.workflow import CaseState
from tests.claims.factories import PersonFactory, invoice

pytestmark = pytest.mark.django_db


def test_person_not_covered_on_the_service_date_is_rejected_with_that_reason(new_case, reference_data):
    """§9: a claim for a person not covered on the service date is rejected, saying so."""
    # given a person with no cover
    person = PersonFactory(birth=dt.date(1985, 1, 1))
    # when a case is received for them
    case = new_case(person=person)
    # then it is rejected with the reason recorded on the case and its transition
    assert case.state == CaseState.REJECTED
    assert "未参保" in case.reason
    assert case.transitions.last().reason == case.reason


def test_cover_that_ends_before_the_service_date_is_rejected_at_review(new_case, covered_adult, reviewer):
    """§1 stop of cover + §9: cover is checked again when the review starts."""
    case = new_case(service_from="2021-05-10")
    covered_adult.coverage_periods.update(covered_to=dt.date(2021, 5, 1))
    case_start_review(acting_user=reviewer, case=case)
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED and "未参保" in case.reason


def test_an_invoice_already_claimed_blocks_the_case_and_names_the_earlier_case(new_case):
    """§6/§9: the same invoice (issuer + number) must never be reimbursed twice."""
    first = new_case()
    with pytest.raises(DuplicateInvoice) as exc:
        new_case(invoices=[invoice(number=" inv-0001 ")])  # the same number, written differently
    assert exc.value.earlier_case == first.number
    assert Case.objects.count() == 1


def test_the_same_invoice_twice_in_one_case_is_refused(new_case):
    with pytest.raises(DuplicateInvoice):
        new_case(invoices=[invoice(), invoice()])


def test_computation_uses_the_policy_in_force_on_the_service_date(new_case, reviewer):
    """DESIGN 'Policy is data': a service date without a policy version is refused naming the parameter."""
    from claims.errors import NotComputable
    from enrollment.models import CoveragePeriod

    case = new_case(service_from="2022-03-01", service_to="2022-03-05")
    # cover in 2022 exists, but no 2022 policy is loaded
    CoveragePeriod.objects.create(person=case.person, benefit_year=2022, covered_from=dt.date(2022, 1, 1),
                                  covered_to=dt.date(2022, 12, 31))
    Case.objects.filter(pk=case.pk).update(state=CaseState.UNDER_REVIEW)
    with pytest.raises(NotComputable) as exc:
        case_calculate(acting_user=reviewer, case=case)
    assert exc.value.detail["parameter"] == "policy_version"


def test_stale_state_cannot_be_moved_twice(new_case, reviewer, approver, monkeypatch, make_clerk):
    """Two clerks at once: the conditional UPDATE ... WHERE state=<read> lets only one succeed (works on SQLite too)."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    stale = Case.objects.get(pk=case.pk)
    # given the first approver has approved
    case_approve(acting_user=approver, case=case)
    # when a second approver acts on the state read before that (the lock returns the stale copy)
    monkeypatch.setattr(case_services, "case_lock", lambda pk: stale)
    with pytest.raises(ConcurrentChange):
        case_approve(acting_user=make_clerk("approver2"), case=case)
    # then only one approval is recorded
    assert case.transitions.filter(to_state=CaseState.APPROVED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_the_same_time_only_one_succeeds(reference_data, make_clerk, changchun_emergency):
    """select_for_update + state check: two threads approving the same case, exactly one wins (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; the conditional-update test covers SQLite")
    from tests.claims.factories import cover

    intake, reviewer = make_clerk("i1"), make_clerk("r1")
    approvers = [make_clerk("a1"), make_clerk("a2")]
    person = PersonFactory(birth=dt.date(1980, 1, 1))
    cover(person)
    case = case_receive(acting_user=intake, case_type=changchun_emergency, person=person, service_from="2021-05-10",
                        institution_name="外地医院", institution_level="secondary", invoices=[invoice(number="T-1")],
                        materials_received=[m.code for m in changchun_emergency.materials.all()])
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    barrier = threading.Barrier(2)
    results = []

    def approve(user):
        try:
            barrier.wait()
            case_approve(acting_user=user, case=case)
            results.append("ok")
        except (InvalidTransition, ConcurrentChange) as exc:
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[0] != "ok" or results.count("ok") == 1
    assert results.count("ok") == 1
    assert case.transitions.filter(to_state=CaseState.APPROVED).count() == 1


def test_third_party_compensation_is_deducted_from_class_a_then_b(new_case, reviewer):
    """Decision (claims/calculation.py): third-party compensation reduces the compliant cost, class A first, then B."""
    case = new_case(invoices=[invoice(a="1000.00", b="3000.00", c="500.00")], third_party_paid="1500.00")
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    case.refresh_from_db()
    assert case.breakdown["request"]["bill"] == {"class_a": "0.00", "class_b": "2500.00", "class_c": "500.00"}
    assert case.breakdown["adjustments"]["third_party_deducted"] == [{"class": "class_a", "amount": "1000.00"},
                                                                     {"class": "class_b", "amount": "500.00"}]


def test_lost_invoice_stub_copy_needs_the_written_promise(new_case, reviewer):
    """Jinan 问题7: a lost invoice is replaced by a sealed stub copy plus a written promise not to claim twice."""
    from claims.errors import MaterialsMissing

    case = new_case(invoices=[invoice(kind="stub_copy")])
    with pytest.raises(MaterialsMissing) as exc:
        case_start_review(acting_user=reviewer, case=case)
    assert "书面承诺" in str(exc.value)
    ok = new_case(invoices=[invoice(number="S-2", kind="stub_copy")], lost_invoice_promise=True)
    case_start_review(acting_user=reviewer, case=ok)
