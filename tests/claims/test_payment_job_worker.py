"""Issue #14 items 2-3 with a real Celery worker on Redis (the pattern of tests/medins/test_celery_worker.py):
the payment-order job, queued as finance's button queues it, is run by a separate worker process,
which records its progress on the job's row (through the `jobs` connection while its one
transaction is open) and its result; a second delivery of the same message does nothing."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery

from claims.models import PaymentFile, PaymentOrder
from claims.services import case_approve, case_calculate, case_start_review
from medins.jobs import RUN_TASK, Job, JobStatus
from tests.claims.factories import invoice
from tests.medins.test_celery_worker import REDIS_URL, _database_url, _redis_reachable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_payment_job_once(new_case, reviewer, approver, make_clerk):
    if not _redis_reachable():
        pytest.skip(f"no Redis reachable at {REDIS_URL}: start redis-server to run the real-worker test")
    db_url = _database_url()
    for i in range(3):
        case = new_case(invoices=[invoice(number=f"W-{i}")])
        case_start_review(acting_user=reviewer, case=case)
        case_calculate(acting_user=reviewer, case=case)
        case_approve(acting_user=approver, case=case)
    finance = make_clerk("finance-w")
    job = Job.objects.create(kind="payment_orders", params={"pay_date": dt.date(2021, 6, 1).isoformat()},
                             started_by=finance)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "medins", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    client = Celery("medins-test", broker=REDIS_URL, backend=REDIS_URL)
    try:
        assert client.send_task(RUN_TASK, args=[job.pk], queue=queue).get(timeout=90) == JobStatus.DONE
        # the same message again (a redelivery): the job is finished, nothing runs
        assert client.send_task(RUN_TASK, args=[job.pk], queue=queue).get(timeout=60) is None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        client.close()
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == (JobStatus.DONE, 3, 3, 1)
    assert job.heartbeat_at is not None and job.result["created"] is True
    payment_file = PaymentFile.objects.get()
    assert (job.target_model, job.target_id) == ("claims.paymentfile", payment_file.pk)
    assert PaymentOrder.objects.count() == 3 and payment_file.order_count == 3
