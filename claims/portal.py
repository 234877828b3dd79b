"""The small school portal (/portal/): upload a CSV/XLSX batch, read the per-row report, cases and notices;
forward a college student's 门规 file (a chronic-disease certification application, DOMAIN.md §5) with its
scanned documents, read its state and the agency's notice of missing documents, add them and resubmit.

One upload page serves both submission kinds (?kind=certification; ?certification=<id> adds documents
to a file already forwarded)."""

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

from claims.certifications import intake as cert_intake
from claims.certifications.errors import CertificationError
from claims.certifications.kinds import rule_for
from claims.certifications.models import CertificationKind
from claims.certifications.selectors import school_applications
from claims.certifications.services import attachment_max_bytes
from claims.certifications.submissions import certification_add_documents, certification_submit
from enrollment.models import School
from medins.messages import Msg
from medins.models import CatalogueItem, Institution
from medins.parsing import FileError, ParseError, gettext_noop, read_upload
from medins.uploads import column_help

from .errors import CaseError
from .models import BatchSource
from .selectors import operator_school_id, school_batches, school_cases, school_notices
from .services import BatchFileError, batch_submit, case_materials_send, rows_from_file
from .services.batches import COLUMNS, FILE_COLUMNS, REQUIRED_COLUMNS
from .workflow import EDITABLE

LOGIN = "portal:login"
BATCH_COLUMNS_HELP = column_help({c: FILE_COLUMNS[c] for c in COLUMNS}, REQUIRED_COLUMNS)
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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (each checked by claims.certifications.intake: size, type)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.tif,.tiff"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def _certification_rule(school: School):
    """The kind a school forwards (Jinan: college students' 门规 files), or None where schools forward none."""
    rule = rule_for(school.region.code, CertificationKind.CHRONIC)
    return rule if rule is not None and rule.school_forwards else None


class DocumentsForm(forms.Form):
    """One file field per document the kind requires (claims/certifications/kinds.py), several files each."""

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.documents = tuple(documents)
        hint = _("PDF, JPEG, PNG or TIFF, at most %(mb)s MB each.") % {"mb": attachment_max_bytes() // (1024 * 1024)}
        for document in self.documents:
            self.fields[f"doc_{document.code}"] = MultipleFileField(label=document.name, help_text=hint)

    def uploads(self):
        """The files as checked attachments (raises ParseError naming the document's field)."""
        out = []
        for document in self.documents:
            files = self.cleaned_data.get(f"doc_{document.code}") or []
            out += cert_intake.read_uploaded_files(files, document.code, field=f"doc_{document.code}")
        return out


class CertificationForm(DocumentsForm):
    """A college student's 门规 file: the student, the disease, the documents."""

    application_id = forms.CharField(label=_("Application id"), max_length=80, required=False,
                                     help_text=_("Sending the form again with the same id creates nothing twice; "
                                                 "left empty, it is derived from the student and the disease."))
    id_number = forms.CharField(label=_("Student's ID number"), max_length=18)
    item = forms.ChoiceField(label=_("Disease"))
    institution = forms.ChoiceField(label=_("Treatment institution"),
                                    help_text=_("Where the student will be treated (chosen at filing)."))

    field_order = ["application_id", "id_number", "item", "institution"]

    def __init__(self, *args, school: School, **kwargs):
        rule = _certification_rule(school)
        super().__init__(*args, documents=rule.documents if rule else (), **kwargs)
        self.order_fields(self.field_order)
        items = (CatalogueItem.objects.filter(region_id=school.region_id, kind=rule.catalogue, active=True).order_by("code")
                 if rule else CatalogueItem.objects.none())
        self.fields["item"].choices = [("", "---------")] + [(i.code, i.name) for i in items]
        places = Institution.objects.filter(region_id=school.region_id, active=True).order_by("code")
        if rule and rule.use.designation:
            places = places.filter(designations__code=rule.use.designation)
        self.fields["institution"].choices = [("", "---------")] + [(i.code, i.name) for i in places] if rule else []


class AddDocumentsForm(DocumentsForm):
    resubmit = forms.BooleanField(label=_("Resubmit the application now"), required=False, initial=True,
                                  help_text=_("After the agency's notice of missing documents: send the file back "
                                              "for review with the documents added."))
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


@login_required(login_url=LOGIN)
def home(request):
    school = _school(request)
    return render(request, "portal/home.html", {
        "school": school, "batches": school_batches(school.pk).order_by("-submitted_at")[:50],
        "cases": school_cases(school.pk).order_by("-pk")[:50], "notices": school_notices(school.pk).order_by("-issued_at")[:20],
        "certifications": school_applications(school.pk).order_by("-applied_at", "-pk")[:50],
        "certification_kind": _certification_rule(school) is not None,
        "form": UploadForm(),
    })


def _upload_certification(request, school: School):
    """The upload page's second kind: a 门规 file, or documents added to one (?certification=<id>)."""
    context = {"school": school, "kind": "certification"}
    if request.GET.get("certification"):
        certification = get_object_or_404(school_applications(school.pk), pk=request.GET["certification"])
        rule = rule_for(certification.region.code, certification.kind) if certification.region_id else None
        form = AddDocumentsForm(request.POST or None, request.FILES or None, documents=rule.documents if rule else ())
        context.update(certification=certification, form=form)
        if request.method == "POST" and form.is_valid():
            try:
                certification_add_documents(acting_user=request.user, certification=certification, attachments=form.uploads(),
                                            resubmit=form.cleaned_data["resubmit"], note=form.cleaned_data["note"])
            except ParseError as exc:
                context["error"] = exc.localized()
            except CertificationError as exc:
                context["error"] = str(exc)
            else:
                return redirect("portal:certification", pk=certification.pk)
        return render(request, "portal/upload.html", context)
    if _certification_rule(school) is None:
        raise PermissionDenied(_("Only Jinan schools forward chronic-disease (门规) files."))
    form = CertificationForm(request.POST or None, request.FILES or None, school=school)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = cert_intake.read_application({"id_number": data["id_number"], "item": data["item"],
                                                        "institution": data["institution"]}, school=school)
            client_id = cert_intake.read_client_id(None, data["application_id"] or "portal-{}-{}".format(
                application["person"].pk, data["item"]))
            certification, _created = certification_submit(acting_user=request.user, client_id=client_id,
                                                           application=application, attachments=form.uploads())
        except ParseError as exc:
            context["error"] = exc.localized()
        except CertificationError as exc:
            context["error"] = str(exc)
        else:
            return redirect("portal:certification", pk=certification.pk)
    return render(request, "portal/upload.html", context)


@login_required(login_url=LOGIN)
def upload(request):
    school = _school(request)
    if request.GET.get("kind") == "certification" or request.GET.get("certification"):
        return _upload_certification(request, school)
    form = UploadForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        try:
            content = read_upload(f)  # at most UPLOAD_MAX_BYTES, refused before it is read
        except FileError as exc:
            return render(request, "portal/upload.html", {"school": school, "form": form, "error": exc.message.localized(),
                                                          "kind": "batch", "upload_columns": BATCH_COLUMNS_HELP})
        batch_id = form.cleaned_data["batch_id"] or "file-" + hashlib.sha256(content).hexdigest()[:16]
        try:
            rows = rows_from_file(f.name, content)
            batch, _created = batch_submit(acting_user=request.user, school=school, client_batch_id=batch_id, rows=rows,
                                           source=BatchSource.UPLOAD, filename=f.name)
        except (BatchFileError, CaseError) as exc:
            error = str(exc)
        else:
            return redirect("portal:batch", pk=batch.pk)
    return render(request, "portal/upload.html", {"school": school, "form": form, "error": error, "kind": "batch",
                                                  "certification_kind": _certification_rule(school) is not None,
                                                  "upload_columns": BATCH_COLUMNS_HELP})


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
                                                "may_send": case.state in EDITABLE and case.materials.filter(received=False).exists(),
                                                "transitions": case.transitions.all(),
                                                "attachments": case.attachments.defer("content")})


class SendMaterialsForm(DocumentsForm):
    """One file field per material still missing from the case (its checklist)."""

    resubmit = forms.BooleanField(label=_("Send the case back to the agency now"), required=False, initial=True,
                                  help_text=_("After the agency's notice of missing materials: the case returns to "
                                              "its review with the materials added."))
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


@login_required(login_url=LOGIN)
def case_materials(request, pk):
    """The school sends the materials the agency's notice asked for, and the case goes back to it (issue 14 item 8)."""
    school = _school(request)
    case = get_object_or_404(school_cases(school.pk).select_related("person", "case_type"), pk=pk)
    missing = list(case.materials.filter(received=False).order_by("pk"))
    if case.state not in EDITABLE or not missing:
        return redirect("portal:case", pk=case.pk)
    form = SendMaterialsForm(request.POST or None, request.FILES or None, documents=missing)
    context = {"school": school, "case": case, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            uploads = form.uploads()
            if not uploads:
                raise ParseError("files", Msg(gettext_noop("choose at least one file")))
            case_materials_send(acting_user=request.user, case=case, resubmit=form.cleaned_data["resubmit"],
                                note=form.cleaned_data["note"],
                                attachments=[{"material": u.document_code, "filename": u.filename,
                                              "content_type": u.content_type, "content": u.content} for u in uploads])
        except ParseError as exc:
            context["error"] = exc.localized()
        except CaseError as exc:
            context["error"] = str(exc)
        else:
            return redirect("portal:case", pk=case.pk)
    return render(request, "portal/case_materials.html", context)


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


@login_required(login_url=LOGIN)
def certification_detail(request, pk):
    """A forwarded 门规 file: its state, the agency's notices of missing documents, documents, history."""
    school = _school(request)
    certification = get_object_or_404(school_applications(school.pk), pk=pk)
    return render(request, "portal/certification.html", {
        "school": school, "certification": certification, "notices": certification.notices.all(),
        "documents": certification.documents.all(), "transitions": certification.transitions.all(),
        "attachments": certification.attachments.defer("content"),
        "may_add": certification.state in ("applied", "incomplete", "resubmitted"),
    })


@login_required(login_url=LOGIN)
def certification_attachment(request, pk, attachment_pk):
    """One of the documents the school sent, back as it was sent (school isolation as for the file)."""
    school = _school(request)
    certification = get_object_or_404(school_applications(school.pk), pk=pk)
    attachment = get_object_or_404(certification.attachments, pk=attachment_pk)
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
    return response
