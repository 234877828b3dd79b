"""Admin of background jobs (medins.jobs): the one progress page (polled by the browser), its JSON
status endpoint, the one result page and the re-run of a failed job. Every kind of job uses them;
the list of all jobs is the administrator's. Also the one branch of every upload page that hands a
large file to a job (check_in_background, import_in_background)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .admin_mixins import AdministratorOnly
from .jobs import KINDS, Job, JobStatus, job_rerun, job_start, job_start_once, job_visible
from .uploads import in_background, upload_confirmable

# How often the progress page asks for the job's state (milliseconds).
POLL_MS = 1000


def job_progress_url(job: Job) -> str:
    return reverse("admin:medins_job_progress", args=[job.pk])


def job_result_url(job: Job) -> str:
    return reverse("admin:medins_job_result", args=[job.pk])


def job_status(job: Job) -> dict:
    return {"id": job.pk, "status": job.status, "status_label": str(job.get_status_display()), "done": job.done,
            "total": job.total, "percent": job.percent, "finished": job.finished,
            "result_url": job_result_url(job)}


# --------------------------------------------------------------------------- large uploads (issue #14 item 3)


def check_in_background(request, *, filename: str, content: bytes, kind: str, store: Callable, confirm_url_name="",
                        params: Callable | None = None):
    """A file above settings.JOB_UPLOAD_THRESHOLD rows is not checked on the page: `store()` keeps it
    (its upload record) and a job of `kind` checks it; the answer is the redirect to the job's
    progress page. None for a smaller file: the page checks it itself. The job's parameters are
    `params(stored)`, by default those of a medins.uploads.CheckedUpload: the record, and the URL
    its result page's "Import" button posts to (`confirm_url_name`, with the record's pk)."""
    if not in_background(filename, content):
        return None
    stored = store()
    job = job_start(acting_user=request.user, kind=kind, target=stored, params=params(stored) if params else {
        "upload": stored.pk, "confirm_url": reverse(confirm_url_name, args=[stored.pk])})
    return HttpResponseRedirect(job_progress_url(job))


def import_in_background(request, upload, *, kind: str):
    """Confirming a checked upload of more than JOB_UPLOAD_THRESHOLD rows imports it in a job of
    `kind` (on a second click, the one already queued or running); the redirect to its progress
    page. None for a smaller upload, or one not confirmable now: the service imports or refuses it."""
    if not (upload_confirmable(upload) and len(upload.rows) > settings.JOB_UPLOAD_THRESHOLD):
        return None
    job = job_start_once(acting_user=request.user, kind=kind, target=upload, params={"upload": upload.pk})
    return HttpResponseRedirect(job_progress_url(job))


class KindFilter(admin.SimpleListFilter):
    """The kinds by their labels (no raw codes in front of a user)."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return sorted(((code, kind.label) for code, kind in KINDS.items()), key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(AdministratorOnly, admin.ModelAdmin):
    list_display = ("__str__", "status", "started_by", "created_at", "finished_at", "done", "total")
    list_filter = ("status", KindFilter)
    list_select_related = ("started_by",)
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request, *args):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:pk>/progress/", view(self.progress_view), name="medins_job_progress"),
                path("<int:pk>/status/", view(self.status_view), name="medins_job_status"),
                path("<int:pk>/result/", view(self.result_view), name="medins_job_result"),
                path("<int:pk>/rerun/", view(self.rerun_view), name="medins_job_rerun"),
                *super().get_urls()]

    def _job(self, request, pk) -> Job:
        job = get_object_or_404(Job.objects.select_related("started_by"), pk=pk)
        if not job_visible(request.user, job):
            raise PermissionDenied
        return job

    def _context(self, request, job, title):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "job": job, "title": title,
                "status": job_status(job)}

    def progress_view(self, request, pk):
        """The progress bar; the page asks status_view every POLL_MS and goes to the result when finished."""
        job = self._job(request, pk)
        context = {**self._context(request, job, job.kind_label), "poll_ms": POLL_MS,
                   "status_url": reverse("admin:medins_job_status", args=[job.pk])}
        return TemplateResponse(request, "admin/medins/job/progress.html", context)

    def status_view(self, request, pk):
        return JsonResponse(job_status(self._job(request, pk)))

    def result_view(self, request, pk):
        job = self._job(request, pk)
        if not job.finished:
            return HttpResponseRedirect(job_progress_url(job))
        kind = KINDS.get(job.kind)
        may_rerun = (job.status == JobStatus.FAILED and kind is not None and request.user.has_perm(kind.start_permission))
        context = {**self._context(request, job, job.kind_label), "may_rerun": may_rerun,
                   "counts": job.result.get("counts", []), "errors": job.result.get("errors", []),
                   "errors_more": job.result.get("errors_more", 0), "links": job.result.get("links", []),
                   "actions": job.result.get("actions", []) if job.status == JobStatus.DONE else [],
                   "message": job.result.get("message", "")}
        return TemplateResponse(request, "admin/medins/job/result.html", context)

    def rerun_view(self, request, pk):
        """A failed job queued again; the work is idempotent, so nothing committed is done twice."""
        job = self._job(request, pk)
        kind = KINDS.get(job.kind)
        if kind is None or not request.user.has_perm(kind.start_permission):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(job_result_url(job))
        if job.status != JobStatus.FAILED:
            self.message_user(request, _("Only a failed job can be run again."), messages.WARNING)
            return HttpResponseRedirect(job_result_url(job))
        job = job_rerun(acting_user=request.user, job=job)
        return HttpResponseRedirect(job_progress_url(job))
