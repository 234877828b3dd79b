# ruff: noqa: F811  (the case fixtures are imported from tests/claims/conftest.py and requested by name)
"""A certified-visit batch and a case approval for the same person at once (PostgreSQL, real
second connections): the yearly pool-fund cap shared by inpatient and special diseases (DOMAIN.md
§3.5, §4.1) is never exceeded and no update is lost (DESIGN "One yearly ledger")."""

import datetime as dt
import threading
from decimal import Decimal as D
from unittest import mock

import pytest
from django.db import connection, connections

from claims.errors import Recalculated
from claims.ledger.models import LedgerAccount
from claims.ledger.selectors import discrepancies
from claims.services import case_approve, case_calculate, case_start_review
from claims.settlement.errors import ConcurrentChange
from claims.settlement.models import CertifiedVisit
from claims.settlement.services import certified as certified_module
from claims.settlement.services import visits_receive
from tests.claims.conftest import (  # noqa: F401  (the case fixtures)
    approver,
    changchun_emergency,
    covered_adult,
    intake,
    make_clerk,
    new_case,
    reviewer,
)
from tests.claims.factories import invoice

from .conftest import cvisit

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")


def _calculated_case(new_case, reviewer, amount="300000.00"):
    case = new_case(invoices=[invoice(number="INV-C1", a=amount, b="0.00", c="0.00")])
    case_start_review(acting_user=reviewer, case=case)
    return case_calculate(acting_user=reviewer, case=case)


@pytest.mark.django_db(transaction=True)
def test_a_case_approved_while_a_visit_batch_computes_refuses_the_batch(cc, certify, covered_adult, new_case, reviewer,
                                                                        approver):
    """The batch read the person's year (cap_fund 0) unlocked; the case approval commits 200 000
    before the batch writes: the batch is refused (409, nothing saved); sent again it pays 0."""
    certify(covered_adult, "special_disease", "SPD-027", cc["tertiary"])
    case = _calculated_case(new_case, reviewer)
    rows = [cvisit("CC-1", covered_adult, dt.date(2021, 6, 1), "special_disease", "SPD-027", "20000.00")]
    read, approved = threading.Event(), threading.Event()
    real = certified_module.ledger_read
    outcome = []

    def read_then_wait(keys, lock=False):
        figures = real(keys, lock=lock)
        if not lock:
            read.set()
            approved.wait(20)
        return figures

    def send():
        try:
            with mock.patch.object(certified_module, "ledger_read", side_effect=read_then_wait):
                visits_receive(acting_user=None, institution=cc["tertiary"], rows=rows)
            outcome.append("saved")
        except ConcurrentChange as exc:
            outcome.append(exc.code)
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    assert read.wait(20)
    case_approve(acting_user=approver, case=case)  # its own transaction: committed
    approved.set()
    sender.join(30)
    assert outcome == ["concurrent_change"]
    assert not CertifiedVisit.objects.exists()
    again = visits_receive(acting_user=None, institution=cc["tertiary"], rows=rows)
    assert again.created == 1 and again.fund == D("0.00")  # the 200 000 are used up
    year = LedgerAccount.objects.get(person=covered_adult, year=2021, benefit="", item="")
    assert year.cap_fund == D("200000.00")
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_batch_and_approval_released_together_never_exceed_the_cap(cc, certify, covered_adult, new_case, reviewer,
                                                                   approver):
    """Both at the same moment on two connections: whichever commits first, the other one either
    recomputes (the approval: Recalculated), is refused (the batch: 409) or computes on the
    committed figures; the year's cap_fund is the sum of what was paid, at most 200 000."""
    certify(covered_adult, "special_disease", "SPD-027", cc["tertiary"])
    case = _calculated_case(new_case, reviewer)
    rows = [cvisit("CC-2", covered_adult, dt.date(2021, 6, 1), "special_disease", "SPD-027", "50000.00")]
    barrier = threading.Barrier(2)
    outcomes, errors = {}, []

    def approve():
        try:
            barrier.wait()
            case_approve(acting_user=approver, case=case)
            outcomes["case"] = "approved"
        except Recalculated:
            outcomes["case"] = "recalculated"
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def send():
        try:
            barrier.wait()
            outcomes["visits"] = visits_receive(acting_user=None, institution=cc["tertiary"], rows=rows).created
        except ConcurrentChange:
            outcomes["visits"] = "refused"
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve), threading.Thread(target=send)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    case.refresh_from_db()
    paid_case = case.fund_amount if outcomes["case"] == "approved" else D("0.00")
    paid_visits = sum((v.fund for v in CertifiedVisit.objects.all()), D("0.00"))
    year = LedgerAccount.objects.filter(person=covered_adult, year=2021, benefit="", item="").first()
    assert year.cap_fund == paid_case + paid_visits <= D("200000.00")
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_a_pool_payment_committed_while_a_chronic_batch_computes_refuses_the_batch(cc, certify, make_resident):
    """DOMAIN §4.2 (chronic + outpatient pool at most 6 500 a year): the chronic batch read the
    person's pool account (0) without locking it; a pool visit of the same person pays 6 300 and
    commits before the batch writes. The pool payment advanced the shared outpatient account the
    chronic post advances and re-checks: the batch is refused (409, nothing saved); sent again it
    pays only the 200 left of the 6 500."""
    from claims.ledger.keys import entry_figures
    from claims.ledger.models import SourceKind
    from claims.ledger.services import Posting, ledger_post, ledger_read

    person = make_resident()
    certify(person, "chronic", "coronary_heart_disease", cc["primary"])
    rows = [cvisit("CH-1", person, dt.date(2021, 9, 1), "chronic", "coronary_heart_disease", "1000.00")]
    read, paid = threading.Event(), threading.Event()
    real = certified_module.ledger_read
    outcome = []

    def read_then_wait(keys, lock=False):
        figures = real(keys, lock=lock)
        read.set()
        paid.wait(20)
        return figures

    def send():
        try:
            with mock.patch.object(certified_module, "ledger_read", side_effect=read_then_wait):
                visits_receive(acting_user=None, institution=cc["primary"], rows=rows)
            outcome.append("saved")
        except ConcurrentChange as exc:
            outcome.append(exc.code)
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    assert read.wait(20)
    pool = [(person.pk, 2021, "outpatient_pool", ""), (person.pk, 2021, "outpatient_shared", "")]
    ledger_post(acting_user=None, read=ledger_read(pool), postings=[Posting(  # a pool visit, committed
        person_id=person.pk, service_date=dt.date(2021, 8, 1), benefit="outpatient_pool",
        source_kind=SourceKind.POOL_VISIT, source_id=1, figures=entry_figures("outpatient_pool", fund=D("6300.00")))])
    paid.set()
    sender.join(30)
    assert outcome == ["concurrent_change"]
    assert not CertifiedVisit.objects.exists()
    again = visits_receive(acting_user=None, institution=cc["primary"], rows=rows)
    assert again.created == 1 and again.fund == D("200.00")
    assert discrepancies() == []
