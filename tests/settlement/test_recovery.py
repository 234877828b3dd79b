"""Runs recover by themselves (issue 11 item 6, finding 12: a killed worker left a run
`running` forever): a heartbeat on the run, a beat watchdog that resumes a stale run, tasks
acknowledged late. The real-worker SIGKILL test is in test_worker_kill.py."""

import ast
import datetime as dt
from decimal import Decimal as D
from pathlib import Path
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from claims.settlement import tasks
from claims.settlement.models import InstitutionSettlement, RunKind, RunState, SettlementRun
from claims.settlement.services import pool_members_sync_schools, settlement_run_start, settlement_run_watchdog
from claims.settlement.services import runs as runs_module
from claims.settlement.workflow import RUNS
from medins.schedules import SCHEDULES
from tests.settlement.conftest import visit

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def students(make_student):
    return [make_student() for _ in range(12)]


def _crash_at_second_institution():
    real = runs_module.institution_settle
    calls = []

    def crash_on_second(**kwargs):
        calls.append(kwargs["institution"].pk)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # not an Exception: nothing records it, like a SIGKILL
        return real(**kwargs)

    return mock.patch.object(runs_module, "institution_settle", side_effect=crash_on_second)


def test_the_watchdog_resumes_a_run_whose_worker_vanished(jinan, clinic, students, ingest,
                                                         django_capture_on_commit_callbacks):
    """Issue 11 finding 12: a run left `running` by a dead worker is resumed by the watchdog once
    its heartbeat is older than SETTLEMENT_RUN_STALE_MINUTES, and finishes as it would have."""
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit("A", students[0], dt.date(2021, 5, 1), a="40.00")])
    with _crash_at_second_institution(), pytest.raises(SystemExit), \
            django_capture_on_commit_callbacks(execute=True):
        settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=5)
    run = SettlementRun.objects.get()
    assert run.state == RunState.RUNNING and run.institutions_done == 1 and run.heartbeat_at is not None
    # a fresh heartbeat: the watchdog leaves it alone (its worker may be working)
    with override_settings(SETTLEMENT_RUN_STALE_MINUTES=10):
        assert settlement_run_watchdog() == []
        later = run.heartbeat_at + dt.timedelta(minutes=11)
        with django_capture_on_commit_callbacks(execute=True):
            assert settlement_run_watchdog(now=later) == [run.pk]
    run.refresh_from_db()
    assert run.state == RunState.FINISHED and run.institutions_done == run.institutions_total == 2
    assert InstitutionSettlement.objects.get(run=run, institution=clinic).payable == D("26.00")
    assert run.amount_total == D("26.00")
    steps = list(run.transitions.values_list("from_state", "to_state", "note"))
    assert [(f, t) for f, t, _n in steps] == [("", "pending"), ("pending", "running"), ("running", "running"),
                                              ("running", "finished")]
    assert steps[2][2].startswith("watchdog: no sign of life since")


def test_a_run_never_picked_up_is_enqueued_again(jinan, clinic, students):
    """Issue 11 item 6: a pending run whose message was lost (never started) is resumed too."""
    run = settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=5)
    SettlementRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    with mock.patch.object(runs_module, "_enqueue") as enqueue:
        assert settlement_run_watchdog() == [run.pk]
    enqueue.assert_called_once_with(run.pk)
    assert settlement_run_watchdog() == []  # its heartbeat is fresh now: not twice in a row


def test_the_heartbeat_advances_with_each_institution(jinan, clinic, students, django_capture_on_commit_callbacks):
    """Issue 11 item 6: the worker writes a sign of life on the run as it settles institutions."""
    seen = []
    real = runs_module.institution_settle

    def spy(**kwargs):
        result = real(**kwargs)
        seen.append(SettlementRun.objects.values_list("heartbeat_at", flat=True).get(pk=kwargs["run"].pk))
        return result

    with mock.patch.object(runs_module, "institution_settle", side_effect=spy), \
            django_capture_on_commit_callbacks(execute=True):
        settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=5)
    assert len(seen) == 2 and seen[0] is not None and seen[1] > seen[0]


def test_finished_failed_and_reopened_runs_are_not_the_watchdogs(jinan, clinic, students):
    """The watchdog resumes only pending/running runs; a failed run waits for a clerk's resume."""
    run = settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=5)
    old = timezone.now() - dt.timedelta(days=1)
    for state in (RunState.FAILED, RunState.FINISHED):
        SettlementRun.objects.filter(pk=run.pk).update(state=state, heartbeat_at=old, created_at=old)
        assert settlement_run_watchdog() == []


def test_tasks_are_acknowledged_late_and_the_watchdog_is_scheduled():
    """Issue 11 item 6: a task whose worker dies is not acknowledged (it is delivered again), and
    the watchdog is a beat entry of the one schedule (medins/schedules.py)."""
    for task in (tasks.capitation_run_process, tasks.runs_watchdog):
        assert task.acks_late and task.reject_on_worker_lost
    assert "settlement.runs_watchdog" in {s.task for s in SCHEDULES}
    assert set(RUNS.edges_of("settlement_run_watchdog")) == {("pending", "pending"), ("running", "running")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
            names.update("." * node.level + (node.module + "." if node.module else "") + a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_services_do_not_import_the_tasks_module():
    """Issue 10 item 5: the runs ↔ tasks import cycle is broken — tasks.py imports the services,
    no service imports tasks.py (runs enqueue by task name)."""
    for path in sorted((ROOT / "claims" / "settlement" / "services").glob("*.py")):
        found = {n for n in _imports(path) if n.endswith("tasks") or ".tasks." in n or n.startswith("..tasks")}
        assert found == set(), f"{path.name} imports {found}"
    assert "settlement.capitation_run_process" == runs_module.PROCESS_TASK == tasks.capitation_run_process.name
