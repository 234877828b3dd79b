"""Monthly fee-for-service statements of certified outpatient visits (issue 12 item 5).

One statement per institution, certified benefit and month (FeeStatement, unique): payable = the
fund of the visits behind it (CertifiedVisit.statement). Produced by a settlement run of kind
`ffs` (the same SettlementRun machinery as capitation: one run per region and month, resumable,
a heartbeat and the watchdog, each transition recorded), started by a clerk in the admin or by
the beat schedule; released by finance — never by whoever started the run (four eyes, as
settlement_release) — into a payment order (claims.services.payments.payment_order_for_institution).

Decisions:
- What a statement takes: every visit of its institution and benefit not on a statement yet and
  dated up to the last day of its month — the month's visits and the late ones of earlier months
  (counted apart as `late_visits_count`, listed with their dates). A visit arriving after its
  month's statement was produced goes onto the next statement produced for that institution and
  benefit (a late visit of December goes onto January's); a statement already produced is never
  changed, so no adjustment line is needed and nothing is paid twice.
- Idempotent: the run is unique per region + month (starting it again returns it; a finished run
  is not run again); within it each statement is created once (the unique key) in its own
  transaction with the visits it takes, so a resumed or concurrent worker skips what exists.
  Re-running changes nothing; late visits wait for the next month's run.
- Exact without a lock on the visits: the statement takes its visits with one conditional UPDATE
  (`statement IS NULL`, READ COMMITTED): a batch committed before it is taken, one committed
  after it is left for the next statement, none is taken twice. Its totals are then summed from
  the visits it took, in the same transaction.
- Direct inpatient stays (services/stays.py) are paid the same way on the hospital's statement of
  benefit `inpatient`, by their discharge date (what "dated" means for a stay): payable = their
  fund and catastrophic supplement, both advanced to the person by the hospital.
- A statement with nothing payable (every visit capped to zero) is still produced (the visits
  are accounted for); releasing it orders no payment.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging

from django.db import OperationalError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from medins.benefits.rounding import ZERO, round_money

from ..errors import ReleaseRefused
from ..models import CertifiedVisit, FeeBenefit, FeeStatement, InpatientStay, RunState, SettlementRun, StatementState

log = logging.getLogger(__name__)
SOURCE_KIND = "fee_statement"
RELEASE_PERMISSION = "settlement.release_feestatement"


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def pending_pairs(*, region_id: int, year: int, month: int) -> list[tuple[int, str]]:
    """(institution id, benefit) of the region with visits not on a statement yet, dated up to the
    month's end (one query over the partial index of unstated visits), then the hospitals with
    unstated direct stays discharged by then."""
    end = month_end(year, month)
    pairs = list(CertifiedVisit.objects.filter(statement__isnull=True, service_date__lte=end,
                                               institution__region_id=region_id)
                 .order_by("institution_id", "benefit").values_list("institution_id", "benefit").distinct())
    stays = (InpatientStay.objects.filter(statement__isnull=True, discharged__lte=end, institution__region_id=region_id)
             .order_by("institution_id").values_list("institution_id", flat=True).distinct())
    return pairs + [(institution_id, FeeBenefit.INPATIENT) for institution_id in stays]


def fee_run_process(*, run: SettlementRun, acting_user, move) -> SettlementRun:
    """Process a fee-for-service run (called by settlement_run_process, whose edges it takes with
    `move`): one statement per pending institution and benefit, each in its own transaction."""
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().select_related("region").get(pk=run.pk)
        if run.state in (RunState.FINISHED, RunState.REOPENED):
            return run
        if run.state != RunState.RUNNING:
            move(run, RunState.RUNNING, by=acting_user, note="processing")
        pairs = pending_pairs(region_id=run.region_id, year=run.year, month=run.month)
        done = FeeStatement.objects.filter(run=run).count()
        SettlementRun.objects.filter(pk=run.pk).update(institutions_total=done + len(pairs),
                                                       heartbeat_at=timezone.now())
    try:
        for institution_id, benefit in pairs:
            fee_statement_produce(run=run, institution_id=institution_id, benefit=benefit)
    except Exception as exc:  # recorded on the run, which stays resumable
        log.exception("fee-for-service run %s failed", run.pk)
        with transaction.atomic():
            run = SettlementRun.objects.select_for_update().get(pk=run.pk)
            run.errors = [*run.errors, {"at": timezone.now().isoformat(), "error": f"{type(exc).__name__}: {exc}"}]
            run.save(update_fields=["errors"])
            if run.state == RunState.RUNNING:
                move(run, RunState.FAILED, by=acting_user, note=str(exc)[:200])
        if isinstance(exc, OperationalError):
            raise
        return run
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        if run.state == RunState.RUNNING:
            count = FeeStatement.objects.filter(run=run).count()
            SettlementRun.objects.filter(pk=run.pk).update(institutions_total=count)
            move(run, RunState.FINISHED, by=acting_user, note=f"{count} statements")
    return run


@transaction.atomic
def fee_statement_produce(*, run: SettlementRun, institution_id: int, benefit: str) -> FeeStatement | None:
    """The statement of one institution and benefit for the run's month; None when it exists
    already (idempotent: produced before a crash, by another worker, or by an earlier run)."""
    statement, created = FeeStatement.objects.get_or_create(
        institution_id=institution_id, benefit=benefit, year=run.year, month=run.month,
        defaults={"run": run, "produced_by": run.started_by})
    if not created:
        return None
    first = dt.date(run.year, run.month, 1)
    if benefit == FeeBenefit.INPATIENT:
        _take_stays(statement, first)
    else:
        _take_visits(statement, first)
    SettlementRun.objects.filter(pk=run.pk).update(
        institutions_done=F("institutions_done") + 1, visits_count=F("visits_count") + statement.visits_count,
        amount_total=F("amount_total") + statement.payable, heartbeat_at=timezone.now())
    return statement


def _take_visits(statement: FeeStatement, first: dt.date) -> None:
    CertifiedVisit.objects.filter(institution_id=statement.institution_id, benefit=statement.benefit,
                                  statement__isnull=True, service_date__lte=month_end(statement.year, statement.month)
                                  ).update(statement=statement)
    sums = CertifiedVisit.objects.filter(statement=statement).aggregate(
        n=Count("pk"), late=Count("pk", filter=Q(service_date__lt=first)), total=Sum("total"), fund=Sum("fund"),
        personal=Sum("personal"))
    statement.visits_count = sums["n"]
    statement.late_visits_count = sums["late"]
    statement.total = round_money(sums["total"] or ZERO)
    statement.payable = round_money(sums["fund"] or ZERO)
    statement.personal = round_money(sums["personal"] or ZERO)
    statement.save(update_fields=["visits_count", "late_visits_count", "total", "payable", "personal"])


def _take_stays(statement: FeeStatement, first: dt.date) -> None:
    """The hospital's unstated direct stays discharged by the month's end (one UPDATE, as visits)."""
    InpatientStay.objects.filter(institution_id=statement.institution_id, statement__isnull=True,
                                 discharged__lte=month_end(statement.year, statement.month)).update(statement=statement)
    sums = InpatientStay.objects.filter(statement=statement).aggregate(
        n=Count("pk"), late=Count("pk", filter=Q(discharged__lt=first)), total=Sum("total"), fund=Sum("fund"),
        catastrophic=Sum("catastrophic"), personal=Sum("personal"))
    statement.visits_count = sums["n"]
    statement.late_visits_count = sums["late"]
    statement.total = round_money(sums["total"] or ZERO)
    statement.payable = round_money((sums["fund"] or ZERO) + (sums["catastrophic"] or ZERO))
    statement.personal = round_money(sums["personal"] or ZERO)
    statement.save(update_fields=["visits_count", "late_visits_count", "total", "payable", "personal"])


@transaction.atomic
def fee_statement_release(*, acting_user, statement: FeeStatement) -> FeeStatement:
    """Finance releases a statement into a payment order; four eyes: never whoever produced it
    (started its run). Releasing twice is refused; the order is created once."""
    from claims.services.payments import payment_order_for_institution

    statement = (FeeStatement.objects.select_for_update(of=("self",)).select_related("run", "institution")
                 .get(pk=statement.pk))
    if not acting_user.has_perm(RELEASE_PERMISSION):
        raise ReleaseRefused(_("Only finance may release fee-for-service statements."))
    if statement.state != StatementState.COMPUTED:
        raise ReleaseRefused(_("This statement is already released."))
    if statement.run is not None and statement.run.state != RunState.FINISHED:
        raise ReleaseRefused(_("The run that produces this statement has not finished."))
    producers = {statement.produced_by_id, statement.run.started_by_id if statement.run else None} - {None}
    if acting_user.pk in producers:
        raise ReleaseRefused(_("Four eyes: whoever produced a statement cannot release it."))
    if statement.payable > 0:
        payment_order_for_institution(acting_user=acting_user, institution=statement.institution,
                                      amount=statement.payable, source_kind=SOURCE_KIND, source_id=statement.pk)
    statement.state = StatementState.RELEASED
    statement.released_by = acting_user
    statement.released_at = timezone.now()
    statement._history_user = acting_user
    statement.save(update_fields=["state", "released_by", "released_at"])
    return statement


def fee_statements_for(user):
    """The statements a user may see: an institution operator its own institution's only."""
    from ..selectors import operator_institution_id

    qs = FeeStatement.objects.select_related("institution", "institution__region", "run", "released_by")
    own = operator_institution_id(user)
    return qs.filter(institution_id=own) if own is not None else qs


def payment_order_of(statement: FeeStatement):
    from claims.models import PaymentOrder

    return (PaymentOrder.objects.filter(source_kind=SOURCE_KIND, source_id=statement.pk).order_by("-pk").first())

