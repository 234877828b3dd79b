"""Admin of the institution import (upload → check → confirm; medins.services.institution_import and
medins.uploads): the agency adds the designated institutions the seeds do not name."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .admin_jobs import check_in_background, import_in_background
from .models import InstitutionImport
from .parsing import FileError, read_upload
from .roles import IMPORT_INSTITUTIONS
from .services import institution_import
from .services.institution_import import (
    INSTITUTION_IMPORT_CHECK,
    INSTITUTION_IMPORT_IMPORT,
    ImportRefused,
    institution_import_check,
    institution_import_confirm,
    institution_import_store,
    report_for_display,
)
from .uploads import column_help, upload_confirmable, upload_pending


def may_import(request) -> bool:
    return all(request.user.has_perm(p) for p in IMPORT_INSTITUTIONS)


SAMPLE = Path(__file__).resolve().parent / "samples" / "institutions_sample.csv"


class InstitutionFileForm(forms.Form):
    file = forms.FileField(label=_("File (.csv or .xlsx)"))


@admin.register(InstitutionImport)
class InstitutionImportAdmin(admin.ModelAdmin):
    """Upload → check (every row's problem, naming its field) → confirm (medins.uploads)."""

    list_display = ["filename", "status", "uploaded_by", "uploaded_at", "rows_total", "rows_created", "rows_updated",
                    "rows_with_problems"]
    list_filter = ["status"]
    list_select_related = ["uploaded_by"]
    fields = readonly_fields = ["filename", "status", "uploaded_by", "uploaded_at", "imported_at"]
    change_list_template = "admin/medins/institution/change_list.html"

    @admin.display(description=_("rows"))
    def rows_total(self, obj):
        return obj.report.get("total", "")

    @admin.display(description=_("new"))
    def rows_created(self, obj):
        return obj.report.get("created", "")

    @admin.display(description=_("updated"))
    def rows_updated(self, obj):
        return obj.report.get("updated", "")

    @admin.display(description=_("rows with problems"))
    def rows_with_problems(self, obj):
        return len(obj.report.get("errors", []))

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "may_import": may_import(request)})

    def has_add_permission(self, request):
        return False  # through the upload page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="medins_institutionimport_upload"),
            path("<int:pk>/confirm/", self.admin_site.admin_view(self.confirm_view),
                 name="medins_institutionimport_confirm"),
            path("sample/", self.admin_site.admin_view(self.sample_view), name="medins_institutionimport_sample"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        if not may_import(request):  # medins.roles.ADMIN_VIEWS
            raise PermissionDenied
        form = InstitutionFileForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Import designated institutions"),
                   "upload_columns": column_help(institution_import.COLUMNS, institution_import.REQUIRED)}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                content = read_upload(upload)
                large = check_in_background(
                    request, filename=upload.name, content=content, kind=INSTITUTION_IMPORT_CHECK,
                    confirm_url_name="admin:medins_institutionimport_confirm",
                    store=lambda: institution_import_store(acting_user=request.user, filename=upload.name, content=content))
                if large:
                    return large
                checked = institution_import_check(acting_user=request.user, filename=upload.name, content=content)
            except (FileError, ImportRefused) as exc:
                form.add_error("file", exc.localized())
            else:
                return HttpResponseRedirect(reverse("admin:medins_institutionimport_change", args=[checked.pk]))
        return TemplateResponse(request, "admin/medins/institutionimport/upload.html", context)

    def sample_view(self, request):
        """The shipped sample file (medins/samples/), with the columns the import reads."""
        if not may_import(request):
            raise PermissionDenied
        response = HttpResponse(SAMPLE.read_bytes(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{SAMPLE.name}"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        upload = get_object_or_404(self.get_queryset(request), pk=object_id)
        extra_context = {**(extra_context or {}), "upload": upload, "report": report_for_display(upload.report),
                         "field_labels": {},  # report_for_display names the fields already
                         "pending": upload_pending(upload),
                         "can_confirm": upload_confirmable(upload) and may_import(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request, pk):
        if request.method != "POST" or not may_import(request):
            raise PermissionDenied
        upload = get_object_or_404(self.get_queryset(request), pk=pk)
        large = import_in_background(request, upload, kind=INSTITUTION_IMPORT_IMPORT)
        if large:
            return large
        try:
            upload = institution_import_confirm(acting_user=request.user, upload=upload)
        except ImportRefused as exc:
            self.message_user(request, exc.localized(), messages.ERROR)
        else:
            result = upload.result
            self.message_user(request, _("%(created)d institutions added, %(updated)d updated, %(errors)d rows with "
                                         "problems skipped.") % {"created": result.get("created", 0),
                                                                 "updated": result.get("updated", 0),
                                                                 "errors": len(result.get("errors", []))},
                              messages.WARNING if result.get("errors") else messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:medins_institutionimport_change", args=[upload.pk]))
