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
