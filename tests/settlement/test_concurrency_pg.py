"""Two workers on the same run at once (PostgreSQL row locks): each institution settled once."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection, connections, transaction

from claims.settlement.models import InstitutionSettlement, PoolAccount, RunKind, RunState, SettlementRun
from claims.settlement.services import pool_members_sync_schools, settlement_run_process, visits_ingest
from medins.models import Designation, Institution
from tests.settlement.conftest import visit

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")


@pytest.mark.django_db(transaction=True)
def test_two_workers_settle_each_institution_once(jinan, clinic, make_student):
    pool = Designation.objects.get(code="outpatient_pool")
    for i in range(20):
        inst = Institution.objects.create(region=jinan, code=f"JN-Y-{i:03d}", name=f"并发测试{i}", kind="clinic",
                                          level="primary")
        inst.designations.add(pool)
    students = [make_student() for _ in range(3)]
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    visits_ingest(acting_user=None, institution=clinic,
                  rows=[visit(f"C{i}", s, dt.date(2021, 4, 2), a="20.00") for i, s in enumerate(students)])
    run = SettlementRun.objects.create(region=jinan, kind=RunKind.MONTHLY, year=2021, month=4)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            settlement_run_process(run_id=run.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    run.refresh_from_db()
    total = Institution.objects.filter(region=jinan, designations__code="outpatient_pool").count()
    assert run.state == RunState.FINISHED
    assert InstitutionSettlement.objects.filter(run=run).count() == run.institutions_done == total
    assert run.amount_total == D("15.00")  # 3 × 13.00 = 39.00, quota 3 × 5.00
    assert PoolAccount.objects.get(institution=clinic, year=2021).settled_to_date == D("15.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_one_institution_keep_the_yearly_cap(jinan, clinic, make_student):
    """Ledgers are read without a row lock: two batches of the same institution for the same
    person, sent at once, are serialised by the institution's account lock, so the second sees
    the first's totals — together they pay at most the Jinan cap of 500 (DOMAIN §4), and the
    ledger equals the sum of the visits."""
    from django.db.models import Sum

    from claims.ledger.models import LedgerAccount
    from claims.settlement.models import Visit

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send(prefix):
        try:
            barrier.wait()
            rows = [visit(f"{prefix}{i}", student, dt.date(2021, 5, 1 + i), a="200.00") for i in range(4)]
            results.append(visits_ingest(acting_user=None, institution=clinic, rows=rows))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(p,)) for p in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.created for r in results) == [4, 4]
    assert sum(r.fund for r in results) == D("500.00")  # 8 × 130.00 asked, capped at 500
    ledger = LedgerAccount.objects.get(person=student, year=2021, benefit="outpatient_pool")
    assert (ledger.fund, ledger.entries) == (D("500.00"), 8)
    assert Visit.objects.aggregate(s=Sum("fund"))["s"] == D("500.00")


@pytest.mark.django_db(transaction=True)
def test_a_ledger_advanced_by_another_connection_between_read_and_write_refuses_the_batch(jinan, clinic,
                                                                                           make_student):
    """The ledgers are read unlocked; should another committed writer (here: a second connection)
    advance one after the read, the upsert's RETURNING totals differ and the batch is refused and
    rolled back under READ COMMITTED — no visit is saved against stale accumulators."""
    from unittest import mock

    from claims.ledger.models import LedgerAccount
    from claims.settlement.errors import InvalidRequest
    from claims.settlement.models import Visit
    from claims.settlement.services import visits as visits_module

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    visits_ingest(acting_user=None, institution=clinic, rows=[visit("R1", student, dt.date(2021, 3, 1), a="100.00")])
    read, written = threading.Event(), threading.Event()
    real = visits_module.ledger_read
    outcome = []

    def read_then_wait(keys):
        running = real(keys)
        read.set()
        written.wait(10)
        return running

    def send():
        try:
            with mock.patch.object(visits_module, "ledger_read", side_effect=read_then_wait):
                visits_ingest(acting_user=None, institution=clinic,
                              rows=[visit("R2", student, dt.date(2021, 3, 2), a="100.00")])
            outcome.append("saved")
        except InvalidRequest as exc:
            outcome.append(str(exc))
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    assert read.wait(10)
    another_pool_payment(student, D("335.00"))  # autocommit: committed (fund 65 + 335)
    written.set()
    sender.join()
    assert len(outcome) == 1 and "年度累计数据已变化" in outcome[0]
    assert list(Visit.objects.values_list("visit_id", flat=True)) == ["R1"]
    account = LedgerAccount.objects.get(person=student, year=2021, benefit="outpatient_pool")
    assert (account.fund, account.entries) == (D("400.00"), 2)  # R1 and the other writer's; not R2


def another_pool_payment(person, fund):
    """Another writer's outpatient-pool payment for the person, through the ledger service."""
    from claims.ledger import keys as ledger_keys
    from claims.ledger.models import SourceKind
    from claims.ledger.services import Posting, ledger_post, ledger_read

    posting = Posting(person_id=person.pk, service_date=dt.date(2021, 3, 1), benefit="outpatient_pool",
                      source_kind=SourceKind.CASE, source_id=0,
                      figures=ledger_keys.entry_figures("outpatient_pool", fund=fund))
    with transaction.atomic():
        ledger_post(acting_user=None, read=ledger_read(set(posting.accounts()), lock=True), postings=[posting])
