"""Helpers of the PostgreSQL concurrency tests: each call runs in its own thread, so on its own
database connection, and the calls are released together by a barrier.

`lock_waiter_seen()` lets a test hold one caller at a chosen point until the other caller is
seen waiting on a row or index lock, so the interleaving under test really happens instead of
the two calls running one after the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection, connections


def run_at_once(*calls: Callable[[], object], timeout: float = 60) -> list:
    """Run every call in its own thread, all started by one barrier; each call's result or the
    exception it raised, in the order of the calls. Every thread closes its connections."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout)
            outcomes[index] = call()
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a concurrent call did not finish (deadlock?)"
    return outcomes


def lock_waiter_seen(timeout: float = 10) -> bool:
    """Wait until another connection to this database waits on a lock (True), or give up (False).

    Runs on the calling thread's connection, inside its transaction if any: the statistics
    snapshot PostgreSQL keeps for a transaction is cleared before each look.
    """
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
