"""The small school portal (/portal/): upload a CSV/XLSX batch, read the per-row report, cases and notices."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from enrollment.models import School
from medins.parsing import FileError, read_upload

from .errors import CaseError
from .models import BatchSource
from .selectors import operator_school_id, school_batches, school_cases, school_notices
from .services import BatchFileError, batch_submit, rows_from_file

LOGIN = "portal:login"
SAMPLE = Path(__file__).resolve().parent / "samples" / "school_batch_sample.csv"


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    # A school operator lands on the portal, not on settings.LOGIN_REDIRECT_URL (the admin's).
    next_page = "portal:home"
    redirect_authenticated_user = True


def _school(request) -> School:
    school_id = operator_school_id(request.user)
    if school_id is None:
        raise PermissionDenied(_("Only the medical insurance staff of a school can use these pages."))
    return School.objects.get(pk=school_id)


class UploadForm(forms.Form):
    batch_id = forms.CharField(label=_("Batch id"), max_length=80, required=False,
                               help_text=_("Uploading again with the same batch id accepts nothing twice; "
                                           "left empty, it is derived from the file's content."))
    file = forms.FileField(label=_("File (CSV or XLSX)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(mb)s MB and %(rows)s rows.") % {
            "mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024), "rows": settings.UPLOAD_MAX_ROWS}


@login_required(login_url=LOGIN)
def home(request):
    school = _school(request)
    return render(request, "portal/home.html", {
        "school": school, "batches": school_batches(school.pk).order_by("-submitted_at")[:50],
        "cases": school_cases(school.pk).order_by("-pk")[:50], "notices": school_notices(school.pk).order_by("-issued_at")[:20],
        "form": UploadForm(),
    })


@login_required(login_url=LOGIN)
def upload(request):
    school = _school(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        try:
            content = read_upload(f)  # at most UPLOAD_MAX_BYTES, refused before it is read
        except FileError as exc:
            return render(request, "portal/upload.html", {"school": school, "form": form, "error": exc.message.localized()})
        batch_id = form.cleaned_data["batch_id"] or "file-" + hashlib.sha256(content).hexdigest()[:16]
        try:
            rows = rows_from_file(f.name, content)
            batch, _created = batch_submit(acting_user=request.user, school=school, client_batch_id=batch_id, rows=rows,
                                           source=BatchSource.UPLOAD, filename=f.name)
        except (BatchFileError, CaseError) as exc:
            error = str(exc)
        else:
            return redirect("portal:batch", pk=batch.pk)
    return render(request, "portal/upload.html", {"school": school, "form": form, "error": error})


@login_required(login_url=LOGIN)
def sample(request):
    """The shipped sample batch, so a school sees the expected columns in a file it can edit."""
    _school(request)
    return FileResponse(SAMPLE.open("rb"), as_attachment=True, filename=SAMPLE.name, content_type="text/csv")


@login_required(login_url=LOGIN)
def batch_detail(request, pk):
    school = _school(request)
    batch = get_object_or_404(school_batches(school.pk), pk=pk)
    # Bounded page (issue 11 finding 7): the report REPORT_PAGE_ROWS rows at a time, the rejected rows alone on request.
    rows = batch.report or []
    rejected_only = request.GET.get("status") == "rejected"
    if rejected_only:
        rows = [r for r in rows if r.get("status") == "rejected"]
    page = Paginator(rows, settings.REPORT_PAGE_ROWS).get_page(request.GET.get("page"))
    return render(request, "portal/batch.html", {"school": school, "batch": batch, "page": page,
                                                 "rejected_only": rejected_only})


@login_required(login_url=LOGIN)
def case_detail(request, pk):
    school = _school(request)
    case = get_object_or_404(school_cases(school.pk), pk=pk)
    return render(request, "portal/case.html", {"school": school, "case": case, "notices": case.notices.all(),
                                                "transitions": case.transitions.all(),
                                                "attachments": case.attachments.defer("content")})


@login_required(login_url=LOGIN)
def attachment_download(request, pk, attachment_pk):
    """One of the school's own attachments, back as it was sent (school isolation as for the case)."""
    school = _school(request)
    case = get_object_or_404(school_cases(school.pk), pk=pk)
    attachment = get_object_or_404(case.attachments, pk=attachment_pk)
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
    return response


@login_required(login_url=LOGIN)
def notice_detail(request, pk):
    school = _school(request)
    notice = get_object_or_404(school_notices(school.pk), pk=pk)
    return render(request, "claims/notice.html", {"notice": notice, "case": notice.case})
