"""Things that arrive twice, at the same moment, on two connections (PostgreSQL row and index locks):
a school batch id and the nightly payment job (DESIGN.md "Idempotency", issue #10 item 6)."""

import datetime as dt
import threading

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from claims.models import Batch, Case, CaseTransition, Invoice, PaymentFile, PaymentOrder, SchoolOperator
from claims.services import batch_submit, case_approve, case_calculate, case_start_review, payment_orders_create
from claims.services import batches as batches_module
from claims.services import payments as payments_module
from claims.workflow import CaseState
from medins.models import Region
from tests.claims.factories import PersonFactory, SchoolFactory, cover, invoice
from tests.concurrency import lock_waiter_seen, run_at_once
from tests.enrollment.factories import UserFactory

pytestmark = [pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
              pytest.mark.django_db(transaction=True)]


# --------------------------------------------------------------------------- school batches


@pytest.fixture
def school_operator(reference_data):
    """A Jinan college, its API operator (token) and two covered students."""
    school = SchoolFactory(region=Region.objects.get(code="370100"), kind="college", name="并发大学")
    user = UserFactory(username="op-concurrent", is_staff=False)
    SchoolOperator.objects.create(user=user, school=school)
    students = []
    for i in range(2):
        student = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=school, name=f"学生{i}")
        cover(student)
        students.append(student)
    return {"school": school, "user": user, "students": students, "token": Token.objects.create(user=user).key}


def batch_rows(students):
    return [{"row_id": str(i), "id_number": s.id_number, "name": s.name, "case_type": "accident",
             "service_from": "2021-04-02", "institution_name": "校外医院", "institution_level": "secondary",
             "invoices": [{"issuer": "校外医院", "number": f"MZ-{i}", "issued_on": "2021-04-02", "class_a": "800.00",
                           "class_b": "0", "class_c": "0"}],
             "materials": ["invoice", "emergency_outpatient_record"]} for i, s in enumerate(students)]


@pytest.fixture
def both_past_the_existing_check(monkeypatch):
    """Both submissions meet after the `existing batch?` read and before either writes, so both
    really try to create the batch."""
    barrier, real = threading.Barrier(2), batches_module._submit

    def meet_then_submit(**kwargs):
        barrier.wait(10)
        return real(**kwargs)

    monkeypatch.setattr(batches_module, "_submit", meet_then_submit)


def assert_one_batch_with_its_cases(batch_pk, students):
    batch = Batch.objects.get()
    assert batch.pk == batch_pk
    assert (batch.total_rows, batch.accepted_rows) == (len(students), len(students))
    cases = Case.objects.all()
    assert cases.count() == len(students) and {c.batch_id for c in cases} == {batch.pk}
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"MZ-{i}" for i in range(len(students))]
    assert CaseTransition.objects.filter(to_state=CaseState.RECEIVED).count() == len(students)


def test_one_batch_id_submitted_twice_at_once_creates_one_batch(school_operator, both_past_the_existing_check):
    """DESIGN "Idempotency" (client batch id), issue #10 item 6: the same batch id submitted twice
    at the same moment, both past the existence check. The unique (school, batch id) makes the
    later insert wait for the first submission and fail; the service then returns the first batch
    — one batch, one set of cases, both callers get the same batch back."""
    op = school_operator
    rows = batch_rows(op["students"])

    def submit():
        return batch_submit(acting_user=op["user"], school=op["school"], client_batch_id="2021-04-01", rows=rows,
                            source="api")

    outcomes = run_at_once(submit, submit)

    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    (first, first_created), (second, second_created) = outcomes
    assert first.pk == second.pk
    assert sorted([first_created, second_created]) == [False, True]
    assert first.report == second.report and [r["status"] for r in first.report] == ["accepted", "accepted"]
    assert_one_batch_with_its_cases(first.pk, op["students"])


def test_one_idempotency_key_posted_twice_at_once_to_the_api_returns_one_batch(school_operator,
                                                                              both_past_the_existing_check):
    """DESIGN "Idempotency" (Idempotency-Key), issue #10 item 6, through POST /api/v1/school/batches/
    with the school operator's token: the same request sent twice at once answers 201 and 200
    with the same batch, never a 500."""
    op = school_operator
    body = {"cases": batch_rows(op["students"])}

    def post():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {op['token']}")
        return lambda: api.post("/api/v1/school/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="2021-04-A-1")

    responses = run_at_once(post(), post())

    assert all(hasattr(r, "status_code") for r in responses), responses
    assert sorted(r.status_code for r in responses) == [200, 201], responses
    first, second = (r.json() for r in responses)
    assert first["id"] == second["id"] and first["report"] == second["report"]
    assert first["batch_id"] == "2021-04-A-1"
    assert_one_batch_with_its_cases(first["id"], op["students"])


def test_two_batches_with_the_same_invoices_at_once_claim_each_invoice_once(school_operator, monkeypatch):
    """DOMAIN §6/§9 (an invoice is reimbursed once) with DESIGN "Idempotency" (invoices: issuer +
    number), issue #10 item 6: two different batch ids carrying the same invoices, both past the
    claimed-invoice check before either writes. The later bulk insert waits on the first batch's
    invoices and fails on the unique claimed invoice; its chunk is received again row by row and
    each row is refused as a duplicate naming the earlier case — both batches exist, each
    invoice is claimed by one case."""
    op = school_operator
    rows = batch_rows(op["students"])
    barrier, real = threading.Barrier(2), batches_module.claimed_invoices

    def checked_then_meet(keys):
        claimed = real(keys)
        barrier.wait(10)
        return claimed

    monkeypatch.setattr(batches_module, "claimed_invoices", checked_then_meet)

    def submit(batch_id):
        return lambda: batch_submit(acting_user=op["user"], school=op["school"], client_batch_id=batch_id, rows=rows,
                                    source="api")

    outcomes = run_at_once(submit("A"), submit("B"))

    assert all(isinstance(o, tuple) and o[1] is True for o in outcomes), outcomes
    reports = sorted(([r["status"] for r in batch.report], batch) for batch, _created in outcomes)
    (accepted, winner), (refused, loser) = reports
    assert (accepted, refused) == (["accepted", "accepted"], ["rejected", "rejected"])
    assert [r["earlier_case"] for r in loser.report] == [r["case"] for r in winner.report]
    assert {r["field"] for r in loser.report} == {"invoices"}
    assert Case.objects.count() == 2 and set(Case.objects.values_list("batch_id", flat=True)) == {winner.pk}
    assert Invoice.objects.filter(claimed=True).count() == 2


@pytest.fixture
def slow_invoice_inserts(db):
    """Each invoice row waits 0.2 s before it is inserted (a test-only trigger), so that two
    statements inserting several invoices overlap row by row, as they can under load."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION test_slow_invoice() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN PERFORM pg_sleep(0.2); RETURN NEW; END $$")
        cursor.execute("CREATE TRIGGER test_slow_invoice BEFORE INSERT ON claims_invoice FOR EACH ROW "
                       "EXECUTE FUNCTION test_slow_invoice()")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS test_slow_invoice ON claims_invoice")
        cursor.execute("DROP FUNCTION IF EXISTS test_slow_invoice()")


def test_two_batches_with_the_same_invoices_in_opposite_orders_do_not_deadlock(school_operator, slow_invoice_inserts,
                                                                               monkeypatch):
    """DESIGN (locks taken in a fixed order) and "Idempotency" (invoices), issue #10 item 6: two
    batches carry the same two invoices, listed in opposite orders, both past the claimed-invoice
    check. Inserted in the order of the rows, each batch would hold one invoice's unique-index
    entry while waiting for the other's — a deadlock, and one batch answering 500. Inserted in
    (issuer, number) order, the later batch waits for the first, and its rows are refused as
    duplicates."""
    op = school_operator
    rows = batch_rows(op["students"])
    barrier, real = threading.Barrier(2), batches_module.claimed_invoices

    def checked_then_meet(keys):
        claimed = real(keys)
        barrier.wait(10)
        return claimed

    monkeypatch.setattr(batches_module, "claimed_invoices", checked_then_meet)

    def submit(batch_id, batch):
        return lambda: batch_submit(acting_user=op["user"], school=op["school"], client_batch_id=batch_id, rows=batch,
                                    source="api")

    outcomes = run_at_once(submit("A", rows), submit("B", rows[::-1]))

    assert all(isinstance(o, tuple) and o[1] is True for o in outcomes), outcomes
    statuses = sorted(tuple(r["status"] for r in batch.report) for batch, _created in outcomes)
    assert statuses == [("accepted", "accepted"), ("rejected", "rejected")]
    assert Case.objects.count() == 2 and Invoice.objects.filter(claimed=True).count() == 2


def test_two_cases_received_at_once_with_the_same_invoices_in_opposite_orders_do_not_deadlock(
        new_case, slow_invoice_inserts, monkeypatch):
    """The same rule for one case at a time (case_receive, also the row-by-row path of a batch):
    two clerks receive the same two invoices in opposite orders at once, both past the
    claimed-invoice check. Inserted in (issuer, number) order, one case is received and the
    other is refused as a duplicate naming it — no deadlock (issue #10 item 6)."""
    from claims.errors import DuplicateInvoice
    from claims.services import cases as cases_module

    barrier, real = threading.Barrier(2), cases_module._check_invoices_free

    def checked_then_meet(invoices, **kwargs):
        real(invoices, **kwargs)
        barrier.wait(10)

    monkeypatch.setattr(cases_module, "_check_invoices_free", checked_then_meet)
    pair = [invoice(number="INV-X"), invoice(number="INV-Y")]

    outcomes = run_at_once(lambda: new_case(invoices=pair), lambda: new_case(invoices=pair[::-1]))

    received = [o for o in outcomes if isinstance(o, Case)]
    refused = [o for o in outcomes if isinstance(o, DuplicateInvoice)]
    assert (len(received), len(refused)) == (1, 1), outcomes
    assert refused[0].earlier_case == received[0].number
    assert Case.objects.count() == 1 and Invoice.objects.filter(claimed=True).count() == 2


# --------------------------------------------------------------------------- the nightly payment job


@pytest.fixture
def approved_cases(new_case, reviewer, approver):
    cases = []
    for i in range(3):
        case = new_case(invoices=[invoice(number=f"PAY-{i}", a="2000.00", b="0.00", c="0.00")])
        case_start_review(acting_user=reviewer, case=case)
        case_calculate(acting_user=reviewer, case=case)
        case_approve(acting_user=approver, case=case)
        cases.append(case)
    return cases


def assert_each_case_ordered_once(cases):
    orders = PaymentOrder.objects.all()
    assert sorted(orders.values_list("case_id", flat=True)) == sorted(c.pk for c in cases)
    assert set(Case.objects.values_list("state", flat=True)) == {CaseState.PAYMENT_ORDERED}
    ordered = CaseTransition.objects.filter(from_state=CaseState.APPROVED, to_state=CaseState.PAYMENT_ORDERED)
    assert sorted(ordered.values_list("case_id", flat=True)) == sorted(c.pk for c in cases)
    for payment_file in PaymentFile.objects.all():  # the file's figures and content are its own orders
        mine = orders.filter(payment_file=payment_file)
        assert payment_file.order_count == mine.count()
        assert payment_file.total_amount == sum(o.amount for o in mine)
        assert payment_file.content.count("\n") == 1 + mine.count()


def test_two_nightly_jobs_for_one_pay_date_at_once_make_one_file(approved_cases, reviewer, monkeypatch):
    """DESIGN "Idempotency" / "Jobs never pay twice", issue #10 item 6: the nightly job started
    twice for the same pay date (a retried task, two beat instances). The first holds its new
    file (unique pay date) while the second is seen blocked on it; the second then fails to
    create the file and returns the first one, created=False — one order per case."""
    seen, real = [], payments_module._fill

    def fill_once_the_other_waits(payment_file, acting_user, **kwargs):
        seen.append(lock_waiter_seen())
        return real(payment_file, acting_user, **kwargs)

    monkeypatch.setattr(payments_module, "_fill", fill_once_the_other_waits)

    def job():
        return payment_orders_create(acting_user=reviewer, pay_date=dt.date(2021, 6, 1))

    outcomes = run_at_once(job, job)

    assert seen == [True]
    assert all(isinstance(o, tuple) and o[0] is not None for o in outcomes), outcomes
    assert outcomes[0][0].pk == outcomes[1][0].pk
    assert sorted(created for _f, created in outcomes) == [False, True]
    assert PaymentFile.objects.count() == 1
    assert_each_case_ordered_once(approved_cases)


def test_two_nightly_jobs_for_two_pay_dates_at_once_never_order_a_case_twice(approved_cases, reviewer,
                                                                             monkeypatch):
    """DESIGN "Jobs … never pay twice", issue #10 item 6: yesterday's job re-run while today's
    runs. Each creates its own file; the approved cases are locked in pk order, so the job that
    locks them first holds them (shown here: it waits until the other is seen blocked on them)
    and the other, once released, finds them ordered and skips them. Batches of two cases, so
    the locks span several batches. Every case is ordered exactly once."""
    monkeypatch.setattr(payments_module, "BATCH_SIZE", 2)
    seen, real = [], payments_module._insert_orders

    def insert_once_the_other_waits(cursor, payment_file, ids, now):
        if not seen:
            seen.append(lock_waiter_seen())
        return real(cursor, payment_file, ids, now)

    monkeypatch.setattr(payments_module, "_insert_orders", insert_once_the_other_waits)

    outcomes = run_at_once(*(lambda day=day: payment_orders_create(acting_user=reviewer, pay_date=dt.date(2021, 6, day))
                             for day in (1, 2)))

    assert seen == [True]
    assert all(isinstance(o, tuple) and o[1] is True for o in outcomes), outcomes
    assert sorted(f.order_count for f, _created in outcomes) == [0, 3]
    assert PaymentFile.objects.count() == 2
    assert_each_case_ordered_once(approved_cases)
