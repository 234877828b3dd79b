"""Background jobs of the settlement app (medins.jobs): visit and sign-up files above
JOB_UPLOAD_THRESHOLD rows are checked and imported by jobs (issue #14 item 3; medins.uploads)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medins.uploads import upload_job_kinds

from .models import PoolUpload
from .selectors import may_act_for
from .services.uploads import pool_upload_confirm, pool_upload_recheck


def _may_view(user, job) -> bool:
    """An institution operator sees its own institution's uploads only (DESIGN "Permissions")."""
    upload = PoolUpload.objects.filter(pk=job.params.get("upload")).only("institution_id").first()
    return upload is not None and may_act_for(user, upload.institution_id)


def _counts(report: dict) -> list:
    out = [(_("rows"), report.get("total", 0)), (_("new"), report.get("created", 0))]
    if "duplicates" in report:
        out.append((_("already received"), report["duplicates"]))
    if "unchanged" in report:
        out.append((_("already members"), report["unchanged"]))
    return [*out, (_("rows with problems"), len(report.get("errors", [])))]


POOL_UPLOAD_CHECK, POOL_UPLOAD_IMPORT = upload_job_kinds(
    "pool_upload", model=PoolUpload, label=gettext_lazy("Visits or sign-up file"),
    start_permission="settlement.add_poolupload", view_permission="settlement.view_poolupload", may_view=_may_view,
    check=pool_upload_recheck, confirm=pool_upload_confirm,
    page_url=lambda upload: reverse("admin:settlement_poolupload_change", args=[upload.pk]), counts=_counts)
