"""Background jobs of the claims app (medins.jobs): the payment-order job finance starts from the
payment orders page (issue #14 item 2). Thin: the work is services.payment_orders_create, the same
service as the nightly task."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from medins.jobs import Job, job_kind

from .models import Case, PaymentFile, PaymentOrder, PaymentOrderStatus
from .workflow import CaseState

PAYMENT_JOB = "payment_orders"
RUN_PAYMENT_JOB = "claims.run_payment_job"


def payment_job_outlook(pay_date: dt.date) -> dict:
    """What the job would do for `pay_date` (the confirmation page): the approved cases and the
    released institution payables waiting for a file, and the day's file if it exists already."""
    cases = Case.objects.filter(state=CaseState.APPROVED).aggregate(n=Count("pk"), total=Sum("payable_amount"))
    institutions = PaymentOrder.objects.filter(payment_file__isnull=True, case__isnull=True,
                                               status=PaymentOrderStatus.ORDERED).aggregate(n=Count("pk"),
                                                                                            total=Sum("amount"))
    return {"cases": cases["n"], "cases_total": cases["total"] or 0, "institution_orders": institutions["n"],
            "institution_total": institutions["total"] or 0,
            "existing": PaymentFile.objects.filter(pay_date=pay_date).first()}


@job_kind(PAYMENT_JOB, label=gettext_lazy("Payment-order job"), start_permission=RUN_PAYMENT_JOB,
          view_permission="claims.view_paymentfile")
def payment_orders_job(job: Job) -> dict:
    """Approved cases (and released institution payables) → orders in the bank payment file of the
    job's pay date. Idempotent: the day's file is made once; a re-run finds it and orders nothing."""
    from .services import payment_orders_create

    pay_date = dt.date.fromisoformat(job.params["pay_date"])
    payment_file, created = payment_orders_create(acting_user=job.started_by, pay_date=pay_date, progress=job.progress)
    job.set_target(payment_file)
    links = [(_("Download the payment file"), reverse("admin:claims_paymentfile_download", args=[payment_file.pk])),
             (_("Payment orders of this file"),
              reverse("admin:claims_paymentorder_changelist") + f"?payment_file__id__exact={payment_file.pk}"),
             (_("Bank payment files"), reverse("admin:claims_paymentfile_changelist"))]
    held = payment_file.held or []
    return {
        "message": (_("Payment file of %(date)s created.") if created else
                    _("The payment file of %(date)s already existed: nothing was ordered again.")) % {"date": pay_date},
        "counts": [(pgettext("bank payment file", "payment date"), pay_date.isoformat()), (_("orders in the file"), payment_file.order_count),
                   (_("total amount"), f"{payment_file.total_amount:,.2f}"), (_("cases held back"), len(held))],
        "errors": [f"{h['case']}：{h['reason']}" for h in held],  # medins.jobs keeps the first SHOWN_ERRORS
        "links": links,
        "created": created,
    }
