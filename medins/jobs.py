"""Background jobs with progress (issue #14 items 2 and 3): one run row, one task, one progress
page, one polling endpoint, one result page, for every piece of work that may take longer than
a page should wait — the payment-order job, the tax-file import, uploads above
settings.JOB_UPLOAD_THRESHOLD rows.

Decision (the issue leaves the mechanism open): a small `Job` model rather than
django-celery-results' TaskResult. TaskResult is written by the result backend (Redis here, and
nothing in eager mode), is keyed by a Celery task id, and carries no starter, no link to what the
job worked on and no counts a page can show; the DESIGN's "Jobs record a run row (status,
progress, counts, errors)" is what the settlement runs already do with their own model. A Job is
that run row for the jobs that have none of their own: status, done / total, heartbeat, the
result's counts and errors, the object it produced (payment file, import, upload). It is the
settlement runs' pattern (run row with done / total and a heartbeat, the task checking state
first, idempotent work) made generic, not a second one: the runs keep their own richer row
(per-institution resumption, the watchdog, one run per region and period) because moving them
onto Job would mean a data migration of the runs and their tests for no gain to the clerk.

A kind of job is declared once by the app that owns the work (`@job_kind(...)` in the app's
jobs.py, discovered when Django starts): its label, who may start it, who may see it, and the
function that does the work. The function is a thin caller of the app's services; it receives
the job and reports progress with `job.progress(done, total)`; what it returns is the result the
result page shows: {"counts": [[label, value], …], "errors": [text, …], "links": [[label, url], …]}.
The result keeps the first SHOWN_ERRORS errors and counts the rest ("errors_more"); a kind whose
errors are records declares `error_text`, which words only the ones kept.

Never twice: the task checks the job's state first (a finished job is not run again) and the
work itself is idempotent (the payment file is unique per day and one transaction; imports skip
what is already recorded), so a re-run after a failure — the result page's button, or the
task's retry on a lost database connection — repeats nothing that was committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

log = logging.getLogger(__name__)
RUN_TASK = "medins.job_run"


class JobStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("background job", "Queued")
    RUNNING = "running", pgettext_lazy("background job", "Running")
    DONE = "done", pgettext_lazy("background job", "Finished")
    FAILED = "failed", pgettext_lazy("background job", "Failed")


FINISHED = (JobStatus.DONE, JobStatus.FAILED)
LIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# The result page lists at most this many of a job's errors; the rest are counted ("and N more").
SHOWN_ERRORS = 200


class Job(models.Model):
    """One background job: the run row its progress and result pages read."""

    kind = models.CharField(_("kind"), max_length=40)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("started by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("to do"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    # What the job worked on or produced ("app_label.model", pk): the payment file, the import, the upload.
    target_model = models.CharField(_("object"), max_length=60, blank=True)
    target_id = models.BigIntegerField(_("object id"), null=True, blank=True)

    class Meta:
        app_label = "medins"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "status"], name="medins_job_kind_status")]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")

    def __str__(self):
        return f"{self.kind_label} #{self.pk}"

    @property
    def kind_label(self) -> str:
        kind = KINDS.get(self.kind)
        return str(kind.label) if kind else self.kind

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0

    def progress(self, done: int, total: int | None = None) -> None:
        """Record how far the job is (and the sign of life), committed at once (see progress_alias)."""
        self.done = done
        fields = {"done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            self.total = total
            fields["total"] = total
        Job.objects.using(progress_alias()).filter(pk=self.pk).update(**fields)

    def set_target(self, obj) -> None:
        self.target_model, self.target_id = obj._meta.label_lower, obj.pk
        Job.objects.filter(pk=self.pk).update(target_model=self.target_model, target_id=self.target_id)

    @property
    def target(self):
        if not self.target_model or self.target_id is None:
            return None
        from django.apps import apps

        model = apps.get_model(self.target_model)
        return model._default_manager.filter(pk=self.target_id).first()


def progress_alias() -> str:
    """The connection progress is written on. Work that is one transaction (the payment job, an
    upload's dry run) would otherwise publish its progress only when it ends: on a worker
    (PostgreSQL, not eager) progress goes through the `jobs` alias, a second connection to the
    same database in autocommit, so the page polling the job sees it at once. The work never
    writes the job row itself while it runs (the job's own updates come before and after), so
    the two connections never wait on each other. In eager mode (tests, the SQLite demo) the
    page waits for the work anyway, and the default connection is used."""
    from django.db import connection

    if "jobs" in settings.DATABASES and not settings.CELERY_TASK_ALWAYS_EAGER and connection.in_atomic_block:
        return "jobs"
    return "default"


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class JobKind:
    code: str
    label: object
    run: Callable[[Job], dict]
    start_permission: str  # who may start it (and re-run a failed one)
    view_permission: str  # who may see its progress and result (besides its starter)
    # An object-level rule on top of view_permission (e.g. an operator sees its own institution's only).
    may_view: Callable[[object, Job], bool] | None = None
    queue: str | None = None
    extra: dict = field(default_factory=dict)
    # How one of the result's errors reads, when the work returns them as records.
    error_text: Callable[[object], str] | None = None


KINDS: dict[str, JobKind] = {}


def job_kind(code: str, *, label, start_permission: str, view_permission: str, may_view=None, queue=None,
             error_text=None):
    """Declare a kind of job; decorates the function that does the work."""

    def register(run: Callable[[Job], dict]):
        KINDS[code] = JobKind(code, label, run, start_permission, view_permission, may_view, queue,
                              error_text=error_text)
        return run

    return register


def job_visible(user, job: Job) -> bool:
    """Its starter, the administrator, or a user with the kind's view permission (and its object rule)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or (job.started_by_id is not None and job.started_by_id == user.pk):
        return True
    kind = KINDS.get(job.kind)
    if kind is None or not user.has_perm(kind.view_permission):
        return False
    return kind.may_view(user, job) if kind.may_view else True


def job_may_start(user, kind: str) -> bool:
    return KINDS[kind].start_permission and user.has_perm(KINDS[kind].start_permission)


# --------------------------------------------------------------------------- services


def _enqueue(job: Job) -> None:
    """After commit: the worker must find the job (DESIGN "Enqueue after commit")."""
    from .tasks import job_run_task

    kind = KINDS[job.kind]
    options = {"queue": kind.queue} if kind.queue else {}
    pk = job.pk
    transaction.on_commit(lambda: job_run_task.apply_async(args=[pk], **options))


@transaction.atomic
def job_start(*, acting_user, kind: str, params: dict | None = None, target=None) -> Job:
    """A queued job of `kind`, sent to a worker once this transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(kind=kind, params=params or {}, started_by=acting_user)
    if target is not None:
        job.target_model, job.target_id = target._meta.label_lower, target.pk
    job.save()
    _enqueue(job)
    return job


def job_live(target, *kinds: str) -> Job | None:
    """The newest job of one of `kinds` on `target` that is queued or running, if any."""
    return Job.objects.filter(target_model=target._meta.label_lower, target_id=target.pk, kind__in=kinds,
                              status__in=LIVE).first()


def job_start_once(*, acting_user, kind: str, target, params: dict | None = None) -> Job:
    """The job of `kind` already queued or running on `target` (a second click shows it), else a new one."""
    return job_live(target, kind) or job_start(acting_user=acting_user, kind=kind, params=params, target=target)


@transaction.atomic
def job_rerun(*, acting_user, job: Job) -> Job:
    """A failed job queued again (the same parameters); anything else is returned unchanged."""
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
        status=JobStatus.QUEUED, error="", result={}, done=0, finished_at=None)
    job.refresh_from_db()
    if updated:
        _enqueue(job)
    return job


def job_run(*, job_id: int) -> Job | None:
    """Do the job's work (the task's body): claims it, runs its kind, records the result or the error.

    A job already finished is left alone (a redelivered message does nothing). An error is the
    job's terminal outcome (recorded, shown on the result page), except a lost database
    connection, which is raised for the task to retry.
    """
    from django.db import OperationalError

    claimed = Job.objects.filter(pk=job_id, status__in=LIVE).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
        attempts=models.F("attempts") + 1)
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    kind = KINDS[job.kind]
    try:
        result = _shown(kind, kind.run(job) or {})
    except OperationalError:
        Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
        raise
    except Exception as exc:  # noqa: BLE001 - any other error ends the job; it is shown, not retried
        log.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, finished_at=timezone.now(),
                                             error=_error_text(exc)[:2000])
    else:
        # done / total as the work last reported them (in eager mode a report made inside the work's
        # own transaction, e.g. an upload's dry run, was rolled back with it)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, finished_at=timezone.now(), result=result,
                                             done=max(job.done, job.total), total=job.total)
    job.refresh_from_db()
    return job


def _shown(kind: JobKind, result: dict) -> dict:
    """The result as stored: the first SHOWN_ERRORS errors (worded by the kind's error_text), the rest counted."""
    errors = result.get("errors") or []
    if not errors:
        return result
    shown = list(errors[:SHOWN_ERRORS])
    if kind.error_text is not None:
        shown = [kind.error_text(e) for e in shown]
    return {**result, "errors": shown, "errors_more": result.get("errors_more", 0) + max(0, len(errors) - SHOWN_ERRORS)}


def _error_text(exc: Exception) -> str:
    """The error as the clerk reads it on the result page: its own localized(), else its message
    when that is a Msg (a refusal such as "you may not upload visits": 您无权上传就诊记录)."""
    from .messages import Msg

    localized = getattr(exc, "localized", None)
    if callable(localized):
        try:
            return str(localized())
        except Exception:  # noqa: BLE001
            pass
    if exc.args and isinstance(exc.args[0], Msg):
        return exc.args[0].localized()
    return str(exc) or exc.__class__.__name__


def jobs_autodiscover() -> None:
    """Import every installed app's jobs.py (called once when the core app is ready)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")
