"""Two payables of one indebted institution released at the same moment on two connections
(issue 15 item 4 "concurrency-safe"): the recovery order is locked (SELECT … FOR UPDATE), so the
two offsets add up to what was owed, never twice the debt."""

from decimal import Decimal

import pytest
from django.db import connection

from claims.supervision.models import RecoveryOffset
from tests.concurrency import run_at_once

from .test_recovery import owed, pay  # noqa: F401  (fixture)

pytestmark = [pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
              pytest.mark.django_db(transaction=True)]


def test_two_statements_at_once_offset_the_debt_once(owed):  # noqa: F811
    h1, order = owed  # 150.00 owed
    first, second = run_at_once(lambda: pay(h1, "100.00", 11), lambda: pay(h1, "100.00", 12))
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    assert sorted([first.amount, second.amount]) == [Decimal("0.00"), Decimal("50.00")]
    assert sum(RecoveryOffset.objects.values_list("amount", flat=True)) == Decimal("150.00")
    order.refresh_from_db()
    assert (order.outstanding, order.state) == (Decimal("0.00"), "settled")
