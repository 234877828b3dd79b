"""Reopening a settlement year closed by its year-end run (issue 10 item 3): explicit, audited,
four-eyed, by finance only.

One finance user requests it, naming the reason (settlement_year_reopen_request); another
approves it (settlement_year_reopen_approve) — or refuses it (settlement_year_reopen_refuse).
Approving, in one transaction: the year-end run goes finished → reopened (the run workflow's
edge, recorded with the reason), the region's capitation accounts of the year are opened again,
and the request records who decided when. Nothing else opens a closed account: no run does
(runs.institution_settle only ever closes one). The year is then settled again by a new
year-end run, which pays (or recovers) the difference to what was settled before.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medins.models import Region

from ..errors import RunRefused
from ..models import PoolAccount, ReopeningState, RunKind, RunState, SettlementRun, YearReopening
from ..workflow import RUNS
from .runs import _move

PERMISSION = "settlement.reopen_settlement_year"


class ReopeningRefused(RunRefused):
    code = "reopening_refused"


def _finance(acting_user) -> None:
    if acting_user is None or not acting_user.has_perm(PERMISSION):
        raise ReopeningRefused(_("Only finance may reopen a closed settlement year."))


@transaction.atomic
def settlement_year_reopen_request(*, acting_user, region: Region, year: int, reason: str) -> YearReopening:
    """Finance asks to reopen `year` of `region`; a second finance user must approve it."""
    _finance(acting_user)
    reason = (reason or "").strip()
    if not reason:
        raise ReopeningRefused(_("A reopening needs its reason."))
    run = (SettlementRun.objects.select_for_update().filter(region=region, kind=RunKind.YEAR_END, year=year,
                                                            state=RunState.FINISHED).first())
    if run is None:
        raise ReopeningRefused(_("%(year)s of %(region)s is not closed by a finished year-end run.")
                               % {"year": year, "region": region.name})
    if YearReopening.objects.filter(region=region, year=year, state=ReopeningState.REQUESTED).exists():
        raise ReopeningRefused(_("A reopening of %(year)s of %(region)s is already waiting for approval.")
                               % {"year": year, "region": region.name})
    reopening = YearReopening(region=region, year=year, reason=reason, year_end_run=run, requested_by=acting_user)
    reopening._history_user = acting_user
    reopening.save()
    return reopening


def _lock_open(reopening: YearReopening) -> YearReopening:
    reopening = YearReopening.objects.select_for_update().select_related("region").get(pk=reopening.pk)
    if reopening.state != ReopeningState.REQUESTED:
        raise ReopeningRefused(_("This reopening was already decided."))
    return reopening


def _decide(reopening: YearReopening, state: str, *, acting_user, note: str) -> YearReopening:
    reopening.state = state
    reopening.decided_by = acting_user
    reopening.decided_at = timezone.now()
    reopening.decision_note = (note or "")[:200]
    reopening._history_user = acting_user
    reopening.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return reopening


@RUNS.service
@transaction.atomic
def settlement_year_reopen_approve(*, acting_user, reopening: YearReopening, note: str = "") -> YearReopening:
    """A second finance user approves: the year-end run is marked reopened and the accounts open."""
    _finance(acting_user)
    reopening = _lock_open(reopening)
    if reopening.requested_by_id == acting_user.pk:
        raise ReopeningRefused(_("Four eyes: the finance user who requested the reopening cannot approve it."))
    run = SettlementRun.objects.select_for_update().get(pk=reopening.year_end_run_id)
    _move(run, RunState.REOPENED, by=acting_user,
          note=f"reopened (request #{reopening.pk}, asked by {reopening.requested_by}): {reopening.reason}")
    accounts = list(PoolAccount.objects.filter(institution__region=reopening.region, year=reopening.year)
                    .order_by("pk").select_for_update().values_list("pk", flat=True))
    PoolAccount.objects.filter(pk__in=accounts).update(closed=False)
    return _decide(reopening, ReopeningState.APPROVED, acting_user=acting_user, note=note)


@transaction.atomic
def settlement_year_reopen_refuse(*, acting_user, reopening: YearReopening, note: str = "") -> YearReopening:
    """Finance refuses (or the requester withdraws) a reopening: the year stays closed."""
    _finance(acting_user)
    reopening = _lock_open(reopening)
    return _decide(reopening, ReopeningState.REFUSED, acting_user=acting_user, note=note)
