"""Capitation settlement runs (DOMAIN §8): start, process (resumable), settle one institution, release.

Runs of kind `ffs` (fee-for-service statements of certified visits) are processed by
services/statements.py; the rest of this module is capitation.

Run state machine: the one table in claims/settlement/workflow.py (RUNS), each edge taken by its
service through the shared helper medins.workflow.transition, recorded in RunTransition.

Periods close for good (issue 10 item 3): a year-end run starts only after 31 December of its
year and when the twelve monthly runs of the region and year have finished; a monthly run needs
its month and is refused once the year-end run exists; no run settles a closed account
(institution_settle), and only the year-end run closes one. Nothing reopens a closed year but
a four-eyed reopening by finance (services/closing.py).

Recovery (issue 11 item 6): the worker writes a heartbeat on the run as it processes
institutions; settlement_run_watchdog (a beat task, medins/schedules.py) resumes a pending or
running run whose heartbeat is older than settings.SETTLEMENT_RUN_STALE_MINUTES. The task is
acknowledged late, so a killed worker's message is also redelivered; either way, resuming is safe
(below), so a second worker on the same run only waits on the account locks and skips what is done.

Never paying twice:
- a run is unique per region + kind + year + month; starting one that exists returns it
  (a finished run is not run again, an unfinished one is resumed);
- each institution is settled in its own transaction holding its PoolAccount row lock, and
  its statement is unique per run + institution: a resumed or concurrent worker that finds
  the statement already there skips the institution;
- visits are never written by a run. The account keeps, per month, a watermark: the highest
  visit id settled for that month (PoolAccount.watermarks); a visit is settled exactly when its
  id is at most its month's watermark. A visit is counted once: late visits (arrived after their
  month was settled) have ids above the watermark, so the next run picks them up as an
  `adjustment`, never by changing a statement already written.

Monthly run for month M: every visit of the year up to M above its month's watermark is settled
by the run; the institution is owed Σ_{K≤M} min(actual_K, quota_K) (the pure `settle` over
months 1..M), and the run pays that minus what earlier runs settled. Year-end run: all twelve
months; payable = final − settled before (negative: recovered). Head counts are frozen per month
in the PoolAccount when first computed, so a later run reuses the figure the earlier one paid on.

Set-based per institution, read-only on visits: for each institution (one transaction, its
PoolAccount locked) one GROUP BY month sums fund, count and max(id) of the visits above each
month's watermark (an index on (institution, year, month, id) including fund: a range per month);
the months settled earlier come from the account (`PoolAccount.actuals`). The new actuals and
watermarks are written on the account, in the same transaction as the statement, so a run's
cost follows the visits it settles, not the year so far, and no visit row or index entry is
rewritten. The statement records, per month, the id range (after, through] it settled
(`detail["visit_ranges"]`, see selectors.statement_visits). The pure `settle` then does the
arithmetic on twelve figures at most.

Why a watermark is exact although ids may be handed out out of commit order: visit ids come from
one sequence, and nextval() order is not commit order in general (transaction A takes id 100,
B takes 101 and commits first; a reader that saw 101 but not 100 must not mark "≤ 101" settled).
Here it cannot happen within one institution-year, because every visit of it is inserted by
visits_ingest while holding that institution-year's PoolAccount row lock (taken before the
INSERT, held to commit), and the run holds the same lock while it sums and moves the watermark:
- when the run has the lock, every transaction that inserted visits of this institution-year
  earlier has committed (it held the lock until then), and the run's GROUP BY (READ COMMITTED: a
  fresh snapshot per statement, taken after the lock) sees all of them;
- no visit of it can be inserted until the run commits; a later insert calls nextval() after
  the run's sum, so its id is above every id the run saw (the sequence is monotonic; Django's
  identity columns have no per-session CACHE), hence above the new watermark: it is late, and
  the next run settles it.
Ids of other institutions interleave freely; watermarks are per institution-year. A code path
inserting visits without that lock (bulk loads such as bench/capitation.py's COPY are done
before any run) would break this and must take the lock too.

Year-end head count — Decision (DOMAIN §8; Jinan seed "门诊统筹" 1: "年度结算定额（每月结算定额
累加）"): the year has no head count of its own. The annual quota is the sum of the twelve
monthly quotas, each on that month's head count (members covered on the 1st, see
selectors.headcounts), never a single year-end head count × 60. The year-end statement's
`headcount` therefore shows person-months (Σ of the twelve monthly head counts), so that
`quota = headcount × 60 / 12` still reads right on the statement; a member who joins in July
counts 6 person-months, not 1 head nor 12.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from medins.benefits.rounding import ZERO
from medins.celery import app as celery_app
from medins.models import Institution, Region
from medins.selectors import policy_in_force
from medins.workflow import transition

from ..capitation import MonthFigures, rates_of, settle, year_start
from ..errors import ReleaseRefused, RunRefused
from ..models import (
    InstitutionSettlement,
    PoolAccount,
    RunKind,
    RunState,
    RunTransition,
    SettlementRun,
    StatementState,
)
from ..selectors import headcounts, month_actuals, pool_institutions, watermarks_of
from ..workflow import RUNS
from .membership import pool_members_sync_schools

log = logging.getLogger(__name__)

# The task that processes a run, enqueued by name: tasks.py imports the services, never the other
# way round (issue 10 item 5: the runs ↔ tasks import cycle). The app config imports tasks.py, so
# the name is registered wherever Django runs.
PROCESS_TASK = "settlement.capitation_run_process"


def _move(run: SettlementRun, to: str, *, by, note: str = "", fields: dict | None = None) -> SettlementRun:
    """The shared helper: this service's edge of RUNS, conditional UPDATE, RunTransition recorded."""
    changes = dict(fields or {})
    if to == RunState.FINISHED:
        changes["finished_at"] = timezone.now()
    if to == RunState.RUNNING:
        changes["heartbeat_at"] = timezone.now()
    return transition(RUNS, run, to, acting_user=by, reason=note, fields=changes)


def _enqueue(run_id: int) -> None:
    transaction.on_commit(lambda: celery_app.tasks[PROCESS_TASK].delay(run_id))


def _live_runs(**filters):
    """Runs that count: every run but a year-end run whose year finance reopened."""
    return SettlementRun.objects.exclude(state=RunState.REOPENED).filter(**filters)


def year_end_refusal(*, region: Region, year: int, today: dt.date | None = None) -> str | None:
    """Why the year-end run of `region` and `year` may not start yet (None: it may)."""
    today = today or timezone.localdate()
    if today <= dt.date(year, 12, 31):
        return _("The year-end settlement of %(year)s can start only after 31 December %(year)s has ended.") % {
            "year": year}
    finished = set(_live_runs(region=region, kind=RunKind.MONTHLY, year=year, state=RunState.FINISHED)
                   .values_list("month", flat=True))
    missing = [m for m in range(1, 13) if m not in finished]
    if missing:
        return _("The year-end settlement of %(year)s needs the twelve monthly runs of %(region)s finished first; "
                 "not finished: %(months)s.") % {"year": year, "region": region.name,
                                                  "months": "、".join(f"{year}-{m:02d}" for m in missing)}
    return None


@transaction.atomic
def settlement_run_start(*, acting_user, region: Region, kind: str, year: int, month: int | None = None) -> SettlementRun:
    """Create (or find) the run for region + period + kind and enqueue its processing after commit.

    Idempotent: the same period again returns the existing run; a finished run is left as it
    is, an unfinished one is re-enqueued (resume).
    """
    if kind not in RunKind.values:
        raise RunRefused(_("A run is monthly or year-end."))
    if kind == RunKind.YEAR_END:
        month = 12
    elif month is None or not 1 <= month <= 12:
        raise RunRefused(_("A monthly run needs its month (1 to 12)."))
    if kind != RunKind.FEE_FOR_SERVICE:
        # The policy must define the capitation parameters: refuse now, naming the missing one.
        rates_of(policy_in_force(region=region.code, date=year_start(year)))
    if kind == RunKind.MONTHLY and _live_runs(region=region, kind=RunKind.YEAR_END, year=year).exists():
        raise RunRefused(_("%(year)s is closed by its year-end settlement: no monthly run may settle it any more.")
                         % {"year": year})
    run = _live_runs(region=region, kind=kind, year=year, month=month).first()
    created = False
    if run is None:
        if kind == RunKind.YEAR_END and (refusal := year_end_refusal(region=region, year=year)):
            raise RunRefused(refusal)
        run, created = _live_runs().get_or_create(
            region=region, kind=kind, year=year, month=month, defaults={"started_by": acting_user}
        )
    if created:
        run._history_user = acting_user
        RunTransition.objects.create(run=run, from_state="", to_state=RunState.PENDING, by=acting_user, note="started")
    if run.state != RunState.FINISHED:
        _enqueue(run.pk)
    return run


@RUNS.service
def settlement_run_process(*, run_id: int, acting_user=None) -> SettlementRun:
    """Work through a run's institutions, one transaction each; safe to call again or concurrently."""
    run = SettlementRun.objects.select_related("region").get(pk=run_id)
    if run.state in (RunState.FINISHED, RunState.REOPENED):
        return run
    if run.kind == RunKind.FEE_FOR_SERVICE:  # the monthly fee-for-service statements (services/statements.py)
        from .statements import fee_run_process

        return fee_run_process(run=run, acting_user=acting_user, move=_move)
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().select_related("region").get(pk=run_id)
        if run.state in (RunState.FINISHED, RunState.REOPENED):
            return run
        if run.state != RunState.RUNNING:
            _move(run, RunState.RUNNING, by=acting_user, note="processing")
        pool_members_sync_schools(acting_user=acting_user, region_id=run.region_id, year=run.year)
        total = pool_institutions(region_id=run.region_id).count()
        SettlementRun.objects.filter(pk=run.pk).update(institutions_total=total, heartbeat_at=timezone.now())
    try:
        policy = policy_in_force(region=run.region.code, date=year_start(run.year))
        rates = rates_of(policy)
        done = set(InstitutionSettlement.objects.filter(run=run).values_list("institution_id", flat=True))
        for institution in pool_institutions(region_id=run.region_id).exclude(pk__in=done).iterator(chunk_size=500):
            institution_settle(run=run, institution=institution, rates=rates)
    except Exception as exc:  # recorded on the run, which stays resumable; the task decides on retries
        log.exception("settlement run %s failed", run_id)
        with transaction.atomic():
            run = SettlementRun.objects.select_for_update().get(pk=run_id)
            run.errors = [*run.errors, {"at": timezone.now().isoformat(), "error": f"{type(exc).__name__}: {exc}"}]
            run.save(update_fields=["errors"])
            if run.state == RunState.RUNNING:
                _move(run, RunState.FAILED, by=acting_user, note=str(exc))
        if isinstance(exc, OperationalError):
            raise  # transient (connection, lock timeout): the task retries with backoff
        return run
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().get(pk=run_id)
        count = InstitutionSettlement.objects.filter(run=run).count()
        if run.state == RunState.RUNNING and count >= run.institutions_total:
            _move(run, RunState.FINISHED, by=acting_user, note=f"{count} institutions")
    return run


@transaction.atomic
def institution_settle(*, run: SettlementRun, institution: Institution, rates) -> InstitutionSettlement | None:
    """Settle one institution for one run; returns None when another worker already did."""
    year, month = run.year, run.month
    PoolAccount.objects.get_or_create(institution=institution, year=year)
    account = PoolAccount.objects.select_for_update().get(institution=institution, year=year)
    if InstitutionSettlement.objects.filter(run=run, institution=institution).exists():
        return None  # settled by another worker (or before a crash) while we waited for the lock
    if account.closed:  # issue 10 finding 3: a closed year is settled no more (nor clawed back)
        raise RunRefused(_("The capitation account of %(institution)s for %(year)s is closed by its year-end "
                           "settlement; only a reopening approved by finance opens it again.")
                         % {"institution": institution.name, "year": year})
    statement = InstitutionSettlement.objects.create(run=run, institution=institution)
    marks = watermarks_of(account)
    if account.actuals is None:  # an account from before actuals were kept: sum its settled visits once
        settled = {k: fund for k, (fund, _n, _top) in month_actuals(institution_id=institution.pk, year=year,
                                                                    through_month=12, marks=marks,
                                                                    settled=True).items()}
    else:
        settled = {int(k): Decimal(v) for k, v in account.actuals.items()}
    # Read-only on visits: one GROUP BY month sums the visits above each month's watermark (new
    # months, and late visits of months settled before); the account then records the new
    # watermarks with the actuals. The account lock (held since above) keeps this exact.
    visits = late = 0
    ranges = {}
    for k, (fund, n, top) in month_actuals(institution_id=institution.pk, year=year, through_month=month,
                                           marks=marks).items():
        settled[k] = settled.get(k, ZERO) + fund
        ranges[str(k)] = [marks.get(k, 0), top]
        marks[k] = top
        visits += n
        if k < month and run.kind == RunKind.MONTHLY:
            late += n
    actuals = {k: fund for k, fund in settled.items() if k <= month}
    frozen = {int(k): v for k, v in account.headcounts.items()}
    if run.kind == RunKind.YEAR_END:
        needed = list(range(1, 13))
    else:  # the run's month, and earlier months only when they have visits to pay
        needed = sorted({month, *actuals})
    missing = [k for k in needed if k not in frozen]
    frozen.update(headcounts(institution_id=institution.pk, year=year, months=missing))
    figures = [MonthFigures(k, frozen[k], actuals.get(k, ZERO)) for k in needed]
    result = settle(figures, rates)
    before = account.settled_to_date

    this = next(m for m in result.monthly if m.month == month)
    if run.kind == RunKind.YEAR_END:
        owed = result.final
        statement.headcount = sum(m.headcount for m in result.monthly)
        statement.quota, statement.actual, statement.paid = result.annual_quota, result.annual_actual, result.final
    else:
        owed = result.paid_monthly
        statement.headcount, statement.quota, statement.actual, statement.paid = (
            this.headcount, this.quota, this.actual, this.paid)
    payable = owed - before
    statement.settled_before = before
    statement.payable = payable
    statement.adjustment = payable - statement.paid if run.kind == RunKind.MONTHLY else 0
    statement.visits_count = visits
    statement.late_visits_count = late
    statement.detail = {
        "policy_version": rates.policy_version,
        "per_person_per_year": str(rates.per_person_per_year),
        "surplus_share": str(rates.surplus_share),
        "monthly": [{**m.as_dict(), "headcount": m.headcount} for m in result.monthly],
        "annual_quota": str(result.annual_quota),
        "annual_actual": str(result.annual_actual),
        "final": str(result.final),
        "paid_monthly": str(result.paid_monthly),
        # {month: [after id, through id]}: the visits this statement settled (selectors.statement_visits).
        "visit_ranges": ranges,
    }
    statement.save(update_fields=["headcount", "quota", "actual", "paid", "settled_before", "payable", "adjustment",
                                  "visits_count", "late_visits_count", "detail"])
    account.headcounts = {str(k): v for k, v in sorted(frozen.items())}
    # Only the year-end run closes the account; no run opens it (services/closing.py does, four-eyed).
    closing = {"closed": True} if run.kind == RunKind.YEAR_END else {}
    PoolAccount.objects.filter(pk=account.pk).update(
        settled_to_date=F("settled_to_date") + payable, headcounts=account.headcounts,
        actuals={str(k): str(v) for k, v in sorted(settled.items())},
        watermarks={str(k): v for k, v in sorted(marks.items())},
        **closing,
    )
    SettlementRun.objects.filter(pk=run.pk).update(
        institutions_done=F("institutions_done") + 1, visits_count=F("visits_count") + visits,
        amount_total=F("amount_total") + payable, heartbeat_at=timezone.now(),
    )
    return statement


@transaction.atomic
def settlement_release(*, acting_user, statement: InstitutionSettlement) -> InstitutionSettlement:
    """Finance releases a statement for payment; four-eyes: not the clerk who started the run."""
    statement = (InstitutionSettlement.objects.select_for_update().select_related("run")
                 .get(pk=statement.pk))
    if not acting_user.has_perm("settlement.release_institutionsettlement"):
        raise ReleaseRefused("only the finance role may release statements")
    if statement.run.state != RunState.FINISHED:
        raise ReleaseRefused("the run is not finished")
    if statement.state != StatementState.COMPUTED:
        raise ReleaseRefused("already released")
    if statement.run.started_by_id is not None and statement.run.started_by_id == acting_user.pk:
        raise ReleaseRefused("four-eyes: the clerk who started the run cannot release its statements")
    statement.state = StatementState.RELEASED
    statement.released_by = acting_user
    statement.released_at = timezone.now()
    statement._history_user = acting_user
    statement.save(update_fields=["state", "released_by", "released_at"])
    return statement


def stale_cutoff(now=None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(minutes=settings.SETTLEMENT_RUN_STALE_MINUTES)


def _stale(cutoff) -> Q:
    return Q(state__in=[RunState.PENDING, RunState.RUNNING]) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))


@RUNS.service
def settlement_run_watchdog(*, acting_user=None, now=None) -> list[int]:
    """Resume every pending or running run whose worker vanished (issue 11 item 6).

    A run is stale when its heartbeat (or, never picked up, its creation) is older than
    SETTLEMENT_RUN_STALE_MINUTES. Each stale run is locked (skipping one a worker holds),
    re-checked, its heartbeat set to now — so the next tick leaves it alone for another N
    minutes — the pending → pending / running → running edge recorded, and its processing
    enqueued after commit. Resuming a run whose worker is merely slow is safe: the second
    worker waits on the account locks and skips the institutions already settled.
    """
    now = now or timezone.now()
    cutoff = stale_cutoff(now)
    resumed = []
    for pk in SettlementRun.objects.filter(_stale(cutoff)).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            run = (SettlementRun.objects.filter(_stale(cutoff), pk=pk).select_for_update(skip_locked=True).first())
            if run is None:
                continue
            seen = run.heartbeat_at or run.created_at
            _move(run, run.state, by=acting_user, fields={"heartbeat_at": now},
                  note=f"watchdog: no sign of life since {timezone.localtime(seen):%Y-%m-%d %H:%M:%S}; resumed")
            _enqueue(run.pk)
        resumed.append(pk)
    if resumed:
        log.warning("settlement watchdog resumed runs %s", resumed)
    return resumed


def previous_month(today: dt.date) -> tuple[int, int]:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.year, first.month
