"""The settlement-run workflow (DOMAIN §8): the one table of run transitions, each taken by its
service (claims.settlement.services.runs / .closing) through medins.workflow.transition, which
records a RunTransition (who, when, from, to, why).

    pending  → running    settlement_run_process picks it up
    failed   → running    settlement_run_process resumes it (admin "resume", a task retry)
    running  → finished   settlement_run_process: every institution has its statement
    running  → failed     settlement_run_process: an unexpected error (recorded in `errors`)
    pending  → pending    settlement_run_watchdog: never picked up (lost message): enqueued again
    running  → running    settlement_run_watchdog: its worker vanished (stale heartbeat): resumed
    finished → reopened   settlement_year_reopen_approve: a year-end run whose year finance reopened
"""

from __future__ import annotations

from medins.workflow import Record, Workflow

from .models import RunState

R = RunState

TRANSITIONS: dict[tuple[str, str], str] = {
    (R.PENDING, R.RUNNING): "settlement_run_process",
    (R.FAILED, R.RUNNING): "settlement_run_process",
    (R.RUNNING, R.FINISHED): "settlement_run_process",
    (R.RUNNING, R.FAILED): "settlement_run_process",
    (R.PENDING, R.PENDING): "settlement_run_watchdog",
    (R.RUNNING, R.RUNNING): "settlement_run_watchdog",
    (R.FINISHED, R.REOPENED): "settlement_year_reopen_approve",
}


def _refuse(run, to: str, why: str) -> Exception:
    from .errors import RunRefused

    return RunRefused(why)


def _stale(run, to: str) -> Exception:
    from .errors import RunRefused

    return RunRefused(f"run {run.pk} was changed concurrently; reload it")


RUNS = Workflow(
    name="settlement run", transitions=TRANSITIONS,
    record=Record(model="settlement.RunTransition", subject="run", actor="by", reason="note", reason_max=200),
    refuse=_refuse, stale=_stale,
)
