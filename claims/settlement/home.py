"""The home page's settlement queues (statements to release, failed runs, reopenings to decide,
uploads to confirm) and the fund's payments to institutions (medins.home)."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from claims.models import Benefit, PaymentOrder, PaymentOrderStatus
from medins.home import PaymentRow, Queue, register_payments, register_queue
from medins.roles import RELEASE_FEE_STATEMENT, RELEASE_STATEMENT, REOPEN_YEAR, START_RUN
from medins.uploads import UploadStatus

from .models import CertifiedBenefit, FeeStatement, InstitutionSettlement, ReopeningState, RunState, StatementState
from .services.statements import SOURCE_KIND

GROUP = _("Settlement with institutions")
COMPUTED = {"state__exact": StatementState.COMPUTED}


def _queue(key, label, model, lookups, age_field, roles, perms, order):
    register_queue(Queue(key=key, group=GROUP, group_order=30, order=order, label=label, model=model, lookups=lookups,
                         age_field=age_field, roles=roles, perms=perms))


# Finance releases statements (four eyes: not who started the run) and decides reopenings; who may
# start runs resumes a failed one; an institution's operator (or the intake clerk, for it)
# confirms a checked upload of visits or sign-ups.
_queue("settlement.statement.release", _("Capitation statements to release"), "settlement.InstitutionSettlement",
       COMPUTED, "created_at", ("finance",), (RELEASE_STATEMENT,), 0)
_queue("settlement.fee_statement.release", _("Fee-for-service statements to release"), "settlement.FeeStatement",
       COMPUTED, "created_at", ("finance",), (RELEASE_FEE_STATEMENT,), 1)
_queue("settlement.run.failed", _("Failed settlement runs to resume"), "settlement.SettlementRun",
       {"state__exact": RunState.FAILED}, "created_at",
       ("reviewer", "finance"), (START_RUN,), 2)
_queue("settlement.reopening.decide", _("Reopenings of a settlement year to decide"), "settlement.YearReopening",
       {"state__exact": ReopeningState.REQUESTED}, "requested_at",
       ("finance",), (REOPEN_YEAR,), 3)
_queue("settlement.pool_upload.confirm", _("Visit and sign-up files checked, waiting for confirmation"),
       "settlement.PoolUpload", {"status__exact": UploadStatus.CHECKED}, "uploaded_at", ("intake_clerk", "institution_operator"),
       ("settlement.view_poolupload", "settlement.add_visit|settlement.add_poolmembership"), 4)


def fee_statement_payments(since):
    """Payment orders of released fee-for-service statements (not failed), by the month they were
    ordered and the statement's certified benefit."""
    benefit = Subquery(FeeStatement.objects.filter(pk=OuterRef("source_id")).values("benefit")[:1])
    rows = (PaymentOrder.objects.filter(source_kind=SOURCE_KIND, created_at__date__gte=since)
            .exclude(status=PaymentOrderStatus.FAILED)
            .annotate(month=TruncMonth("created_at"), benefit=benefit).values("month", "benefit")
            .annotate(amount=Sum("amount")).order_by())
    labels = {**dict(Benefit.choices), **dict(CertifiedBenefit.choices)}
    return [PaymentRow(month=r["month"], benefit=r["benefit"], label=labels.get(r["benefit"], r["benefit"]),
                       amount=r["amount"]) for r in rows]


def capitation_payments(since):
    """Capitation statements released for payment (no payment order yet: finance pays them from the
    release), by the month of release; a year-end recovery counts negative."""
    rows = (InstitutionSettlement.objects.filter(state=StatementState.RELEASED, released_at__date__gte=since)
            .annotate(month=TruncMonth("released_at")).values("month").annotate(amount=Sum("payable")).order_by())
    return [PaymentRow(month=r["month"], benefit=Benefit.OUTPATIENT_POOL, label=Benefit.OUTPATIENT_POOL.label,
                       amount=r["amount"]) for r in rows]


register_payments("settlement.fee_statements", fee_statement_payments)
register_payments("settlement.capitation", capitation_payments)
