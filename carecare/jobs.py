"""Background jobs of the long-term care app (medins.jobs): monthly care-claim files above
JOB_UPLOAD_THRESHOLD rows (one row per resident-day) are checked and received by jobs (issue #14
item 3; medins.uploads)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medins.uploads import upload_job_kinds

from .models import CareClaimUpload
from .selectors import acts_for_home
from .services.claims import RECEIVE, care_claim_upload_confirm, care_claim_upload_recheck


def _may_view(user, job) -> bool:
    """A care home's operator sees its own home's uploads only (DESIGN "Permissions")."""
    upload = CareClaimUpload.objects.filter(pk=job.params.get("upload")).only("care_home_id").first()
    return upload is not None and acts_for_home(user, upload.care_home_id)


def _counts(report: dict) -> list:
    return [(_("rows"), report.get("rows", 0)), (_("residents"), report.get("residents", 0)),
            (_("days billed"), report.get("days", 0)), (_("days refused"), report.get("days_refused", 0)),
            (_("fund pays"), report.get("fund", "0.00")), (_("problems"), len(report.get("errors", [])))]


CARE_UPLOAD_CHECK, CARE_UPLOAD_IMPORT = upload_job_kinds(
    "care_claim_upload", model=CareClaimUpload, label=gettext_lazy("Monthly care claim file"),
    start_permission=RECEIVE, view_permission="carecare.view_careclaimupload", may_view=_may_view,
    check=care_claim_upload_recheck, confirm=care_claim_upload_confirm,
    page_url=lambda upload: reverse("admin:carecare_careclaimupload_change", args=[upload.pk]), counts=_counts)
