"""medins.jobs: one cap on the errors a job's result keeps (the result page lists the first
SHOWN_ERRORS and counts the rest), worded by the kind only for the ones kept; one "already running"
rule for a second click (job_start_once)."""

import pytest
from django.contrib.auth import get_user_model

from medins.jobs import KINDS, SHOWN_ERRORS, Job, JobKind, JobStatus, job_run, job_start_once

pytestmark = pytest.mark.django_db


def _kind(monkeypatch, code, run, error_text=None):
    monkeypatch.setitem(KINDS, code, JobKind(code, code, run, "", "", error_text=error_text))


def test_the_result_keeps_the_first_errors_and_counts_the_rest(monkeypatch):
    _kind(monkeypatch, "many_errors", lambda job: {"errors": [f"row {i}" for i in range(SHOWN_ERRORS + 7)],
                                                   "errors_more": 3})
    job = Job.objects.create(kind="many_errors")
    job = job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE
    assert job.result["errors"] == [f"row {i}" for i in range(SHOWN_ERRORS)]
    assert job.result["errors_more"] == 7 + 3  # the kind's own "more" is kept and added to


def test_error_records_are_worded_only_for_the_ones_shown(monkeypatch):
    worded = []

    def text(error):
        worded.append(error)
        return f"第{error['row']}行"

    _kind(monkeypatch, "records", lambda job: {"errors": [{"row": i} for i in range(SHOWN_ERRORS + 1)]}, text)
    job = job_run(job_id=Job.objects.create(kind="records").pk)
    assert job.result["errors"][:2] == ["第0行", "第1行"] and len(job.result["errors"]) == SHOWN_ERRORS
    assert len(worded) == SHOWN_ERRORS and job.result["errors_more"] == 1


def test_a_second_start_on_the_same_object_shows_the_job_already_running(monkeypatch):
    _kind(monkeypatch, "once", lambda job: {})
    user = get_user_model().objects.create(username="clerk-once")
    running = Job.objects.create(kind="once", status=JobStatus.RUNNING, target_model=user._meta.label_lower,
                                 target_id=user.pk)
    assert job_start_once(acting_user=user, kind="once", target=user) == running
    Job.objects.filter(pk=running.pk).update(status=JobStatus.DONE)
    again = job_start_once(acting_user=user, kind="once", target=user)
    assert again != running and Job.objects.filter(kind="once").count() == 2


def test_a_failed_jobs_refusal_is_shown_in_the_readers_language():
    """Issue 14 item 4: a background upload check refused with a Msg ("you may not upload visits")
    was recorded in English on the job's result page."""
    from django.utils import translation

    from claims.settlement.services.uploads import UploadRefused
    from medins.jobs import _error_text
    from medins.messages import Msg

    with translation.override("zh-hans"):
        assert _error_text(UploadRefused(Msg("you may not upload %(kind)s", kind=Msg("Visits")))) == "您无权上传就诊记录"
