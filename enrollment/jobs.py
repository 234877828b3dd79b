"""Background jobs of the enrollment app (medins.jobs): the tax-file import (issue #14 item 3).

A tax bureau file holds up to millions of rows: the import a clerk confirms always runs as a job
(chunks committed one by one, so its progress shows as it goes), and the check before it runs as
a job when the file is above settings.JOB_UPLOAD_THRESHOLD rows (a smaller file is checked on the
page, with its preview as before). Thin: the work is services.tax_files."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medins.jobs import Job, job_kind

from .imports import row_message
from .models import PaymentImport

TAX_FILE_CHECK = "tax_file_check"
TAX_FILE_IMPORT = "tax_file_import"


def _error_text(e: dict) -> str:
    """A row's problem on the result page (medins.jobs words only the errors it shows)."""
    return _("row %(row)s, %(column)s: %(problem)s") % {"row": e.get("row"), "column": e.get("column") or e.get("field"),
                                                        "problem": row_message(e)}


def _import_link(payment_import: PaymentImport) -> tuple[str, str]:
    return (_("The file import's page"), reverse("admin:enrollment_paymentimport_change", args=[payment_import.pk]))


@job_kind(TAX_FILE_CHECK, label=gettext_lazy("Tax bureau file check"), start_permission="enrollment.add_payment",
          view_permission="enrollment.view_paymentimport", error_text=_error_text)
def tax_file_check_job(job: Job) -> dict:
    from .services.tax_files import payment_import_check

    payment_import = PaymentImport.objects.get(pk=job.params["payment_import"])
    report = payment_import_check(acting_user=job.started_by, payment_import=payment_import, progress=job.progress,
                                  expected=job.params.get("expected_rows", 0))
    result = {
        "message": _("%(name)s: %(total)s rows — %(ok)s will be imported, %(dup)s were already imported (skipped), "
                     "%(err)s have problems (skipped).") % {"name": payment_import.filename, "total": report.total,
                                                             "ok": report.ok, "dup": report.duplicates,
                                                             "err": len(report.errors)},
        "counts": [(_("rows"), report.total), (_("to import"), report.ok), (_("already imported"), report.duplicates),
                   (_("rows with errors"), len(report.errors))],
        "links": [_import_link(payment_import)],
        "errors": report.errors,
    }
    if report.ok:  # the next step, as on the page's preview: import the valid rows (a job of its own)
        result["actions"] = [(_("Import %(n)s payments") % {"n": report.ok},
                              reverse("admin:enrollment_payment_import_confirm", args=[payment_import.pk]))]
    return result


@job_kind(TAX_FILE_IMPORT, label=gettext_lazy("Tax bureau file import"), start_permission="enrollment.add_payment",
          view_permission="enrollment.view_paymentimport", error_text=_error_text)
def tax_file_import_job(job: Job) -> dict:
    from .services.tax_files import payment_import_confirm

    payment_import = PaymentImport.objects.get(pk=job.params["payment_import"])
    report = payment_import_confirm(acting_user=job.started_by, payment_import=payment_import, progress=job.progress)
    return {
        "message": _("%(ok)d payments imported, %(dup)d already imported, %(err)d rows with errors.")
        % {"ok": report.ok, "dup": report.duplicates, "err": len(report.errors)},
        "counts": [(_("rows"), report.total), (_("imported"), report.ok), (_("already imported"), report.duplicates),
                   (_("rows with errors"), len(report.errors))],
        "links": [_import_link(payment_import), (_("Payments"), reverse("admin:enrollment_payment_changelist"))],
        "errors": report.errors,
    }
