"""The admin's upload-with-preview, shared by every file a clerk or an operator uploads for a check
first and an import after confirmation (settlement visits and sign-up lists, designated
institutions): one record shape, one dry run, one confirmation rule.

1. *check*: the file is read through the one parser (medins.parsing.read_records), the real
   import service runs on its rows inside a transaction that is rolled back (`dry_run`), and
   only the upload record is written: its rows (so the confirmation imports exactly what was
   previewed) and the report (counts and every row's problem, naming its field);
2. *confirm*: the same service runs on the stored rows, once (`confirmable`: a second
   confirmation is refused).

The tax bureau import (enrollment.services.tax_files) keeps its own record (PaymentImport): it
streams files of millions of rows with COPY and stores the file, not its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import models, transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

T = TypeVar("T")


class UploadStatus(models.TextChoices):
    CHECKED = "checked", _("Checked, not imported yet")
    DONE = "done", _("Imported")


class CheckedUpload(models.Model):
    """A file checked first (preview, nothing written) and imported when confirmed."""

    filename = models.CharField(_("file name"), max_length=200)
    rows = models.JSONField(_("rows"), default=list, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=UploadStatus.choices, default=UploadStatus.CHECKED)
    preview = models.JSONField(_("check result"), default=dict, blank=True)
    result = models.JSONField(_("import result"), default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-uploaded_at", "-pk"]

    @property
    def report(self) -> dict:
        """What the page shows: the import's result once imported, else the check's."""
        return self.result or self.preview


class _Rollback(Exception):
    def __init__(self, value):
        self.value = value


def dry_run(apply: Callable[[], T]) -> T:
    """`apply()`'s result, with everything it wrote rolled back (the preview of an import)."""
    try:
        with transaction.atomic():
            raise _Rollback(apply())
    except _Rollback as done:
        return done.value


def upload_rows(filename: str, content: bytes, *, max_rows: int) -> list[dict]:
    """The file's data rows as {header: text} (the line number under "_line"), for storing on the record."""
    from .parsing import read_records  # not at import time: medins.models imports this module

    _header, rows = read_records(filename, content, max_rows=max_rows, line_key="_line")
    return [{str(k): v if isinstance(v, (str, int)) else str(v) for k, v in row.items()} for row in rows]


def column_help(columns, required=()) -> list[dict]:
    """The columns of a file for templates/medins/upload_columns.html: [{label, name, required}] in the
    declared order (each importer's medins.parsing.Column set; issue 14 item 4)."""
    required = set(required)
    return [{"label": c.label, "name": c.name, "required": c.name in required} for c in columns.values()]


def field_labels(columns, extra: dict | None = None) -> dict:
    """{field name: Chinese header} for an upload's report (the error table's field column)."""
    from django.utils.translation import gettext

    labels = {"row": gettext("row"), "file": gettext("file")}
    labels.update({name: c.label for name, c in columns.items()})
    labels.update(extra or {})
    return labels


# A compressed workbook row of an import (a handful of short cells) takes roughly this many bytes.
_XLSX_BYTES_PER_ROW = 40


def estimated_rows(filename: str, content: bytes) -> int:
    """About how many data rows a file holds, without parsing it: the line count of a CSV; for a
    workbook (not opened here: medins.parsing checks it before openpyxl sees it) its size over
    a typical compressed row. Decides only whether a file is read on the page or by a job."""
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")) or content.startswith(b"PK\x03\x04"):
        return len(content) // _XLSX_BYTES_PER_ROW
    lines = content.count(b"\n") + (0 if content.endswith(b"\n") or not content else 1)
    return max(0, lines - 1)


def in_background(filename: str, content: bytes) -> bool:
    """Issue #14 item 3: an upload above settings.JOB_UPLOAD_THRESHOLD rows is checked and imported
    by a background job (medins.jobs) with a progress page; a smaller one stays on the page."""
    return estimated_rows(filename, content) > settings.JOB_UPLOAD_THRESHOLD


# --------------------------------------------------------------------------- large uploads: a background job
#
# Issue #14 item 3. Above JOB_UPLOAD_THRESHOLD rows the page only reads the file into the upload
# record (fast: the one parser and its limits) and starts the check as a job; the
# record's preview reads {"pending": true} until the job writes the report, and nothing can be
# confirmed before. Confirming a large upload starts the import as a job too. The job's result
# page links to the upload's own page, which shows every row's problem as for a small file.

PENDING = "pending"


def upload_pending(upload) -> bool:
    return bool(upload.preview.get(PENDING))


def upload_confirmable(upload) -> bool:
    """Checked (its report written) and not imported yet: the page offers "Import"."""
    return upload.status == UploadStatus.CHECKED and not upload_pending(upload)


def upload_job_kinds(prefix: str, *, model, label, start_permission: str, view_permission: str, may_view,
                     check: Callable, confirm: Callable, page_url: Callable, counts: Callable) -> tuple[str, str]:
    """Register the two jobs of an upload kind: `<prefix>_check` (check(acting_user=, upload=, progress=)
    returns the report, stored as the preview) and `<prefix>_import` (confirm(acting_user=, upload=,
    progress=) the stored rows, once). `counts(report)` gives the result page's [(label, value)]."""
    from django.utils.translation import gettext as _g

    from .jobs import job_kind

    check_code, import_code = f"{prefix}_check", f"{prefix}_import"

    def result(upload, report, *, confirm_url=None) -> dict:
        errors = report.get("errors", [])
        out = {"counts": counts(report), "errors_count": len(errors),
               "links": [(_g("The upload's page: every row's problem"), page_url(upload))]}
        if confirm_url:
            out["actions"] = [(_g("Import the rows"), confirm_url)]
        return out

    def _upload(job):
        return model.objects.get(pk=job.params["upload"])

    def run_check(job):
        upload = _upload(job)
        report = check(acting_user=job.started_by, upload=upload, progress=job.progress)
        model.objects.filter(pk=upload.pk).update(preview=report)
        return {"message": _g("The file is checked: nothing is imported yet."),
                **result(upload, report, confirm_url=job.params.get("confirm_url"))}

    def run_import(job):
        upload = confirm(acting_user=job.started_by, upload=_upload(job), progress=job.progress)
        return {"message": _g("The file is imported."), **result(upload, upload.result)}

    for code, run, text in ((check_code, run_check, _("check")), (import_code, run_import, _("import"))):
        job_kind(code, label=format_lazy("{} · {}", label, text), start_permission=start_permission,
                 view_permission=view_permission, may_view=may_view)(run)
    return check_code, import_code
