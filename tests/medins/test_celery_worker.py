"""A real Celery worker on Redis runs a task end to end (issue #2, item 8).

The worker is a separate process: it reads the broker, opens the test database itself,
computes a quote from the policy loaded there and returns it through the Redis result backend.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"

REQUEST = {
    "region": "220100",
    "benefit": "inpatient",
    "service_date": "2021-05-10",
    "person": {"category": "adult"},
    "institution": {"level": "municipal_tertiary"},
    "bill": {"class_a": "20000.00", "class_b": "10000.00", "class_c": "1500.00"},
}


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can open itself: run with DATABASE_URL=postgres://…")
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_computes_a_quote_from_the_database_policy():
    if not _redis_reachable():
        pytest.skip(f"no Redis reachable at {REDIS_URL}: start redis-server to run the real-worker test")
    # given: committed reference data the worker can read, and a private queue
    call_command("load_reference_data", verbosity=0)
    db_url = _database_url()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "medins", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    client = Celery("medins-test", broker=REDIS_URL, backend=REDIS_URL)
    try:
        # when: the task is sent through Redis
        started = time.monotonic()
        result = client.send_task("medins.quote", args=[REQUEST], queue=queue)
        body = result.get(timeout=90)
        # then: the worker answered with the engine's figures for the 2021 Changchun policy
        assert body["policy_version"] == "220100-2021"
        assert body["total"] == "31500.00"
        assert body["fund"] == "16920.00"  # (20000 + 0.9×10000 − 800) × 60 %
        assert time.monotonic() - started < 90
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        client.close()
