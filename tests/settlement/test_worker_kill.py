"""A real Celery worker killed mid-run; the watchdog resumes the run (issue 11 item 6, finding 12).

Worker 1 (a separate process on Redis, tasks acknowledged late) processes a capitation run and
is stopped in the middle: the test holds the row lock of the fourth institution's account from a
second connection, so the worker settles three institutions and waits; it is then killed with
SIGKILL. The run stays `running`, as in the finding. Worker 2 runs the beat's watchdog task
(SETTLEMENT_RUN_STALE_MINUTES=0), which resumes the run; the result — every statement, the run's
totals and the accounts — must equal an uninterrupted run of the same period.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
from celery import Celery
from django.db import connection

from claims.settlement.models import InstitutionSettlement, PoolAccount, RunKind, RunState, SettlementRun
from claims.settlement.selectors import pool_institutions
from claims.settlement.services import pool_members_sync_schools, settlement_run_process, settlement_run_start
from claims.settlement.services import runs as runs_module
from medins.models import Designation, Institution
from tests.medins.test_celery_worker import REDIS_URL, _database_url, _redis_reachable
from tests.settlement.conftest import visit

ROOT = Path(__file__).resolve().parents[2]
STATEMENT_FIELDS = ["headcount", "quota", "actual", "paid", "adjustment", "settled_before", "payable", "visits_count",
                    "late_visits_count", "detail"]
ACCOUNT_FIELDS = ["settled_to_date", "headcounts", "actuals", "watermarks", "closed"]


def _worker(queue: str, db_url: str, **extra_env) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false",
           "CELERY_TASK_DEFAULT_QUEUE": queue, **extra_env}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "medins", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _result(run: SettlementRun) -> dict:
    run.refresh_from_db()
    return {
        "run": (run.state, run.institutions_done, run.institutions_total, run.visits_count, run.amount_total),
        "statements": {s["institution_id"]: s for s in InstitutionSettlement.objects.filter(run=run)
                       .values("institution_id", *STATEMENT_FIELDS)},
        "accounts": {a["institution_id"]: a for a in PoolAccount.objects.filter(year=run.year)
                     .values("institution_id", *ACCOUNT_FIELDS)},
    }


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _forget_queue(queue: str) -> None:
    """Remove the killed worker's unacknowledged message and the private queue from Redis."""
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for tag, payload in r.hgetall("unacked").items():
        try:
            routing_key = json.loads(payload)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            r.hdel("unacked", tag)
            r.zrem("unacked_index", tag)
    r.delete(queue)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_run_is_resumed_by_the_watchdog_with_the_uninterrupted_result(jinan, clinic, make_student,
                                                                                     ingest):
    if not _redis_reachable():
        pytest.skip(f"no Redis reachable at {REDIS_URL}: start redis-server to run the real-worker test")
    db_url = _database_url()
    import psycopg

    # given: five pool institutions (the clinic with members and visits), every account present
    pool = Designation.objects.get(code="outpatient_pool")
    for n in range(3):
        extra = Institution.objects.create(region=jinan, code=f"JN-S-K{n}", name=f"测试机构{n}", kind="school_clinic",
                                           level="primary")
        extra.designations.add(pool)
    students = [make_student() for _ in range(12)]
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit(f"K{n}", s, dt.date(2021, 5, 1 + n), a=f"{30 + 7 * n}.00") for n, s in enumerate(students)])
    institutions = list(pool_institutions(region_id=jinan.pk))
    assert len(institutions) == 5
    for institution in institutions:
        PoolAccount.objects.get_or_create(institution=institution, year=2021)
    before = {a["pk"]: a for a in PoolAccount.objects.values("pk", *ACCOUNT_FIELDS)}
    with mock.patch.object(runs_module, "_enqueue"):  # sent to the real worker below, not run here
        run = settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=5)

    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    client = Celery("medins-test", broker=REDIS_URL, backend=REDIS_URL)
    blocker = psycopg.connect(db_url.replace("postgres://", "postgresql://", 1))
    worker1 = worker2 = None
    try:
        # the fourth institution's account is locked elsewhere: the worker stops there
        blocked = PoolAccount.objects.get(institution=institutions[3], year=2021)
        blocker.execute(f"SELECT id FROM {PoolAccount._meta.db_table} WHERE id = %s FOR UPDATE", [blocked.pk])
        worker1 = _worker(queue, db_url)
        client.send_task("settlement.capitation_run_process", args=[run.pk], queue=queue)
        _wait(lambda: SettlementRun.objects.get(pk=run.pk).institutions_done == 3, 120, "three institutions settled")
        time.sleep(1)
        assert SettlementRun.objects.get(pk=run.pk).institutions_done == 3  # waiting on the lock

        # when: the worker is killed mid-run (no clean shutdown, nothing recorded)
        os.kill(worker1.pid, signal.SIGKILL)
        worker1.wait(timeout=20)
        blocker.rollback()
        run.refresh_from_db()
        assert run.state == RunState.RUNNING and run.institutions_done == 3

        # then: the watchdog (beat task on another worker) resumes it, and it finishes
        worker2 = _worker(queue, db_url, SETTLEMENT_RUN_STALE_MINUTES="0")
        resumed = client.send_task("settlement.runs_watchdog", queue=queue).get(timeout=120)
        assert run.pk in resumed
        _wait(lambda: SettlementRun.objects.get(pk=run.pk).state == RunState.FINISHED, 120, "the resumed run to finish")
        assert run.transitions.filter(from_state=RunState.RUNNING, to_state=RunState.RUNNING,
                                      note__startswith="watchdog").exists()
        interrupted = _result(run)
    finally:
        blocker.close()
        for process in (worker1, worker2):
            if process is not None:
                _stop(process)
        _forget_queue(queue)
        client.close()

    # the same period run uninterrupted from the same starting accounts, in this process
    InstitutionSettlement.objects.filter(run=run).delete()
    run.delete()
    for pk, values in before.items():
        PoolAccount.objects.filter(pk=pk).update(**{k: v for k, v in values.items() if k != "pk"})
    with mock.patch.object(runs_module, "_enqueue"):
        again = settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=5)
    settlement_run_process(run_id=again.pk)
    uninterrupted = _result(again)

    assert interrupted["run"][0] == RunState.FINISHED
    assert interrupted == uninterrupted
    assert interrupted["run"][1] == 5 and interrupted["statements"][clinic.pk]["payable"] > 0
    assert connection.vendor == "postgresql"
