"""One receipt recorded twice at once (PostgreSQL, real second connections): one payment, one set of
coverage periods, and the documented duplicate answer for the other call (DESIGN.md "Idempotency",
issue #10 item 6)."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test import Client

from enrollment.errors import DuplicateReceipt
from enrollment.models import CoveragePeriod, Payment
from enrollment.services import payment_record
from enrollment.services import payments as payments_module
from tests.concurrency import lock_waiter_seen, run_at_once

pytestmark = [pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
              pytest.mark.django_db(transaction=True)]

PAID_ON = dt.date(2021, 3, 15)


def record(person, receipt="R-SAME"):
    return lambda: payment_record(acting_user=None, person=person, receipt_number=receipt, paid_on=PAID_ON,
                                  amount=Decimal("320.00"))


def hold_first_until_the_other_waits(monkeypatch):
    """The call that takes the person's lock first stops after its checks until the other call is
    seen blocked on a lock; returns the list of what it saw."""
    seen, real = [], payments_module.payment_check

    def checked_then_wait(**kwargs):
        result = real(**kwargs)
        seen.append(lock_waiter_seen())
        return result

    monkeypatch.setattr(payments_module, "payment_check", checked_then_wait)
    return seen


def assert_one_payment_with_its_periods(person, receipt="R-SAME"):
    payment = Payment.objects.get(receipt_number=receipt)
    assert payment.person_id == person.pk
    periods = CoveragePeriod.objects.filter(person=person)
    assert periods.count() == 1 and {p.payment_id for p in periods} == {payment.pk}
    return payment


def test_one_receipt_recorded_twice_at_once_for_one_person_is_saved_once(person_factory, monkeypatch):
    """DESIGN "Idempotency" (receipt number), issue #10 item 6: two clerks (or a double click)
    record the same receipt at the same moment. The person's row lock serialises them: the second
    waits, then finds the receipt recorded and is refused as a duplicate — one payment, one set of
    coverage periods, no IntegrityError."""
    person = person_factory()
    seen = hold_first_until_the_other_waits(monkeypatch)

    outcomes = run_at_once(record(person), record(person))

    assert seen == [True]  # the second call really waited on the first one's lock
    payments = [o for o in outcomes if isinstance(o, Payment)]
    refused = [o for o in outcomes if isinstance(o, DuplicateReceipt)]
    assert (len(payments), len(refused)) == (1, 1), outcomes
    assert refused[0].as_dict()["code"] == "duplicate_receipt" and refused[0].field == "receipt_number"
    assert assert_one_payment_with_its_periods(person).pk == payments[0].pk


def test_one_receipt_recorded_at_once_for_two_persons_is_refused_not_a_database_error(person_factory, monkeypatch):
    """DESIGN "Idempotency", issue #10 item 6: the same receipt typed for two different persons at
    once. Each call locks only its own person, so both pass the duplicate check before either
    writes (forced here by a barrier after the check); the unique receipt number then refuses the
    later insert, and the service answers DuplicateReceipt instead of letting the IntegrityError
    escape. The refused person gets no payment and no coverage."""
    first, second = person_factory(), person_factory()
    real = payments_module.payment_check
    both_checked = threading.Barrier(2)

    def checked_then_meet(**kwargs):
        result = real(**kwargs)
        both_checked.wait(10)
        return result

    monkeypatch.setattr(payments_module, "payment_check", checked_then_meet)

    outcomes = run_at_once(record(first), record(second))

    assert not any(isinstance(o, IntegrityError) for o in outcomes), outcomes
    payments = [o for o in outcomes if isinstance(o, Payment)]
    refused = [o for o in outcomes if isinstance(o, DuplicateReceipt)]
    assert (len(payments), len(refused)) == (1, 1), outcomes
    winner = first if payments[0].person_id == first.pk else second
    loser = second if winner is first else first
    assert_one_payment_with_its_periods(winner)
    assert not Payment.objects.filter(person=loser).exists()
    assert not CoveragePeriod.objects.filter(person=loser).exists()


def test_one_receipt_posted_twice_at_once_to_the_api_answers_201_and_the_duplicate_error(person_factory, clerk,
                                                                                          monkeypatch):
    """DESIGN "Idempotency", issue #10 item 6, through POST /api/v1/payments/: the same body sent
    twice at once (a retry racing the first request) gives one 201 and one 400 with the documented
    duplicate_receipt error — never a 500."""
    person = person_factory()
    seen = hold_first_until_the_other_waits(monkeypatch)
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(clerk)
    body = {"person": person.pk, "receipt_number": "R-SAME", "paid_on": "2021-03-15", "amount": "320.00"}

    def post(c):
        return lambda: c.post("/api/v1/payments/", body, content_type="application/json")

    responses = run_at_once(*(post(c) for c in clients))

    assert seen == [True]
    assert sorted(r.status_code for r in responses) == [201, 400], responses
    refused = next(r for r in responses if r.status_code == 400)
    assert refused.json()["error"]["code"] == "duplicate_receipt"
    assert refused.json()["error"]["field"] == "receipt_number"
    assert_one_payment_with_its_periods(person)
